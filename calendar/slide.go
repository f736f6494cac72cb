package calendar

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/m365kit/m365kit/graphclient"
)

// SlideRequest moves a synchronised window: from the window of Cursor (a
// stored Page.Cursor of a Done page; a cursor from the middle of a round
// should first be run to Done with Sync) to [Start, End). A plain value.
type SlideRequest struct {
	// Cursor is the old window's stored cursor.
	Cursor string
	// Start and End are the new window.
	Start, End time.Time
	// PageSize asks Graph for at most this many events per page; 0 leaves
	// Graph's default.
	PageSize int
	// KeepRaw keeps each event's JSON, as Graph sent it, in Event.Raw.
	KeepRaw bool
}

// Slide moves a synchronised window without missing or duplicating
// meetings. Delta tokens are bound to their window, so following "1 day
// back, 30 days ahead" means starting a new window now and then (say once a
// day); Slide does it in one sequence of pages to apply exactly like Sync's:
//
//  1. the new window's first round (every event in it);
//  2. one last round of the old cursor, which reports what changed since
//     its previous round, including deletions in the overlap that the new
//     round could not show. Removals of events the new round listed are
//     left out: those events moved (for example into the part of the new
//     window the old one did not cover) or changed after the listing, and
//     the new cursor reports them in its next round.
//
// Store each page's Cursor with its changes, as for Sync. Every page but
// the last carries the old cursor (req.Cursor) unchanged, so if the slide
// is interrupted, the stored cursor is still the old one: run Slide again
// from it (re-applying pages is harmless). The last page has Done set and
// the new window's cursor; in the same transaction, delete stored events
// that end before Start or start at or after End.
//
// If the old cursor's state is gone (410), the slide instead restarts the
// new window from its initial query with Reset set on the first page, as
// Sync does: delete what you stored for the window, then apply. Its pages
// then carry the new window's cursors, exactly as Sync's would.
//
// Slide keeps the IDs of the new window's events in memory for the
// duration of the call.
//
// Graph API: GET /me/calendarView/delta
func (s *Service) Slide(ctx context.Context, req SlideRequest) iter.Seq2[*Page, error] {
	return func(yield func(*Page, error) bool) {
		const op = "Slide"
		if s.gc == nil {
			yield(nil, &Error{Op: op, Err: errNoClient})
			return
		}
		_, oldLink, ok := decodeCursor(req.Cursor)
		if !ok {
			yield(nil, invalid(op, "SlideRequest.Cursor", "is not a cursor from Page.Cursor"))
			return
		}
		next := Window{Start: req.Start, End: req.End}
		if err := next.check(op); err != nil {
			yield(nil, err)
			return
		}
		ro, err := pageSizeOption(op, "SlideRequest.PageSize", req.PageSize)
		if err != nil {
			yield(nil, err)
			return
		}
		initial := "me/calendarView/delta?" + next.query()

		// 1. The new window's first round.
		seen := map[string]struct{}{}
		newLink := ""
		for p, err := range s.delta(ctx, initial, "", req.KeepRaw, ro) {
			if err != nil {
				yield(nil, &Error{Op: op, Err: err})
				return
			}
			if p.Reset {
				clear(seen)
			}
			for i := range p.Items {
				seen[p.Items[i].ID] = struct{}{}
			}
			if p.Done {
				newLink = p.Cursor
			}
			if !yield(&Page{Events: p.Items, Removed: removedIDs(p.Items, p.Removed), Cursor: req.Cursor, Reset: p.Reset}, nil) {
				return
			}
		}

		// 2. One last round of the old cursor. No initial query: a reset
		// must not restart the old window.
		for p, err := range s.delta(ctx, "", oldLink, req.KeepRaw, ro) {
			if errors.Is(err, graphclient.ErrSyncReset) {
				s.restart(ctx, op, next, initial, req.KeepRaw, ro, yield)
				return
			}
			if err != nil {
				yield(nil, &Error{Op: op, Err: err})
				return
			}
			removed := removedIDs(p.Items, p.Removed)
			kept := removed[:0]
			for _, id := range removed {
				if _, ok := seen[id]; !ok {
					kept = append(kept, id)
				}
			}
			page := &Page{Events: p.Items, Removed: kept, Cursor: req.Cursor}
			if p.Done {
				page.Cursor, page.Done = encodeCursor(next, newLink), true
			}
			if !yield(page, nil) {
				return
			}
		}
	}
}

// restart lists the new window again from its initial query, the first
// page marked Reset, each page carrying its cursor as Sync's do.
func (s *Service) restart(ctx context.Context, op string, w Window, initial string, raw bool, ro []graphclient.RequestOption, yield func(*Page, error) bool) {
	first := true
	for p, err := range s.delta(ctx, initial, "", raw, ro) {
		if err != nil {
			yield(nil, &Error{Op: op, Err: err})
			return
		}
		page := &Page{
			Events:  p.Items,
			Removed: removedIDs(p.Items, p.Removed),
			Cursor:  encodeCursor(w, p.Cursor),
			Reset:   first || p.Reset,
			Done:    p.Done,
		}
		first = false
		if !yield(page, nil) {
			return
		}
	}
}
