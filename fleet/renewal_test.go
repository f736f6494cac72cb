package fleet

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/notify"
)

// RenewBefore is checked against the lifetime fleet asks Graph for (the
// configured one less the 15-minute margin), not the configured one:
// with a lifetime of an hour, a RenewBefore of 50 minutes would renew
// every subscription at every look of the leader.
func TestRenewBeforeEffectiveLifetime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, nil)
	hour := map[notify.Kind]time.Duration{notify.KindEvents: time.Hour, notify.KindMessages: time.Hour}
	cfg := func(renewBefore time.Duration, life map[notify.Kind]time.Duration) Config {
		return Config{DB: e.db, App: e.app, Sink: e.sink, RenewBefore: renewBefore, SubscriptionLifetime: life}
	}
	for _, c := range []struct {
		name  string
		cfg   Config
		input string // "" when valid
		says  string
	}{
		{"due at creation", cfg(50*time.Minute, hour), "Config.RenewBefore", "45m0s"},
		{"the asked lifetime", cfg(45*time.Minute, hour), "Config.RenewBefore", "45m0s"},
		{"the default RenewBefore", cfg(0, map[notify.Kind]time.Duration{notify.KindEvents: 24*time.Hour + 10*time.Minute}), "Config.RenewBefore", "23h55m0s"},
		{"a lifetime within the margin", cfg(time.Minute, map[notify.Kind]time.Duration{notify.KindMessages: 15 * time.Minute}), "Config.SubscriptionLifetime", "15m0s"},
		{"shorter", cfg(44*time.Minute, hour), "", ""},
		{"defaults", cfg(0, nil), "", ""},
	} {
		_, err := New(c.cfg)
		if c.input == "" {
			if err != nil {
				t.Errorf("%s: New: %v", c.name, err)
			}
			continue
		}
		var fe *Error
		if !errors.As(err, &fe) || fe.Input != c.input || !errors.Is(err, graphclient.ErrInvalidInput) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: New: %v, want an invalid-input error naming %s and saying %s", c.name, err, c.input, c.says)
		}
	}
}

// A reauthorizationRequired that arrives while a renewal of the same
// subscription is between its PATCH (Graph has renewed it) and the save
// of its registration is not lost: the subscription is renewed once more
// at once, not left paused at Graph until its next due renewal. The
// renewal is held at that point, first when the leader's look found it
// due, then when an earlier reauthorizationRequired asked for it.
func TestReauthorizationDuringRenewal(t *testing.T) {
	t.Parallel()
	for _, postgres := range []bool{false, true} {
		t.Run(dbName(postgres), func(t *testing.T) {
			t.Parallel()
			testReauthorizationDuringRenewal(t, postgres)
		})
	}
}

