package calendar

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"

	"github.com/m365kit/m365kit/graphclient"
)

// rawEvent decodes an Event and keeps its JSON in Raw. Only the requests
// that ask for Raw decode through it, so the default path pays nothing.
type rawEvent struct{ Event }

// UnmarshalJSON decodes b into the Event and keeps a copy of b.
func (e *rawEvent) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &e.Event); err != nil {
		return err
	}
	e.Raw = bytes.Clone(b)
	return nil
}

// delta runs graphclient.Delta over events, keeping each event's JSON in
// Event.Raw when raw is set.
func (s *Service) delta(ctx context.Context, initial, cursor string, raw bool, ro []graphclient.RequestOption) iter.Seq2[*graphclient.DeltaPage[Event], error] {
	if !raw {
		return graphclient.Delta[Event](ctx, s.gc, initial, cursor, ro...)
	}
	return func(yield func(*graphclient.DeltaPage[Event], error) bool) {
		for p, err := range graphclient.Delta[rawEvent](ctx, s.gc, initial, cursor, ro...) {
			if err != nil {
				yield(nil, err)
				return
			}
			items := make([]Event, len(p.Items))
			for i := range p.Items {
				items[i] = p.Items[i].Event
			}
			page := &graphclient.DeltaPage[Event]{Items: items, Removed: p.Removed, Cursor: p.Cursor, Reset: p.Reset, Done: p.Done}
			if !yield(page, nil) {
				return
			}
		}
	}
}

// all runs graphclient.All over events, keeping each event's JSON in
// Event.Raw when raw is set.
func (s *Service) all(ctx context.Context, path string, raw bool, ro []graphclient.RequestOption) iter.Seq2[Event, error] {
	if !raw {
		return graphclient.All[Event](ctx, s.gc, path, ro...)
	}
	return func(yield func(Event, error) bool) {
		for e, err := range graphclient.All[rawEvent](ctx, s.gc, path, ro...) {
			if !yield(e.Event, err) || err != nil {
				return
			}
		}
	}
}
