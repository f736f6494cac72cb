package graphtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// movingClock is a WithClock clock the test (and an endpoint, to answer
// slowly) moves.
type movingClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *movingClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *movingClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// scriptedHook is a notification endpoint that answers each POST as
// answer says: a status, after the clock moved by delay.
type scriptedHook struct {
	*httptest.Server
	clock *movingClock

	mu       sync.Mutex
	answer   func(n int) (status int, delay time.Duration) // n counts POSTs from 1
	received []received
	posts    chan int // the number of each POST, as it is answered
}

type received struct {
	at            time.Time
	subscription  string
	changeType    string
	resource      string
	notifications int
}

func newScriptedHook(t *testing.T, srv *Server, clock *movingClock) *scriptedHook {
	t.Helper()
	h := &scriptedHook{clock: clock, posts: make(chan int, 100), answer: func(int) (int, time.Duration) { return http.StatusAccepted, 0 }}
	h.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, tok)
			return
		}
		var body struct {
			Value []struct {
				SubscriptionID string `json:"subscriptionId"`
				ChangeType     string `json:"changeType"`
				Resource       string `json:"resource"`
			} `json:"value"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		h.mu.Lock()
		n := len(h.received) + 1
		rec := received{at: clock.Now(), notifications: len(body.Value)}
		if len(body.Value) > 0 {
			rec.subscription, rec.changeType, rec.resource = body.Value[0].SubscriptionID, body.Value[0].ChangeType, body.Value[0].Resource
		}
		h.received = append(h.received, rec)
		answer := h.answer
		h.mu.Unlock()
		status, delay := answer(n)
		clock.Advance(delay)
		w.WriteHeader(status)
		select {
		case h.posts <- n:
		default: // nobody waits for POSTs this many
		}
	}))
	t.Cleanup(h.Close)
	srv.SetNotificationClient(h.Client())
	return h
}

// script sets how the endpoint answers.
func (h *scriptedHook) script(answer func(n int) (status int, delay time.Duration)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.answer = answer
}

func (h *scriptedHook) got() []received {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]received(nil), h.received...)
}

// deliveryFixture is a server on a moving clock with Adele subscribed to
// her events at a scripted endpoint.
func deliveryFixture(t *testing.T) (*Server, *User, *scriptedHook, *movingClock) {
	t.Helper()
	clock := &movingClock{now: testNow}
	srv := New(t, WithClock(clock.Now))
	adele := srv.AddTenant("contoso.com").AddUser("adele@contoso.com", "Adele Vance")
	hook := newScriptedHook(t, srv, clock)
	r := do(t, srv, graphCall{method: "POST", url: "subscriptions", token: srv.IssueToken(adele, "app", "Calendars.Read"),
		body: subscribeBody("me/events", hook.URL+"/hook", testNow.Add(48*time.Hour))})
	wantStatus(t, r, http.StatusCreated)
	return srv, adele, hook, clock
}

func notifications(srv *Server) []Delivery {
	var out []Delivery
	for _, d := range srv.Deliveries() {
		if d.Kind == "notification" {
			out = append(out, d)
		}
	}
	return out
}

// An answer after the 3-second window does not count, even a 200: Graph
// sends the same notification again after its back-off, so the endpoint,
// which had handled it, gets a duplicate. A 5xx is retried the same way;
// a prompt 2xx ends it.
func TestDeliveryLateAnswerIsRetried(t *testing.T) {
	t.Parallel()
	srv, adele, hook, clock := deliveryFixture(t)
	hook.script(func(n int) (int, time.Duration) {
		switch n {
		case 1:
			return http.StatusOK, 4 * time.Second // handled, but too late
		case 2:
			return http.StatusServiceUnavailable, 0
		}
		return http.StatusOK, 0
	})
	adele.AddEvent(Event{Subject: "Sync", Start: testNow.Add(time.Hour), End: testNow.Add(2 * time.Hour)})
	ds := notifications(srv)
	if len(ds) != 1 || ds[0].Status != 200 || ds[0].Delivered || ds[0].Attempt != 1 || ds[0].Elapsed < 4*time.Second {
		t.Fatalf("first delivery = %+v, want a 200 after 4s, not delivered", ds)
	}

	clock.Advance(59 * time.Second)
	if n := srv.RetryDue(); n != 0 {
		t.Errorf("RetryDue before the back-off = %d, want 0", n)
	}
	clock.Advance(time.Second) // 1 minute: the first retry, answered 503
	srv.RetryDue()
	clock.Advance(2 * time.Minute) // 3 minutes: the second, answered 200 at once
	srv.RetryDue()
	clock.Advance(time.Hour)
	if n := srv.RetryDue(); n != 0 {
		t.Errorf("RetryDue after delivery = %d, want 0", n)
	}

	got := hook.got()
	if len(got) != 3 {
		t.Fatalf("endpoint got %d POSTs, want 3: %+v", len(got), got)
	}
	for _, r := range got[1:] {
		if r.subscription != got[0].subscription || r.changeType != "created" || r.resource != got[0].resource {
			t.Errorf("retry carried %+v, want the same notification as %+v", r, got[0])
		}
	}
	if at := []time.Duration{got[1].at.Sub(got[0].at), got[2].at.Sub(got[0].at)}; !cmp.Equal(at, []time.Duration{time.Minute + 4*time.Second, 3*time.Minute + 4*time.Second}) {
		t.Errorf("retries at %v after the first POST", at)
	}
	ds = notifications(srv)
	type outcome struct {
		Attempt, Status int
		Delivered       bool
	}
	var outcomes []outcome
	for _, d := range ds {
		outcomes = append(outcomes, outcome{d.Attempt, d.Status, d.Delivered})
	}
	if diff := cmp.Diff([]outcome{{1, 200, false}, {2, 503, false}, {3, 200, true}}, outcomes); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
}

// A 2xx within the window is delivered, 202 as well as 200, and a slow
// one (over 2900 ms, under 3 s) too.
func TestDeliveryWithinWindow(t *testing.T) {
	t.Parallel()
	srv, adele, hook, clock := deliveryFixture(t)
	answers := []struct {
		status int
		delay  time.Duration
	}{{200, 0}, {202, 2950 * time.Millisecond}, {204, 0}}
	hook.script(func(n int) (int, time.Duration) { return answers[n-1].status, answers[n-1].delay })
	for range answers {
		adele.AddEvent(Event{Subject: "x", Start: testNow, End: testNow.Add(time.Hour)})
	}
	clock.Advance(5 * time.Hour)
	srv.RetryDue()
	ds := notifications(srv)
	if len(ds) != len(answers) {
		t.Errorf("%d deliveries, want %d: %+v", len(ds), len(answers), ds)
	}
	for _, d := range ds {
		if !d.Delivered || d.Attempt != 1 {
			t.Errorf("delivery %+v, want delivered at the first attempt", d)
		}
	}
}

// An endpoint that never answers 2xx gets the notification with
// exponential back-off for four hours, then Graph drops it.
func TestDeliveryGivesUpAfterFourHours(t *testing.T) {
	t.Parallel()
	srv, adele, hook, clock := deliveryFixture(t)
	hook.script(func(int) (int, time.Duration) { return http.StatusInternalServerError, 0 })
	adele.AddEvent(Event{Subject: "x", Start: testNow, End: testNow.Add(time.Hour)})
	for range 5 * 60 {
		clock.Advance(time.Minute)
		srv.RetryDue()
	}
	var at []time.Duration
	for _, r := range hook.got() {
		at = append(at, r.at.Sub(testNow))
	}
	var want []time.Duration
	for _, m := range []int{0, 1, 3, 7, 15, 31, 63, 127} {
		want = append(want, time.Duration(m)*time.Minute)
	}
	if diff := cmp.Diff(want, at); diff != "" {
		t.Errorf("POSTs at (-want +got):\n%s", diff)
	}
	ds := notifications(srv)
	if last := ds[len(ds)-1]; !last.Dropped || last.Attempt != 8 {
		t.Errorf("last record %+v, want the drop after 8 attempts", last)
	}
}

// When 10% of an endpoint's answers in ten minutes (after 100) are slow,
// Graph delays its notifications by ten minutes; at 15% it drops them.
func TestDeliveryThrottlesSlowEndpoints(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name          string
		slow          int
		delayed, drop bool
	}{
		{"9% slow", 9, false, false},
		{"10% slow", 10, true, false},
		{"15% slow", 15, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, adele, hook, clock := deliveryFixture(t)
			hook.script(func(n int) (int, time.Duration) {
				if n <= tt.slow {
					return http.StatusAccepted, 2950 * time.Millisecond
				}
				return http.StatusAccepted, 0
			})
			for range 100 {
				adele.AddEvent(Event{Subject: "x", Start: testNow, End: testNow.Add(time.Hour)})
			}
			adele.AddEvent(Event{Subject: "the 101st", Start: testNow, End: testNow.Add(time.Hour)})
			ds := notifications(srv)
			last := ds[len(ds)-1]
			if last.Delayed != tt.delayed || last.Dropped != tt.drop || (!tt.delayed && !tt.drop && !last.Delivered) {
				t.Fatalf("101st notification: %+v, want delayed %v, dropped %v", last, tt.delayed, tt.drop)
			}
			if !tt.delayed {
				return
			}
			posts := len(hook.got())
			clock.Advance(9 * time.Minute)
			srv.RetryDue()
			if len(hook.got()) != posts {
				t.Error("a delayed notification went out before ten minutes")
			}
			clock.Advance(time.Minute)
			srv.RetryDue()
			if got := hook.got(); len(got) != posts+1 || got[len(got)-1].changeType != "created" {
				t.Errorf("after ten minutes the endpoint got %d POSTs, want %d", len(got), posts+1)
			}
		})
	}
}

// Retries go out by themselves once the server clock passes their due
// time, without RetryDue, as Graph's do.
func TestDeliveryRetriesByItself(t *testing.T) {
	t.Parallel()
	srv, adele, hook, clock := deliveryFixture(t)
	hook.script(func(n int) (int, time.Duration) {
		if n == 1 {
			return http.StatusBadGateway, 0
		}
		return http.StatusOK, 0
	})
	adele.AddEvent(Event{Subject: "x", Start: testNow, End: testNow.Add(time.Hour)})
	<-hook.posts
	clock.Advance(time.Minute)
	if n := <-hook.posts; n != 2 { // no RetryDue: the fake sends it by itself
		t.Errorf("POST %d, want the retry", n)
	}
	srv.RetryDue() // waits for the fake's own sending to finish
	if ds := notifications(srv); len(ds) != 2 || !ds[1].Delivered || ds[1].Attempt != 2 {
		t.Errorf("deliveries %+v, want the retry delivered", ds)
	}
}
