package fleet

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/m365kit/m365kit/graphtest"
)

// A change made after a new account's first sync has read Graph, but
// before its subscription exists, is never notified: once the
// subscription is created, fleet resyncs, so the change is stored without
// waiting a day for the sweep.
func TestChangeBeforeFirstSubscriptionSynced(t *testing.T) {
	t.Parallel()
	hold := &gate{match: func(req *http.Request) bool {
		return req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/subscriptions")
	}}
	e := withWebhookConfig(t, func(c *Config) {
		hc := *c.HTTPClient
		hold.base = hc.Transport
		hc.Transport = hold
		c.HTTPClient = &hc
	})
	entered, release := hold.arm()
	defer release()
	e.start(t)
	id := e.signIn(t, e.demo.Adele)
	if err := e.f.Connect(t.Context(), Account{ID: id, Features: calendarOnly}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-t.Context().Done():
		t.Fatal("no subscription was asked for")
	}
	waitFor(t, "the first sync done", func() bool { return e.rounds(t, id, resCalendar) >= 1 })
	start := time.Now().UTC().Truncate(time.Hour).Add(50 * time.Hour)
	ev := e.demo.Adele.AddEvent(graphtest.Event{Subject: "Booked before the subscription", Start: start, End: start.Add(time.Hour)})
	release()
	waitFor(t, "the change stored", func() bool { return slices.Contains(e.storedEvents(t, id), ev.ID) })
}
