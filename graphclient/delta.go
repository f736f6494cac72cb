package graphclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
)

// DeltaPage is one page of a delta round. It is a plain value, owned by
// the caller once yielded.
type DeltaPage[T any] struct {
	// Items are the created or updated entries (those without @removed).
	Items []T
	// Removed are the entries carrying @removed.
	Removed []Removed
	// Cursor is the URL to resume from after this page: its
	// @odata.nextLink, or on the last page its @odata.deltaLink. Persist
	// it together with the page's data.
	Cursor string
	// Reset reports that Graph dropped the sync state and this round
	// restarted from the initial query: the caller must treat this round
	// as a full resync and drop what it had for this resource.
	Reset bool
	// Done reports the last page of the round (the one carrying the
	// deltaLink); the sequence ends after it.
	Done bool
}

// Removed is an entry a delta page reports as removed.
type Removed struct {
	// ID is the removed item's id.
	ID string
	// Reason is "deleted" (gone for good) or "changed" (deleted but
	// restorable, or moved out of scope).
	Reason string
}

// deltaWire is a delta page as Graph sends it.
type deltaWire[T any] struct {
	NextLink  string `json:"@odata.nextLink"`
	DeltaLink string `json:"@odata.deltaLink"`
	items     []T
	removed   []Removed
}

var removedKey = []byte(`"@removed"`)

type removedProbe struct {
	ID      string `json:"id"`
	Removed *struct {
		Reason string `json:"reason"`
	} `json:"@removed"`
}

// deltaElem decodes one element of a page that mentions @removed
// somewhere: into T unless the element itself carries @removed.
type deltaElem[T any] struct {
	page *deltaWire[T]
}

func (e *deltaElem[T]) UnmarshalJSON(b []byte) error {
	if bytes.Contains(b, removedKey) {
		var p removedProbe
		if err := json.Unmarshal(b, &p); err != nil {
			return err
		}
		if p.Removed != nil {
			e.page.removed = append(e.page.removed, Removed{ID: p.ID, Reason: p.Removed.Reason})
			return nil
		}
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	e.page.items = append(e.page.items, v)
	return nil
}

// decodeRaw decodes a page. Most pages carry no @removed entry at all:
// they decode straight into []T in one pass, as fast as plain
// encoding/json. Only a page mentioning "@removed" is decoded element by
// element.
func (p *deltaWire[T]) decodeRaw(body []byte) error {
	if !bytes.Contains(body, removedKey) {
		var w struct {
			Value     []T    `json:"value"`
			NextLink  string `json:"@odata.nextLink"`
			DeltaLink string `json:"@odata.deltaLink"`
		}
		if err := json.Unmarshal(body, &w); err != nil {
			return err
		}
		p.items, p.NextLink, p.DeltaLink = w.Value, w.NextLink, w.DeltaLink
		return nil
	}
	var w struct {
		Value     elems[T] `json:"value"`
		NextLink  string   `json:"@odata.nextLink"`
		DeltaLink string   `json:"@odata.deltaLink"`
	}
	w.Value.page = p
	if err := json.Unmarshal(body, &w); err != nil {
		return err
	}
	p.NextLink, p.DeltaLink = w.NextLink, w.DeltaLink
	return nil
}

// elems decodes a JSON array element by element into a deltaWire.
type elems[T any] struct{ page *deltaWire[T] }

func (e *elems[T]) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	var raw []deltaElemRaw
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	el := deltaElem[T]{page: e.page}
	for _, r := range raw {
		if err := el.UnmarshalJSON(r); err != nil {
			return err
		}
	}
	return nil
}

type deltaElemRaw = json.RawMessage

// Delta walks one delta round. It starts at cursor (a stored nextLink or
// deltaLink URL, which must be on the base URL's host) or, when cursor is
// "", at initial (a path relative to the base URL, with its query, e.g.
// "me/calendarView/delta?startDateTime=...&endDateTime=..."). Query
// parameters belong on the initial request only; links are opaque and
// followed whole.
//
// Each yielded page holds Items, Removed and the Cursor to resume from;
// the page carrying the deltaLink has Done set and ends the sequence. When
// Graph reports the sync state gone ([ErrSyncReset]: 410, or
// syncStateNotFound, resyncRequired, syncStateInvalid), Delta restarts
// once from initial (or from the 410's Location, when it is on the Graph
// host) and marks that first fresh page Reset. A second reset in the same
// round is yielded as the error. An error is yielded once and ends the
// sequence.
//
// Pass [WithMaxPageSize] to set the page size. The sequence is lazy and
// re-runnable: each range starts again from cursor (or initial).
func Delta[T any](ctx context.Context, c *Client, initial, cursor string, opts ...RequestOption) iter.Seq2[*DeltaPage[T], error] {
	return func(yield func(*DeltaPage[T], error) bool) {
		next := cursor
		if next == "" {
			next = initial
		}
		if next == "" {
			yield(nil, errors.New("graphclient: Delta: both initial and cursor are empty"))
			return
		}
		reset, pendingReset := false, false
		for n := 0; ; n++ {
			if n >= maxPages {
				yield(nil, fmt.Errorf("graphclient: Delta: more than %d pages", maxPages))
				return
			}
			req, err := c.NewRequest(ctx, http.MethodGet, next, nil)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, o := range opts {
				o(req)
			}
			var w deltaWire[T]
			if _, err := c.Do(req, &w); err != nil {
				var ge *Error
				if !reset && initial != "" && errors.As(err, &ge) && ge.Is(ErrSyncReset) {
					reset, pendingReset = true, true
					next = initial
					if ge.Location != "" {
						if u, lerr := c.resolve(ge.Location); lerr == nil && u.Path != "" {
							next = u.String()
						}
					}
					c.log.LogAttrs(ctx, slog.LevelInfo, "graphclient: delta sync state reset; restarting from the initial query",
						slog.String("code", ge.Code), slog.String("request_id", ge.RequestID))
					continue
				}
				yield(nil, err)
				return
			}
			page := &DeltaPage[T]{Items: w.items, Removed: w.removed, Reset: pendingReset}
			pendingReset = false
			switch {
			case w.NextLink != "":
				if w.NextLink == req.URL.String() {
					yield(nil, fmt.Errorf("graphclient: Delta: @odata.nextLink repeats the current page"))
					return
				}
				page.Cursor = w.NextLink
			case w.DeltaLink != "":
				page.Cursor, page.Done = w.DeltaLink, true
			default:
				yield(nil, fmt.Errorf("graphclient: Delta: GET %s: page has neither @odata.nextLink nor @odata.deltaLink", c.relPath(req.URL)))
				return
			}
			if !yield(page, nil) || page.Done {
				return
			}
			next = page.Cursor
		}
	}
}
