package m365test_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/notify"
	"github.com/m365kit/m365kit/scopes"
)

// TestServeWebhook: endpoints ServeWebhook serves are HTTPS URLs the fake
// validates and delivers to, each its own user's notifications, however
// many a sandbox serves.
func TestServeWebhook(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	sandbox := m365test.New(t)
	var mu sync.Mutex
	got := map[string][]string{} // user -> resources notified
	var handlers []*notify.Handler
	for _, user := range []string{"diego", "alex"} {
		s, err := sandbox.SignIn(ctx, user, scopes.Calendar)
		if err != nil {
			t.Fatal(err)
		}
		store := &notify.MemoryStore{}
		h, err := notify.NewHandler(notify.HandlerConfig{Store: store, Deliver: func(_ context.Context, batch []notify.ChangeNotification) error {
			mu.Lock()
			defer mu.Unlock()
			for _, n := range batch {
				got[user] = append(got[user], n.SubscriptionResource)
			}
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		url := sandbox.ServeWebhook(h)
		if !strings.HasPrefix(url, "https://127.0.0.1:") {
			t.Errorf("ServeWebhook = %q, want an https URL on loopback", url)
		}
		subs, err := notify.NewManager(s.Graph, notify.Config{Store: store, Owner: s.User.AccountID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := subs.Create(ctx, url, notify.Events()); err != nil {
			t.Fatalf("%s: subscribing at %s: %v", user, url, err)
		}
		handlers = append(handlers, h)
	}
	start := time.Now().Add(time.Hour)
	for _, u := range []*graphtest.User{sandbox.Demo.Diego, sandbox.Demo.Alex} {
		u.AddEvent(graphtest.Event{Subject: "Review", Start: start, End: start.Add(time.Hour)})
	}
	for _, h := range handlers { // Shutdown waits for the deliveries under way
		if err := h.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(map[string][]string{"diego": {"me/events"}, "alex": {"me/events"}}, got); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
}
