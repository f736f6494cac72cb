package fleet

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/notify"
)

// withWebhook serves the fleet's Handler over TLS, points the fake's
// notifications at it and sets Config.NotificationURL.
func withWebhook(t *testing.T, postgres bool) *env {
	t.Helper()
	return withWebhookOn(t, postgres, nil)
}

func withWebhookConfig(t *testing.T, tweak func(*Config)) *env {
	t.Helper()
	return withWebhookOn(t, false, tweak)
}

func withWebhookOn(t *testing.T, postgres bool, tweak func(*Config)) *env {
	t.Helper()
	var h atomic.Pointer[http.Handler]
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := h.Load(); p != nil {
			(*p).ServeHTTP(w, r)
			return
		}
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	t.Cleanup(ts.Close)
	e := newEnv(t, postgres, func(c *Config) {
		c.NotificationURL = ts.URL + "/graph/notify"
		if tweak != nil {
			tweak(c)
		}
	})
	e.srv.SetNotificationClient(ts.Client())
	hh := e.f.Handler()
	h.Store(&hh)
	return e
}

// subscriptions returns the fake's live subscriptions of a user by
// resource.
func liveSubscriptions(srv *graphtest.Server, u *graphtest.User) map[string]graphtest.Subscription {
	out := map[string]graphtest.Subscription{}
	for _, s := range srv.Subscriptions() {
		if s.UserID == u.ID && s.Expiration.After(time.Now()) {
			out[s.Resource] = s
		}
	}
	return out
}

