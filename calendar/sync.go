package calendar

import (
	"context"
	"iter"
	"strings"
	"time"

	"github.com/m365kit/m365kit/graphclient"
)

// SyncRequest says what to synchronise: a new window (Start, End, no
// Cursor) or the continuation of a stored Cursor (whose window it
// carries; Start and End may then be left zero). A plain value.
type SyncRequest struct {
	Start, End time.Time
	// Cursor is a Page.Cursor stored earlier: resume right after that page.
	Cursor string
	// PageSize asks Graph for at most this many events per page
	// (Prefer: odata.maxpagesize); 0 leaves Graph's default.
	PageSize int
	// KeepRaw keeps each event's JSON, as Graph sent it, in Event.Raw.
	KeepRaw bool
}

// Page is one page of a sync round, owned by the caller once yielded.
type Page struct {
	// Events are the events created or changed in the window since the
	// last round (all of them on a first round). Upsert them by ID.
	Events []Event
	// Removed are the IDs to delete: events deleted in the window and
	// events that left it. See the package documentation for why every
	// @removed ID is reported.
	Removed []string
	// Cursor resumes the sync right after this page. Store it with the
	// page's changes, in the same transaction when you can. It is opaque
	// and carries the window.
	Cursor string
	// Reset says Graph dropped the sync state and the sync restarted from
	// the window's initial query: delete what you stored for this window,
	// then apply this page.
	Reset bool
	// Done marks the last page of the round; its Cursor starts the next
	// round (a later Sync with it yields only what changed since).
	Done bool
}

// cursorPrefix starts every cursor Sync hands out.
const cursorPrefix = "cal1|"

// encodeCursor packs the window and Graph's link into one opaque string.
func encodeCursor(w Window, link string) string {
	return cursorPrefix + w.Start.UTC().Format(time.RFC3339Nano) + "|" + w.End.UTC().Format(time.RFC3339Nano) + "|" + link
}

// decodeCursor unpacks a cursor from encodeCursor.
func decodeCursor(c string) (Window, string, bool) {
	rest, ok := strings.CutPrefix(c, cursorPrefix)
	if !ok {
		return Window{}, "", false
	}
	parts := strings.SplitN(rest, "|", 3)
	if len(parts) != 3 || parts[2] == "" {
		return Window{}, "", false
	}
	start, err1 := time.Parse(time.RFC3339Nano, parts[0])
	end, err2 := time.Parse(time.RFC3339Nano, parts[1])
	if err1 != nil || err2 != nil || !end.After(start) {
		return Window{}, "", false
	}
	return Window{Start: start.UTC(), End: end.UTC()}, parts[2], true
}

// Sync walks one delta round of the primary calendar's view of a window
// and yields its pages. Start a window with SyncRequest{Start, End}; resume
// with SyncRequest{Cursor: page.Cursor} from any stored page. The sequence
// is lazy (nothing is sent before range) and ends after the Done page or
// the first error; bad input is yielded as the first error.
//
// When Graph reports the sync state gone (410 SyncStateNotFound, even for
// a nextLink in the middle of a round), the round restarts once from the
// window's initial query and the first fresh page has Reset set. A second
// reset in the same round is yielded as an error matching
// graphclient.ErrSyncReset: start again without a cursor.
//
// startDateTime and endDateTime go on the first request only (Graph keeps
// them in its tokens); calendarView/delta takes no $select, so events come
// whole, body included. Only the primary calendar can be synchronised
// (Graph v1.0 tracks no other). A cursor is bound to its window; move the
// window with Slide.
//
// Graph API: GET /me/calendarView/delta
func (s *Service) Sync(ctx context.Context, req SyncRequest) iter.Seq2[*Page, error] {
	return func(yield func(*Page, error) bool) {
		const op = "Sync"
		if s.gc == nil {
			yield(nil, &Error{Op: op, Err: errNoClient})
			return
		}
		w := Window{Start: req.Start, End: req.End}
		link := ""
		if req.Cursor != "" {
			cw, l, ok := decodeCursor(req.Cursor)
			if !ok {
				yield(nil, invalid(op, "SyncRequest.Cursor", "is not a cursor from Page.Cursor"))
				return
			}
			if (!req.Start.IsZero() && !req.Start.Equal(cw.Start)) || (!req.End.IsZero() && !req.End.Equal(cw.End)) {
				yield(nil, invalid(op, "SyncRequest.Start/End", "differ from the cursor's window "+
					cw.Start.Format(time.RFC3339)+"–"+cw.End.Format(time.RFC3339)+"; to move the window, use Service.Slide"))
				return
			}
			w, link = cw, l
		} else if err := w.check(op); err != nil {
			yield(nil, err)
			return
		}
		ro, err := pageSizeOption(op, "SyncRequest.PageSize", req.PageSize)
		if err != nil {
			yield(nil, err)
			return
		}
		initial := "me/calendarView/delta?" + w.query()
		for p, err := range s.delta(ctx, initial, link, req.KeepRaw, ro) {
			if err != nil {
				yield(nil, &Error{Op: op, Err: err})
				return
			}
			page := &Page{
				Events:  p.Items,
				Removed: removedIDs(p.Items, p.Removed),
				Cursor:  encodeCursor(w, p.Cursor),
				Reset:   p.Reset,
				Done:    p.Done,
			}
			if !yield(page, nil) {
				return
			}
		}
	}
}

// removedIDs lists the removed IDs of a page, leaving out IDs the same page
// also reports as changed (the caller keeps an event that still exists).
func removedIDs(items []Event, removed []graphclient.Removed) []string {
	if len(removed) == 0 {
		return nil
	}
	changed := make(map[string]struct{}, len(items))
	for i := range items {
		changed[items[i].ID] = struct{}{}
	}
	out := make([]string, 0, len(removed))
	for _, r := range removed {
		if _, ok := changed[r.ID]; ok || r.ID == "" {
			continue
		}
		out = append(out, r.ID)
	}
	return out
}