func testReauthorizationDuringRenewal(t *testing.T, postgres bool) {
	// Holds the answer to the next renewal (PATCH /subscriptions/{id}) once
	// Graph has applied it.
	hold := &gate{answered: true, match: func(req *http.Request) bool {
		return req.Method == http.MethodPatch && strings.Contains(req.URL.Path, "/subscriptions/")
	}}
	e := withWebhookOn(t, postgres, func(c *Config) {
		c.SubscriptionLifetime = map[notify.Kind]time.Duration{notify.KindEvents: 3 * time.Hour, notify.KindMessages: 3 * time.Hour}
		// Due once a millisecond old, so the leader's look renews it.
		c.RenewBefore = 3*time.Hour - lifetimeMargin - time.Millisecond
		hc := *c.HTTPClient
		hold.base = hc.Transport
		hc.Transport = hold
		c.HTTPClient = &hc
	})
	e.start(t)
	ctx := t.Context()
	id := e.signIn(t, e.demo.Adele)
	e.connect(t, Account{ID: id, Features: calendarOnly})
	// The elected leader's first look (on start) would renew it too.
	e.leaderLooked(t)
	waitFor(t, "subscribed", func() bool { return e.registered(t, id) == 1 && e.idle(t) && e.subscribeIdle(t) })
	res := notify.Events().Resource
	for _, trigger := range []struct {
		name  string
		renew func(sub graphtest.Subscription)
	}{
		{"the leader's look", func(graphtest.Subscription) {
			if err := (&renewWorker{f: e.f}).Work(ctx, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"reauthorizationRequired", func(sub graphtest.Subscription) {
			if err := e.srv.SendLifecycle(sub.ID, notify.ReauthorizationRequired); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		sub, ok := liveSubscriptions(e.srv, e.demo.Adele)[res]
		if !ok || sub.NeedsReauthorization {
			t.Fatalf("%s: no live, authorized subscription to start from: %+v", trigger.name, sub)
		}
		entered, release := hold.arm()
		trigger.renew(sub)
		select {
		case <-entered:
		case <-time.After(time.Minute):
			release()
			t.Fatalf("%s: no renewal reached Graph", trigger.name)
		}
		// Graph has renewed the subscription; its answer is held. The
		// event pauses it again.
		err := e.srv.SendLifecycle(sub.ID, notify.ReauthorizationRequired)
		release()
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "no subscription job", func() bool { return e.subscribeIdle(t) })
		got, ok := liveSubscriptions(e.srv, e.demo.Adele)[res]
		switch {
		case !ok || got.ID != sub.ID:
			t.Errorf("%s: subscription %s replaced by %+v, want it renewed", trigger.name, sub.ID, got)
		case got.NeedsReauthorization:
			t.Errorf("%s: the reauthorizationRequired that arrived during the renewal was lost: the subscription stays paused (renewed %d times, was %d)",
				trigger.name, got.Renewed, sub.Renewed)
		case got.Renewed != sub.Renewed+2:
			t.Errorf("%s: renewed %d times, want 2 (the held renewal, one after the event)", trigger.name, got.Renewed-sub.Renewed)
		}
	}
}

// leaderLooked waits until the elected leader's renewal look on start
// (RunOnStart) has run: the next is SweepInterval later.
func (e *env) leaderLooked(t *testing.T) {
	t.Helper()
	waitFor(t, "the leader's first renewal look", func() bool {
		var n int
		if err := e.db.queryRow(t.Context(), `SELECT COUNT(*) FROM river_job WHERE kind = 'fleet.renew' AND state = 'completed'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
}

// A periodic run built late, past a period boundary, does not make the
// next run, built on time, a duplicate; a run queued while the previous
// one waits is. (River keys a run unique by period by the time it builds
// it; the explicit ScheduledAt stands for that time here.)
func TestPeriodicRunAfterALateOne(t *testing.T) {
	t.Parallel()
	for _, postgres := range []bool{false, true} {
		t.Run(dbName(postgres), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, postgres, nil)
			ctx := t.Context()
			every := e.f.sweepInterval
			boundary := time.Now().Add(-3 * every).Truncate(every)
			insert := func(builtAt time.Time) *rivertype.JobInsertResult {
				t.Helper()
				opts := *periodicOpts()
				opts.ScheduledAt = builtAt
				var res *rivertype.JobInsertResult
				if err := e.db.inTx(ctx, func(tx *Tx) error {
					var err error
					res, err = e.f.q.insertTx(ctx, tx, sweepArgs{}, &opts)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return res
			}
			// Due 5 ms before the boundary, built 15 ms late; it ran.
			late := insert(boundary.Add(10 * time.Millisecond))
			if late.UniqueSkippedAsDuplicate {
				t.Fatal("the first run was skipped")
			}
			if err := e.db.inTx(ctx, func(tx *Tx) error {
				_, err := tx.Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = created_at WHERE id = $1`, late.Job.ID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if next := insert(boundary.Add(every - 5*time.Millisecond)); next.UniqueSkippedAsDuplicate {
				t.Errorf("the run after a late one, built on time %v later, was skipped as its duplicate: the sweep runs an interval late", every-15*time.Millisecond)
			}
			if again := insert(boundary.Add(2*every - 5*time.Millisecond)); !again.UniqueSkippedAsDuplicate {
				t.Error("a run was queued while the previous one still waited")
			}
		})
	}
}

// A revoked account with a calendar and two folders reaches needs
// sign-in after one token request, though its six sync and subscription
// jobs run at once (those that ask after the first was refused get its
// answer in this process). Once it is parked, none of its jobs that were
// still queued, retryable or scheduled makes a token request, whatever
// their kind (each reads the status before it asks for a token), and
// nothing queues more: the sweep, the renewal look and RequestSync skip
// it.
func TestParkedAccountRequestsNoToken(t *testing.T) {
	t.Parallel()
	for _, postgres := range []bool{false, true} {
		t.Run(dbName(postgres), func(t *testing.T) {
			t.Parallel()
			testParkedAccountRequestsNoToken(t, postgres)
		})
	}
}

func testParkedAccountRequestsNoToken(t *testing.T, postgres bool) {
	e := withWebhookOn(t, postgres, nil)
	e.start(t)
	ctx := t.Context()
	diego := e.demo.Diego
	id := e.signIn(t, diego)
	// requests counts Diego's token requests in the fake's log from
	// entry from on, and his Graph requests.
	requests := func(from int) (tokens, graph int) {
		for _, r := range e.srv.Requests()[from:] {
			switch {
			case r.UserID != diego.ID:
			case r.Host == graphtest.LoginHost && strings.HasSuffix(r.Path, "/oauth2/v2.0/token"):
				tokens++
			case r.Host == graphtest.GraphHost:
				graph++
			}
		}
		return tokens, graph
	}

	// Revoked before the first sync: each sync and subscription job of
	// the calendar and two folders needs a new token, and fails.
	e.expireStored(t, id)
	e.srv.RevokeRefreshTokens(diego)
	revoked := len(e.srv.Requests())
	a := Account{ID: id, Features: both, MailFolders: []string{"Inbox", "SentItems"}}
	if err := e.f.Connect(ctx, a); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "needs sign-in", func() bool { return e.status(t, id) == StatusNeedsSignIn })
	waitFor(t, "idle", func() bool { return e.idle(t) && e.subscribeIdle(t) })
	parked := len(e.srv.Requests())
	if n, _ := requests(revoked); n != 1 {
		t.Errorf("%d token requests until the account was parked, want 1", n)
	}

	// Jobs of every kind that were queued before the park (or waited
	// for a retry) run now.
	for _, args := range []river.JobArgs{
		calendarArgs{Account: id, Reason: "request"},
		mailArgs{Account: id, Folder: "Inbox", Reason: "request"},
		subscribeArgs{Account: id, Resource: resCalendar, Reason: notify.ReauthorizationRequired},
		// The deletion of a subscription of a folder the account no
		// longer syncs, queued by an earlier Connect.
		unsubscribeArgs{Account: id, Features: a.Features, Subscriptions: []string{"a-dropped-folders-subscription"}},
	} {
		if err := e.db.inTx(ctx, func(tx *Tx) error {
			_, err := e.f.q.insertTx(ctx, tx, args, nil)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.f.RequestSync(ctx, id); err == nil {
		t.Error("RequestSync of a parked account succeeded")
	}
	e.sweep(t, -time.Hour)
	if err := (&renewWorker{f: e.f}).Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "idle", func() bool { return e.idle(t) && e.subscribeIdle(t) })
	if tokens, graph := requests(parked); tokens != 0 || graph != 0 {
		t.Errorf("the parked account made %d token requests and %d Graph requests, want none", tokens, graph)
	}
	if st := e.status(t, id); st != StatusNeedsSignIn {
		t.Errorf("status %s, want %s", st, StatusNeedsSignIn)
	}
}