// registered counts an account's registrations with a Graph subscription.
func (e *env) registered(t *testing.T, id string) int {
	t.Helper()
	var n int
	if err := e.db.queryRow(t.Context(), `SELECT COUNT(*) FROM fleet_subscriptions WHERE account_id = $1 AND subscription_id <> ''`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWebhookSQLite(t *testing.T)   { t.Parallel(); testWebhook(t, false) }
func TestWebhookPostgres(t *testing.T) { t.Parallel(); testWebhook(t, true) }

// testWebhook: Connect subscribes; a change in Outlook reaches the
// webhook, which stores a sync request before answering; a burst during a
// running sync costs one more round; lifecycle events renew, recreate and
// resync; Disconnect deletes the subscriptions at Graph.
func testWebhook(t *testing.T, postgres bool) {
	e := withWebhook(t, postgres)
	e.start(t)
	adele := e.signIn(t, e.demo.Adele)
	a := Account{ID: adele, Features: both}
	e.connect(t, a)
	waitFor(t, "two subscriptions", func() bool { return e.registered(t, adele) == 2 })
	// A registration is saved before its subscription job ends, and the
	// job then requests a resync: wait for both kinds of job.
	waitFor(t, "idle", func() bool { return e.subscribeIdle(t) && e.idle(t) })
	subs := liveSubscriptions(e.srv, e.demo.Adele)
	if len(subs) != 2 {
		t.Fatalf("the fake has %d live subscriptions of Adele, want 2 (events, inbox): %+v", len(subs), subs)
	}

	// A new meeting: the notification is stored before the fake's call
	// returns, and the sync follows.
	before := e.rounds(t, adele, resCalendar)
	day := time.Now().UTC().Truncate(24 * time.Hour)
	ev := e.demo.Adele.AddEvent(graphtest.Event{Subject: "Design review", Start: day.Add(26 * time.Hour), End: day.Add(27 * time.Hour)})
	waitFor(t, "the new meeting stored", func() bool { return slices.Contains(e.storedEvents(t, adele), ev.ID) })
	waitFor(t, "idle", func() bool { return e.idle(t) })
	if got := e.rounds(t, adele, resCalendar) - before; got != 1 {
		t.Errorf("one notification ran %d rounds, want 1", got)
	}

	// A burst of ten changes while a sync runs: one more round.
	entered, release := e.gate.arm()
	defer release()
	if err := e.f.RequestSync(t.Context(), adele); err != nil {
		t.Fatal(err)
	}
	<-entered
	before = e.rounds(t, adele, resCalendar)
	for i := range 10 {
		if err := e.demo.Adele.UpdateEvent(ev.ID, func(x *graphtest.Event) { x.Subject = "Design review v" + string(rune('0'+i)) }); err != nil {
			t.Fatal(err)
		}
	}
	release()
	waitFor(t, "idle", func() bool { return e.idle(t) && e.rounds(t, adele, resCalendar) >= before+2 })
	if got := e.rounds(t, adele, resCalendar) - before; got != 2 {
		t.Errorf("a burst of 10 notifications during a sync ran %d rounds, want 2", got)
	}
	if diff := cmp.Diff(e.fakeEvents(t, adele, a), e.storedEvents(t, adele)); diff != "" {
		t.Errorf("(-fake +stored):\n%s", diff)
	}

	// New mail in the inbox.
	msg := e.demo.Adele.AddMessage(graphtest.Message{Subject: "Contract draft", Folder: "inbox"})
	waitFor(t, "the new message stored", func() bool { return slices.Contains(e.storedMessages(t, adele, "Inbox"), msg.ID) })

	// subscriptionRemoved: a new subscription and a resync.
	events := subs[notify.Events().Resource]
	before = e.rounds(t, adele, resCalendar)
	if err := e.srv.SendLifecycle(events.ID, notify.SubscriptionRemoved); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a new events subscription", func() bool {
		s, ok := liveSubscriptions(e.srv, e.demo.Adele)[notify.Events().Resource]
		return ok && s.ID != events.ID && e.registered(t, adele) == 2
	})
	waitFor(t, "the resync", func() bool { return e.rounds(t, adele, resCalendar) > before })

	// reauthorizationRequired: renewed, notifications flow again.
	inbox := liveSubscriptions(e.srv, e.demo.Adele)[notify.MailFolder("Inbox").Resource]
	if err := e.srv.SendLifecycle(inbox.ID, notify.ReauthorizationRequired); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the inbox subscription renewed", func() bool {
		s, ok := liveSubscriptions(e.srv, e.demo.Adele)[inbox.Resource]
		return ok && !s.NeedsReauthorization
	})
	waitFor(t, "idle", func() bool { return e.idle(t) })
	msg2 := e.demo.Adele.AddMessage(graphtest.Message{Subject: "Signed contract", Folder: "inbox"})
	waitFor(t, "mail after the renewal stored", func() bool { return slices.Contains(e.storedMessages(t, adele, "Inbox"), msg2.ID) })

	// Disconnect: the subscriptions go, at Graph too.
	if err := e.f.Disconnect(t.Context(), adele); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "subscriptions deleted at Graph", func() bool { return len(liveSubscriptions(e.srv, e.demo.Adele)) == 0 })
	if n := e.registered(t, adele); n != 0 {
		t.Errorf("%d registrations left", n)
	}
	// Every change and lifecycle notification was acknowledged on the
	// first attempt (a 2xx inside Graph's 3 seconds).
	for _, d := range e.srv.Deliveries() {
		if d.Kind == "validation" {
			continue
		}
		if !d.Delivered || d.Attempt != 1 {
			t.Errorf("delivery %+v: want delivered on the first attempt", d)
		}
	}
}

// countRequests counts the fake's requests with a method and a path
// prefix.
func countRequests(srv *graphtest.Server, method, prefix string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == method && strings.HasPrefix(r.Path, prefix) {
			n++
		}
	}
	return n
}

