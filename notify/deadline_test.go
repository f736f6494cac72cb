package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/notify"
	"github.com/m365kit/m365kit/scopes"
)

// deadlineClock is graphtest's clock for these tests: it stands still
// unless the test moves it (to bring Graph's retries due).
type deadlineClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *deadlineClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *deadlineClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// deadlineWorld is a Handler behind a TLS server, reached by a fake
// Microsoft 365 that applies Graph's delivery rules (a 2xx within 3
// seconds, else a retry), with a callback that blocks until released.
type deadlineWorld struct {
	srv     *graphtest.Server
	clock   *deadlineClock
	adele   *graphtest.User
	handler *notify.Handler

	started   chan struct{}                  // a callback began
	release   chan struct{}                  // closed to let the callback return
	processed chan notify.ChangeNotification // every notification the callback got
}

func newDeadlineWorld(t *testing.T, workers, queue int) *deadlineWorld {
	t.Helper()
	// The fake's clock starts at the wall clock, so the expirations the
	// Manager picks are within Graph's limits for it.
	w := &deadlineWorld{clock: &deadlineClock{now: time.Now()}, started: make(chan struct{}, 10000), release: make(chan struct{}), processed: make(chan notify.ChangeNotification, 10000)}
	w.srv = graphtest.New(t, graphtest.WithClock(w.clock.Now))
	w.adele = w.srv.AddTenant("contoso.com").AddUser("adele@contoso.com", "Adele Vance")
	store := &notify.MemoryStore{}
	deliver := func(ctx context.Context, batch []notify.ChangeNotification) error {
		for _, n := range batch {
			w.started <- struct{}{}
			select {
			case <-w.release:
			case <-ctx.Done():
				return ctx.Err()
			}
			w.processed <- n
		}
		return nil
	}
	h, err := notify.NewHandler(notify.HandlerConfig{Store: store, Deliver: deliver, Workers: workers, QueueSize: queue})
	if err != nil {
		t.Fatal(err)
	}
	w.handler = h
	webhook := httptest.NewTLSServer(h)
	t.Cleanup(webhook.Close)
	w.srv.SetNotificationClient(webhook.Client())

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
	})
	t.Cleanup(func() {
		select {
		case <-w.release:
		default:
			close(w.release)
		}
	})

	tok := w.srv.IssueToken(w.adele, "notetaker-app", scopes.For(scopes.Calendar)...)
	gc, err := graphclient.New(graphclient.StaticToken(tok), graphclient.WithHTTPClient(w.srv.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	m, err := notify.NewManager(gc, notify.Config{Store: store, Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(t.Context(), webhook.URL+"/graph/notify", notify.Events()); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *deadlineWorld) notifications() []graphtest.Delivery {
	var out []graphtest.Delivery
	for _, d := range w.srv.Deliveries() {
		if d.Kind == "notification" {
			out = append(out, d)
		}
	}
	return out
}

// Under load (200 changes from 8 goroutines at once, so Graph's POSTs
// arrive concurrently) and with every callback stuck, the Handler answers
// each POST within Graph's 3-second window: graphtest, which counts a
// notification delivered only then, delivers every one at the first
// attempt. The proof does not time the Handler: it shows the answers do
// not wait for processing at all, since processing has not started when
// they all came back.
func TestHandlerAnswersWithinGraphWindowUnderLoad(t *testing.T) {
	t.Parallel()
	w := newDeadlineWorld(t, 4, 0)
	const goroutines, each = 8, 25
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				start := e2eNow.Add(time.Duration(g*each+i) * time.Hour)
				w.adele.AddEvent(graphtest.Event{Subject: "load", Start: start, End: start.Add(time.Hour)})
			}
		})
	}
	wg.Wait() // every first attempt has been answered

	if len(w.processed) != 0 || len(w.started) > 4 {
		t.Fatalf("%d processed, %d started before the release: want none processed, at most one per worker started", len(w.processed), len(w.started))
	}
	sent := 0
	for _, d := range w.notifications() {
		if !d.Delivered || d.Attempt != 1 || d.Status != http.StatusAccepted {
			t.Errorf("delivery %+v: want 202 within Graph's window at the first attempt", d)
		}
		sent += len(d.Events)
	}
	if sent != goroutines*each {
		t.Errorf("Graph sent %d notifications, want %d", sent, goroutines*each)
	}

	close(w.release)
	seen := map[string]bool{}
	for len(seen) < goroutines*each {
		select {
		case n := <-w.processed:
			if n.ChangeType != "created" || n.ResourceData == nil {
				t.Fatalf("processed %+v", n)
			}
			seen[n.ResourceData.ID] = true
		case <-t.Context().Done():
			t.Fatalf("test ended with %d of %d notifications processed", len(seen), goroutines*each)
		}
	}
}

// When the queue is full the Handler still answers at once, with 503, so
// Graph retries rather than the request hanging past the window; the
// retry, once the queue has room, is delivered and processed.
func TestHandlerFullQueueAnswersAtOnceAndGraphRetries(t *testing.T) {
	t.Parallel()
	w := newDeadlineWorld(t, 1, 1)
	var ids []string
	for i := range 3 {
		start := e2eNow.Add(time.Duration(i) * time.Hour)
		ids = append(ids, w.adele.AddEvent(graphtest.Event{Subject: "burst", Start: start, End: start.Add(time.Hour)}).ID)
		if i == 0 {
			// The one worker takes the first notification and blocks:
			// the next one fills the queue, the third finds it full.
			<-w.started
		}
	}
	ds := w.notifications()
	if len(ds) != 3 || !ds[0].Delivered || !ds[1].Delivered || ds[2].Status != http.StatusServiceUnavailable || ds[2].Err != "" || ds[2].Delivered {
		t.Fatalf("deliveries %+v: want 202, 202, then an immediate 503", ds)
	}

	close(w.release)
	got := map[string]bool{}
	for range 2 {
		got[(<-w.processed).ResourceData.ID] = true
	}
	w.clock.Advance(time.Minute) // Graph's first retry comes due
	w.srv.RetryDue()
	n := <-w.processed
	got[n.ResourceData.ID] = true
	for _, id := range ids {
		if !got[id] {
			t.Errorf("event %s never processed", id)
		}
	}
	if last := w.notifications()[3]; !last.Delivered || last.Attempt != 2 {
		t.Errorf("retry %+v, want delivered at the second attempt", last)
	}
}
