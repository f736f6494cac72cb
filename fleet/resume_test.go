package fleet

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/m365kit/m365kit/graphtest"
)

// refuseSecond refuses the second calendar page it is given, once, after
// telling refused: the job then retries from the first page's cursor,
// continuing a round that read Graph before the refusal.
type refuseSecond struct {
	Sink
	mu      sync.Mutex
	pages   int
	refused chan struct{}
}

func (s *refuseSecond) ApplyCalendar(ctx context.Context, tx *Tx, p *CalendarPage) error {
	s.mu.Lock()
	s.pages++
	n := s.pages
	s.mu.Unlock()
	if n == 2 {
		close(s.refused)
		return errors.New("refused once")
	}
	return s.Sink.ApplyCalendar(ctx, tx, p)
}

// A change requested while a round is under way is synced even when the
// round is finished by another job (here the retry after a refused page;
// a hand-over or a rescue after a crash are alike): the retry continues
// the old round, which cannot see the change, so one more round follows.
func TestResumedRoundIsFollowedUp(t *testing.T) {
	t.Parallel()
	var sink *refuseSecond
	e := newEnv(t, false, func(c *Config) {
		c.PageSize = 2
		sink = &refuseSecond{Sink: c.Sink, refused: make(chan struct{})}
		c.Sink = sink
	})
	e.start(t)
	id := e.signIn(t, e.demo.Adele)
	if err := e.f.Connect(t.Context(), Account{ID: id, Features: calendarOnly}); err != nil {
		t.Fatal(err)
	}
	<-sink.refused
	// The round read Graph before this change; the job that finishes it
	// starts after the request.
	start := time.Now().UTC().Truncate(time.Hour).Add(26 * time.Hour)
	added := e.demo.Adele.AddEvent(graphtest.Event{Subject: "Added during the round", Start: start, End: start.Add(time.Hour)})
	if err := e.f.RequestSync(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "connected", func() bool { return e.status(t, id) == StatusConnected })
	waitFor(t, "idle", func() bool { return e.idle(t) })
	if !slices.Contains(e.storedEvents(t, id), added.ID) {
		t.Error("the event added during the interrupted round was never synced")
	}
}