// The leader's renewal job renews subscriptions near expiry and creates
// one for a synced resource that has none.
func TestRenewal(t *testing.T) {
	t.Parallel()
	e := withWebhookConfig(t, func(c *Config) {
		c.SubscriptionLifetime = map[notify.Kind]time.Duration{notify.KindEvents: 3 * time.Hour, notify.KindMessages: 3 * time.Hour}
		// Every subscription is due once a millisecond old: fleet asks
		// for 3 hours less its 15-minute margin.
		c.RenewBefore = 3*time.Hour - lifetimeMargin - time.Millisecond
	})
	e.start(t)
	ctx := t.Context()
	id := e.signIn(t, e.demo.Adele)
	e.connect(t, Account{ID: id, Features: both})
	e.leaderLooked(t) // its look on start would renew them too
	waitFor(t, "two subscriptions", func() bool { return e.registered(t, id) == 2 })
	waitFor(t, "idle", func() bool { return e.idle(t) && e.subscribeIdle(t) })
	patches, posts := countRequests(e.srv, http.MethodPatch, "/v1.0/subscriptions/"), countRequests(e.srv, http.MethodPost, "/v1.0/subscriptions")
	if err := (&renewWorker{f: e.f}).Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two renewals", func() bool {
		return countRequests(e.srv, http.MethodPatch, "/v1.0/subscriptions/") == patches+2 && e.subscribeIdle(t)
	})

	// A registration lost (a failed create): the renewal job creates one.
	if err := e.db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM fleet_subscriptions WHERE account_id = $1 AND resource = 'calendar'`, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "idle", func() bool { return e.subscribeIdle(t) })
	if err := (&renewWorker{f: e.f}).Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a new subscription", func() bool {
		return countRequests(e.srv, http.MethodPost, "/v1.0/subscriptions") == posts+1 && e.registered(t, id) == 2
	})
}

// subscribeIdle reports whether no subscription job is queued or running.
func (e *env) subscribeIdle(t *testing.T) bool {
	t.Helper()
	var n int
	err := e.db.queryRow(t.Context(), `SELECT COUNT(*) FROM river_job WHERE kind IN ('fleet.subscribe', 'fleet.unsubscribe')
		AND state IN ('available', 'scheduled', 'retryable', 'running', 'pending')`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n == 0
}

// Concurrent deliveries (combined into shared transactions on SQLite)
// are all stored; notifications of unknown or parked accounts are
// acknowledged and dropped.
func TestDeliverConcurrently(t *testing.T) {
	t.Parallel()
	for _, postgres := range []bool{false, true} {
		t.Run(dbName(postgres), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, postgres, nil)
			ctx := t.Context()
			const accounts, each = 10, 20
			for i := range accounts {
				if err := e.f.Connect(ctx, Account{ID: fmt.Sprintf("user%02d.tenant", i), Features: calendarOnly}); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.f.park(ctx, "user00.tenant", StatusChange{To: StatusNeedsSignIn, Reason: "test"}); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for i := range accounts * each {
				wg.Go(func() {
					owner := fmt.Sprintf("user%02d.tenant", i%accounts)
					err := e.f.deliver(ctx, []notify.ChangeNotification{
						{Owner: owner, SubscriptionResource: notify.Events().Resource, ChangeType: "updated"},
						{Owner: "unknown.tenant", SubscriptionResource: notify.Events().Resource, ChangeType: "updated"},
					})
					if err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			for i := range accounts {
				var n int64
				id := fmt.Sprintf("user%02d.tenant", i)
				if err := e.db.queryRow(ctx, `SELECT requested FROM fleet_requests WHERE account_id = $1 AND resource = 'calendar'`, id).Scan(&n); err != nil {
					t.Fatal(err)
				}
				// Connect's request, then at least one: a transaction
				// bumps each counter once, however many of its
				// notifications name it (SQLite combines deliveries).
				if i == 0 && n != 1 {
					t.Errorf("%s (parked): %d requests stored, want Connect's only", id, n)
				}
				if i > 0 && (n < 2 || n > each+1) {
					t.Errorf("%s: %d requests stored, want 2 to %d", id, n, each+1)
				}
				var jobs int
				q := `SELECT COUNT(*) FROM river_job WHERE kind = 'fleet.calendar_sync' AND state = 'available' AND json_extract(args, '$.account') = $1`
				if postgres {
					q = `SELECT COUNT(*) FROM river_job WHERE kind = 'fleet.calendar_sync' AND state = 'available' AND args->>'account' = $1`
				}
				if err := e.db.queryRow(ctx, q, id).Scan(&jobs); err != nil {
					t.Fatal(err)
				}
				if jobs != 1 {
					t.Errorf("%s: %d queued sync jobs, want 1", id, jobs)
				}
			}
			var unknown int
			if err := e.db.queryRow(ctx, `SELECT COUNT(*) FROM fleet_requests WHERE account_id = 'unknown.tenant'`).Scan(&unknown); err != nil || unknown != 0 {
				t.Errorf("requests stored for an unknown account: %d (%v)", unknown, err)
			}
		})
	}
}
