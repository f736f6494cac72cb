package fleet

import (
	"testing"
	"time"

	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/notify"
)

// A renewal that Graph throttled shows the account throttled until it
// gets through, not for ever: no sync round follows a renewal to clear
// the status.
func TestThrottledRenewalClears(t *testing.T) {
	t.Parallel()
	e := withWebhookConfig(t, func(c *Config) {
		c.SubscriptionLifetime = map[notify.Kind]time.Duration{notify.KindEvents: 3 * time.Hour}
		c.RenewBefore = 3*time.Hour - lifetimeMargin - time.Millisecond // due at once
	})
	e.start(t)
	ctx := t.Context()
	id := e.signIn(t, e.demo.Adele)
	e.connect(t, Account{ID: id, Features: calendarOnly})
	waitFor(t, "a subscription", func() bool { return e.registered(t, id) == 1 })
	waitFor(t, "idle", func() bool { return e.idle(t) && e.subscribeIdle(t) })

	e.srv.Inject(graphtest.Fault{PathPrefix: "/subscriptions/", Kind: graphtest.Throttle, RetryAfter: "1", Times: 1})
	patches := countRequests(e.srv, "PATCH", "/v1.0/subscriptions/")
	if err := (&renewWorker{f: e.f}).Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "throttled", func() bool { return e.status(t, id) == StatusThrottled })
	waitFor(t, "the renewal through", func() bool {
		return countRequests(e.srv, "PATCH", "/v1.0/subscriptions/") >= patches+2 && e.subscribeIdle(t)
	})
	if s := e.status(t, id); s != StatusConnected {
		t.Errorf("status %s after the throttled renewal got through, want connected", s)
	}
}
