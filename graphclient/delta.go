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
	"reflect"
	"strings"
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

// Removed is an entry a delta page reports as removed. It is a plain
// value.
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
	codec     *deltaCodec // nil: decode mixed pages element by element
}

var removedKey = []byte(`"@removed"`)

// removedMarker receives an entry's "@removed" object.
type removedMarker struct {
	Reason string `json:"reason"`
}

type removedProbe struct {
	ID      string         `json:"id"`
	Removed *removedMarker `json:"@removed"`
}

// deltaCodec decodes a page that mixes items and @removed entries in one
// pass: each element goes into a struct type built at run time that
// embeds T next to a *removedMarker field for "@removed" (and an "id"
// field when T has none), so no element is decoded twice.
type deltaCodec struct {
	page    reflect.Type // struct{ Value []wrapper; NextLink, DeltaLink string }
	removed int          // index of the marker field in wrapper; T is field 0
	idPath  []int        // index path of the id string in wrapper
}

// newDeltaCodec returns the one-pass codec for T, or nil when T is not a
// plain struct it can safely embed (methods, embedded fields, an id that is
// not a string, a field named "@removed"); those T take the slower
// element-by-element path.
func newDeltaCodec[T any]() (codec *deltaCodec) {
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct || t.NumMethod() > 0 || reflect.PointerTo(t).NumMethod() > 0 {
		return nil
	}
	idIdx := -1
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return nil
		}
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		switch {
		case strings.EqualFold(name, "@removed"):
			return nil
		case strings.EqualFold(name, "id"):
			if f.Type.Kind() != reflect.String || idIdx >= 0 {
				return nil
			}
			idIdx = i
		}
	}
	defer func() {
		if recover() != nil { // reflect refused the type; use the slow path
			codec = nil
		}
	}()
	fields := []reflect.StructField{
		{Name: "T", Type: t, Anonymous: true},
		{Name: "R", Type: reflect.TypeFor[*removedMarker](), Tag: `json:"@removed"`},
	}
	idPath := []int{0, idIdx}
	if idIdx < 0 {
		fields = append(fields, reflect.StructField{Name: "ID", Type: reflect.TypeFor[string](), Tag: `json:"id"`})
		idPath = []int{2}
	}
	wrapper := reflect.StructOf(fields)
	page := reflect.StructOf([]reflect.StructField{
		{Name: "Value", Type: reflect.SliceOf(wrapper), Tag: `json:"value"`},
		{Name: "NextLink", Type: reflect.TypeFor[string](), Tag: `json:"@odata.nextLink"`},
		{Name: "DeltaLink", Type: reflect.TypeFor[string](), Tag: `json:"@odata.deltaLink"`},
	})
	return &deltaCodec{page: page, removed: 1, idPath: idPath}
}

// decodeRaw decodes a page. Most pages carry no @removed entry at all:
// they decode straight into []T in one pass, as fast as plain
// encoding/json. A page mentioning "@removed" decodes in one pass through
// the codec, or element by element when T does not allow that.
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
	if p.codec != nil {
		return p.decodeCodec(body)
	}
	var w struct {
		Value     []json.RawMessage `json:"value"`
		NextLink  string            `json:"@odata.nextLink"`
		DeltaLink string            `json:"@odata.deltaLink"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return err
	}
	p.NextLink, p.DeltaLink = w.NextLink, w.DeltaLink
	for _, el := range w.Value {
		if bytes.Contains(el, removedKey) {
			var probe removedProbe
			if err := json.Unmarshal(el, &probe); err != nil {
				return err
			}
			if probe.Removed != nil {
				p.removed = append(p.removed, Removed{ID: probe.ID, Reason: probe.Removed.Reason})
				continue
			}
		}
		var v T
		if err := json.Unmarshal(el, &v); err != nil {
			return err
		}
		p.items = append(p.items, v)
	}
	return nil
}

func (p *deltaWire[T]) decodeCodec(body []byte) error {
	c := p.codec
	pv := reflect.New(c.page)
	if err := json.Unmarshal(body, pv.Interface()); err != nil {
		return err
	}
	pe := pv.Elem()
	p.NextLink, p.DeltaLink = pe.Field(1).String(), pe.Field(2).String()
	vals := pe.Field(0)
	n := vals.Len()
	for i := range n {
		el := vals.Index(i)
		if m := el.Field(c.removed); !m.IsNil() {
			p.removed = append(p.removed, Removed{ID: el.FieldByIndex(c.idPath).String(), Reason: m.Interface().(*removedMarker).Reason})
			continue
		}
		if p.items == nil {
			p.items = make([]T, 0, n)
		}
		p.items = append(p.items, *el.Field(0).Addr().Interface().(*T))
	}
	return nil
}

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
		codec := newDeltaCodec[T]()
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
			w := deltaWire[T]{codec: codec}
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
