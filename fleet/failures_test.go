package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/scopes"
)

var calendarOnly = []scopes.Feature{scopes.Calendar}

// connect connects an account and waits until its first sync is done.
func (e *env) connect(t *testing.T, a Account) {
	t.Helper()
	if err := e.f.Connect(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	waitFor(t, a.ID+" connected", func() bool { return e.status(t, a.ID) == StatusConnected })
}

// A request that arrives while the account's sync runs is not swallowed
// by the unique job: one more round runs after it.
func TestRequestDuringSyncRunsOnceMore(t *testing.T) {
	t.Parallel()
	for _, postgres := range []bool{false, true} {
		t.Run(dbName(postgres), func(t *testing.T) {
			t.Parallel()
			testRequestDuringSync(t, postgres)
		})
	}
}

func dbName(postgres bool) string {
	if postgres {
		return "postgres"
	}
	return "sqlite"
}

func testRequestDuringSync(t *testing.T, postgres bool) {
	e := newEnv(t, postgres, nil)
	e.start(t)
	ctx := t.Context()
	id := e.signIn(t, e.demo.Adele)
	e.connect(t, Account{ID: id, Features: calendarOnly})
	waitFor(t, "idle", func() bool { return e.idle(t) })
	before := e.rounds(t, id, resCalendar)

	entered, release := e.gate.arm()
	defer release()
	if err := e.f.RequestSync(ctx, id); err != nil {
		t.Fatal(err)
	}
	<-entered // the job is running, waiting on Graph
	// The change happens now, after the running round has read Graph's
	// state: only a second round can see it.
	if err := e.demo.Adele.DeleteEvent(e.demo.Interview.ID); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := e.f.RequestSync(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	release()
	waitFor(t, "two rounds", func() bool { return e.rounds(t, id, resCalendar) >= before+2 })
	waitFor(t, "idle", func() bool { return e.idle(t) })
	if got := e.rounds(t, id, resCalendar) - before; got != 2 {
		t.Errorf("%d rounds, want 2 (the running one and one after it)", got)
	}
	if slices.Contains(e.storedEvents(t, id), e.demo.Interview.ID) {
		t.Error("the deletion made during the running sync was never synced")
	}
}

// A revoked refresh token parks the account after one token request: the
// status says why, the callback hears it once, nothing more is tried.
func TestRevokedAccountParks(t *testing.T) {
	t.Parallel()
	for _, postgres := range []bool{false, true} {
		t.Run(dbName(postgres), func(t *testing.T) {
			t.Parallel()
			testRevoked(t, postgres)
		})
	}
}

func testRevoked(t *testing.T, postgres bool) {
	e := newEnv(t, postgres, nil)
	e.start(t)
	ctx := t.Context()
	id := e.signIn(t, e.demo.Diego)
	e.expireStored(t, id)
	e.srv.RevokeRefreshTokens(e.demo.Diego)
	calls := e.srv.TokenCalls()
	if err := e.f.Connect(ctx, Account{ID: id, Features: calendarOnly}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "needs sign-in", func() bool { return e.status(t, id) == StatusNeedsSignIn })
	waitFor(t, "idle", func() bool { return e.idle(t) })
	st, err := e.f.Account(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Reason == "" {
		t.Error("no reason given for the new sign-in")
	}
	if err := e.f.RequestSync(ctx, id); err == nil {
		t.Error("Sync of a parked account succeeded")
	}
	e.sweep(t, -time.Hour)
	if got := e.srv.TokenCalls() - calls; got != 1 {
		t.Errorf("%d token requests, want 1", got)
	}
	waitFor(t, "status changes delivered", func() bool { return len(e.statusChanges(id)) >= 2 })
	changes := e.statusChanges(id)
	if len(changes) != 2 || changes[1].To != StatusNeedsSignIn || changes[1].Reason == "" {
		t.Errorf("status changes %+v, want syncing, then needs_sign_in with a reason", changes)
	}

	// Signing in again and connecting resumes.
	e.signIn(t, e.demo.Diego)
	e.connect(t, Account{ID: id, Features: calendarOnly})
}

// Missing consent parks the account in consent_missing, naming the
// permissions.
func TestConsentMissingParks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, nil)
	e.start(t)
	id := e.signIn(t, e.demo.Alex)
	e.expireStored(t, id)
	e.srv.FailNextToken(graphtest.ErrConsentRequired("Calendars.Read"))
	if err := e.f.Connect(t.Context(), Account{ID: id, Features: calendarOnly}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "consent missing", func() bool { return e.status(t, id) == StatusConsentMissing })
	st, err := e.f.Account(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Missing) == 0 {
		t.Error("the missing permissions are not named")
	}
}

// A 429 snoozes the job for Retry-After without spending an attempt
// (MaxAttempts 1 would discard it otherwise) and shows as throttled.
func TestThrottlingSnoozes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, func(c *Config) { c.MaxAttempts = 1 })
	e.start(t)
	id := e.signIn(t, e.demo.Adele)
	e.srv.Inject(graphtest.Fault{PathPrefix: "/me/calendarView", Kind: graphtest.Throttle, RetryAfter: "1", Times: 2})
	if err := e.f.Connect(t.Context(), Account{ID: id, Features: calendarOnly}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "throttled", func() bool { return e.status(t, id) == StatusThrottled })
	st, err := e.f.Account(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st.ThrottledUntil.IsZero() {
		t.Error("ThrottledUntil not set")
	}
	waitFor(t, "connected after the throttling", func() bool { return e.status(t, id) == StatusConnected })
	if diff := cmp.Diff(e.fakeEvents(t, id, Account{ID: id, Features: calendarOnly}), e.storedEvents(t, id)); diff != "" {
		t.Errorf("(-fake +stored):\n%s", diff)
	}
}

// A sink error or panic rolls the page back (its writes and its cursor)
// and the job retries until the stored data equals the fake's, on SQLite
// and PostgreSQL.
func TestSinkFailureRollsBack(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		postgres bool
		arm      func(s *testSink)
	}{
		{"sqlite/error", false, func(s *testSink) { s.failNext.Store(1) }},
		{"sqlite/panic", false, func(s *testSink) { s.panicNext.Store(1) }},
		{"postgres/error", true, func(s *testSink) { s.failNext.Store(1) }},
		{"postgres/panic", true, func(s *testSink) { s.panicNext.Store(1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.postgres, nil)
			id := e.signIn(t, e.demo.Adele)
			tc.arm(e.sink)
			e.start(t)
			e.connect(t, Account{ID: id, Features: calendarOnly})
			if got := e.sink.applied.Load(); got < 2 {
				t.Errorf("sink called %d times, want the refused page and its retry", got)
			}
			stored := e.storedEvents(t, id)
			if slices.Contains(stored, markerID) {
				t.Error("the refused page's write was committed")
			}
			if diff := cmp.Diff(e.fakeEvents(t, id, Account{ID: id, Features: calendarOnly}), stored); diff != "" {
				t.Errorf("(-fake +stored):\n%s", diff)
			}
		})
	}
}

// Disconnect removes the account, its cursors and its queued jobs.
func TestDisconnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, nil)
	e.start(t)
	ctx := t.Context()
	id := e.signIn(t, e.demo.Adele)
	e.connect(t, Account{ID: id, Features: both})
	if err := e.f.Disconnect(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.f.Account(ctx, id); !errors.Is(err, ErrUnknownAccount) {
		t.Errorf("Account after Disconnect: %v, want ErrUnknownAccount", err)
	}
	if err := e.f.RequestSync(ctx, id); !errors.Is(err, ErrUnknownAccount) {
		t.Errorf("Sync after Disconnect: %v, want ErrUnknownAccount", err)
	}
	var n int
	if err := e.db.queryRow(ctx, `SELECT COUNT(*) FROM fleet_cursors WHERE account_id = $1`, id).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d cursors left (%v)", n, err)
	}
	waitFor(t, "idle", func() bool { return e.idle(t) })
	if err := e.f.Disconnect(ctx, id); err != nil {
		t.Errorf("disconnecting twice: %v", err)
	}
	// Disable keeps the cursors; Connect resumes.
	e.connect(t, Account{ID: id, Features: calendarOnly})
	if err := e.f.Disable(ctx, id); err != nil {
		t.Fatal(err)
	}
	if s := e.status(t, id); s != StatusDisabled {
		t.Errorf("status %s after Disable", s)
	}
	if err := e.f.RequestSync(ctx, id); err == nil {
		t.Error("Sync of a disabled account succeeded")
	}
	e.connect(t, Account{ID: id, Features: calendarOnly})
	if diff := cmp.Diff(e.fakeEvents(t, id, Account{ID: id, Features: calendarOnly}), e.storedEvents(t, id)); diff != "" {
		t.Errorf("after re-enabling (-fake +stored):\n%s", diff)
	}
}

// When an account's window moves (a new day, or a wider window), the
// slide job finds it and the calendar sync slides the window: events
// that enter it are stored, those that left it deleted.
func TestWindowSlides(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, nil)
	e.start(t)
	ctx := t.Context()
	id := e.signIn(t, e.demo.Adele)
	a := Account{ID: id, Features: calendarOnly, DaysBack: 1, DaysAhead: 7}
	e.connect(t, a)
	waitFor(t, "idle", func() bool { return e.idle(t) })
	day := time.Now().UTC().Truncate(24 * time.Hour)
	// Beyond DaysAhead and the margin (7 + 7 days).
	far := e.demo.Adele.AddEvent(graphtest.Event{Subject: "Quarterly planning", Start: day.AddDate(0, 0, 17).Add(9 * time.Hour), End: day.AddDate(0, 0, 17).Add(10 * time.Hour)})
	if slices.Contains(e.storedEvents(t, id), far.ID) {
		t.Fatal("an event outside the window is stored")
	}
	before := e.rounds(t, id, resCalendar)
	// Widen the window behind fleet's back, past the synced margin, as
	// the passing of days does.
	a.DaysAhead = 21
	if err := e.db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `UPDATE fleet_accounts SET days_ahead = 21 WHERE id = $1`, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := (&slideWorker{f: e.f}).Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the slide", func() bool { return e.rounds(t, id, resCalendar) > before })
	waitFor(t, "idle", func() bool { return e.idle(t) })
	stored := e.storedEvents(t, id)
	if !slices.Contains(stored, far.ID) {
		t.Error("the event that entered the window is not stored")
	}
	if diff := cmp.Diff(e.fakeEvents(t, id, a), stored); diff != "" {
		t.Errorf("(-fake +stored):\n%s", diff)
	}
	// The slide job finds nothing more to do.
	n := e.slideJobs(t, id)
	if n != 1 {
		t.Errorf("%d slide jobs, want 1", n)
	}
	if err := (&slideWorker{f: e.f}).Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if m := e.slideJobs(t, id); m != n {
		t.Errorf("a slid window was queued again (%d slide jobs, then %d)", n, m)
	}
}

// storedWindow returns the window of an account's calendar cursor.
func (e *env) storedWindow(t *testing.T, id string) (start, end time.Time) {
	t.Helper()
	var s, en int64
	if err := e.db.queryRow(t.Context(), `SELECT window_start, window_end FROM fleet_cursors WHERE account_id = $1 AND resource = 'calendar'`, id).Scan(&s, &en); err != nil {
		t.Fatal(err)
	}
	return fromMs(s), fromMs(en)
}

// shiftWindow moves an account's stored calendar window days back, as
// if that many days had passed.
func (e *env) shiftWindow(t *testing.T, id string, days int) {
	t.Helper()
	ctx := t.Context()
	if err := e.db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `UPDATE fleet_cursors SET window_start = window_start - $2, window_end = window_end - $2 WHERE account_id = $1 AND resource = 'calendar'`, id, int64(days)*dayMs)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// allStates are every state of a River job.
var allStates = []string{"available", "scheduled", "retryable", "running", "pending", "completed", "cancelled", "discarded"}

// slideJobs counts the calendar syncs the slide has queued for an
// account.
func (e *env) slideJobs(t *testing.T, id string) int {
	t.Helper()
	return e.jobCount(t, id, "fleet.calendar_sync", "slide", allStates...)
}

// The synced calendar window reaches WindowMarginDays past DaysAhead, so
// the days passing do not slide it until the asked window is no longer
// covered: a slide (a full listing of the window) every margin + 1
// days, not every day.
func TestWindowHysteresis(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, nil)
	e.start(t)
	ctx := t.Context()
	id := e.signIn(t, e.demo.Adele)
	a := Account{ID: id, Features: calendarOnly, DaysBack: 1, DaysAhead: 7}
	e.connect(t, a)
	waitFor(t, "idle", func() bool { return e.idle(t) })
	day := time.Now().UTC().Truncate(24 * time.Hour)
	start, end := e.storedWindow(t, id)
	if want := day.AddDate(0, 0, -1); !start.Equal(want) {
		t.Errorf("synced window starts %s, want %s", start, want)
	}
	if want := day.AddDate(0, 0, 7+DefaultWindowMarginDays); !end.Equal(want) {
		t.Errorf("synced window ends %s, want %s (DaysAhead and the margin)", end, want)
	}
	// An event past DaysAhead but within the margin is synced.
	near := e.demo.Adele.AddEvent(graphtest.Event{Subject: "Offsite", Start: day.AddDate(0, 0, 10).Add(9 * time.Hour), End: day.AddDate(0, 0, 10).Add(10 * time.Hour)})
	if err := e.f.RequestSync(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the offsite stored", func() bool { return slices.Contains(e.storedEvents(t, id), near.ID) })
	waitFor(t, "idle", func() bool { return e.idle(t) })

	// Up to the margin's days later, nothing slides.
	jobs, rounds := e.slideJobs(t, id), e.rounds(t, id, resCalendar)
	e.shiftWindow(t, id, DefaultWindowMarginDays)
	if err := (&slideWorker{f: e.f}).Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := e.slideJobs(t, id); n != jobs {
		t.Fatalf("the window slid %d days after its sync, within the margin of %d", DefaultWindowMarginDays, DefaultWindowMarginDays)
	}
	// A day later the asked window is no longer covered: it slides, to
	// the asked window and the margin.
	e.shiftWindow(t, id, 1)
	if err := (&slideWorker{f: e.f}).Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := e.slideJobs(t, id); n != jobs+1 {
		t.Fatalf("%d slide jobs queued when the window no longer covers the asked one, want 1", n-jobs)
	}
	waitFor(t, "the slide", func() bool { return e.rounds(t, id, resCalendar) > rounds })
	waitFor(t, "idle", func() bool { return e.idle(t) })
	if s, en := e.storedWindow(t, id); !s.Equal(start) || !en.Equal(end) {
		t.Errorf("slid to %s–%s, want %s–%s", s, en, start, end)
	}
	if diff := cmp.Diff(e.fakeEvents(t, id, a), e.storedEvents(t, id)); diff != "" {
		t.Errorf("after the slide (-fake +stored):\n%s", diff)
	}
}

// The sweep leaves a calendar the slide is due to sync to the slide:
// one full listing, not a sweep's round and then the slide's.
func TestSweepLeavesDueSlideToSlide(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, nil)
	e.start(t)
	id := e.signIn(t, e.demo.Adele)
	e.connect(t, Account{ID: id, Features: both})
	waitFor(t, "idle", func() bool { return e.idle(t) })
	e.shiftWindow(t, id, DefaultWindowMarginDays+1)
	e.sweep(t, -time.Hour) // everything is overdue
	cal := e.jobCount(t, id, "fleet.calendar_sync", "sweep", allStates...)
	mail := e.jobCount(t, id, "fleet.mail_sync", "sweep", allStates...)
	if cal != 0 {
		t.Errorf("the sweep queued %d calendar syncs for a calendar due to slide", cal)
	}
	if mail != 1 {
		t.Errorf("the sweep queued %d mail syncs, want 1", mail)
	}
}

// sweep runs the safety-net sweep as if Config.SweepAfter were after.
func (e *env) sweep(t *testing.T, after time.Duration) {
	t.Helper()
	old := e.f.sweepAfter
	e.f.sweepAfter = after
	defer func() { e.f.sweepAfter = old }()
	if err := (&sweepWorker{f: e.f}).Work(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
}

// The sweep syncs each resource not synced for SweepAfter, and skips
// parked accounts.
func TestSweep(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, nil)
	e.f.batch = 1 // one row per page: the sweep pages through all
	e.start(t)
	adele, diego := e.signIn(t, e.demo.Adele), e.signIn(t, e.demo.Diego)
	e.connect(t, Account{ID: adele, Features: both})
	e.connect(t, Account{ID: diego, Features: calendarOnly})
	waitFor(t, "idle", func() bool { return e.idle(t) })
	if err := e.f.park(t.Context(), diego, StatusChange{To: StatusNeedsSignIn, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	cal, inbox, parked := e.rounds(t, adele, resCalendar), e.rounds(t, adele, "mail:Inbox"), e.rounds(t, diego, resCalendar)
	e.sweep(t, time.Hour) // everything was synced within the hour: nothing to do
	waitFor(t, "idle", func() bool { return e.idle(t) })
	if e.rounds(t, adele, resCalendar) != cal || e.rounds(t, adele, "mail:Inbox") != inbox {
		t.Fatal("the sweep synced resources synced recently")
	}
	e.sweep(t, -time.Hour) // everything is overdue
	waitFor(t, "the sweep's syncs", func() bool {
		return e.rounds(t, adele, resCalendar) == cal+1 && e.rounds(t, adele, "mail:Inbox") == inbox+1
	})
	waitFor(t, "idle", func() bool { return e.idle(t) })
	if e.rounds(t, diego, resCalendar) != parked {
		t.Error("the sweep synced a parked account")
	}
}

// When Graph drops the delta state twice in one round, the cursor is
// dropped and the retry starts the window over (Reset): the stored data
// still ends equal to the fake's.
func TestSyncStateLostTwice(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, func(c *Config) { c.PageSize = 3 })
	e.start(t)
	id := e.signIn(t, e.demo.Adele)
	a := Account{ID: id, Features: calendarOnly}
	e.connect(t, a)
	waitFor(t, "idle", func() bool { return e.idle(t) })
	if err := e.demo.Adele.DeleteEvent(e.demo.Interview.ID); err != nil {
		t.Fatal(err)
	}
	e.srv.Inject(graphtest.Fault{Kind: graphtest.SyncReset, Times: 2})
	if err := e.f.RequestSync(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deletion synced", func() bool { return !slices.Contains(e.storedEvents(t, id), e.demo.Interview.ID) })
	waitFor(t, "idle", func() bool { return e.idle(t) })
	if diff := cmp.Diff(e.fakeEvents(t, id, a), e.storedEvents(t, id)); diff != "" {
		t.Errorf("(-fake +stored):\n%s", diff)
	}
	n := 0
	for _, r := range e.srv.Requests() {
		if r.Status == 410 {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d answers 410, want the 2 injected", n)
	}
	var retried int
	if err := e.db.queryRow(t.Context(), `SELECT COUNT(*) FROM river_job WHERE kind = 'fleet.calendar_sync' AND attempt > 1`).Scan(&retried); err != nil {
		t.Fatal(err)
	}
	if retried != 1 {
		t.Errorf("%d calendar jobs retried, want the one whose round lost its state twice", retried)
	}
}

// A run River has given up on (rescued after its worker looked dead, and
// run again with the next attempt) commits nothing more, so pages are
// never applied twice at once or out of order.
func TestRescuedRunIsFenced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, nil)
	e.start(t)
	ctx := t.Context()
	id := e.signIn(t, e.demo.Adele)
	e.connect(t, Account{ID: id, Features: calendarOnly})
	waitFor(t, "idle", func() bool { return e.idle(t) })
	before, applied := e.rounds(t, id, resCalendar), e.sink.applied.Load()
	entered, release := e.gate.arm()
	defer release()
	if err := e.f.RequestSync(ctx, id); err != nil {
		t.Fatal(err)
	}
	<-entered
	// What the rescuer and another worker's new attempt do to the row.
	if err := e.db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `UPDATE river_job SET attempt = attempt + 1 WHERE kind = 'fleet.calendar_sync' AND state = 'running'`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	release()
	waitFor(t, "the old run ends", func() bool { return e.idle(t) })
	if got := e.sink.applied.Load() - applied; got != 0 {
		t.Errorf("the fenced run applied %d pages", got)
	}
	if got := e.rounds(t, id, resCalendar); got != before {
		t.Errorf("the fenced run stored a cursor (%d rounds, was %d)", got, before)
	}
}

// A long round hands over to a follow-up job after each slice (here after
// every page): the round still ends with the fake's data, and each
// follow-up carries the request counter the round began with, so a
// request made during any part of the round calls for one more.
func TestLongRoundHandsOver(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, func(c *Config) { c.PageSize = 3 })
	e.f.slice = 0 // every page ends its job
	e.start(t)
	id := e.signIn(t, e.demo.Adele)
	a := Account{ID: id, Features: calendarOnly}
	e.connect(t, a)
	waitFor(t, "idle", func() bool { return e.idle(t) })
	if diff := cmp.Diff(e.fakeEvents(t, id, a), e.storedEvents(t, id)); diff != "" {
		t.Errorf("(-fake +stored):\n%s", diff)
	}
	var continued, withSeen int
	if err := e.db.queryRow(t.Context(), `SELECT COUNT(*), COUNT(json_extract(args, '$.seen')) FROM river_job
		WHERE kind = 'fleet.calendar_sync' AND json_extract(args, '$.reason') = 'continue'`).Scan(&continued, &withSeen); err != nil {
		t.Fatal(err)
	}
	if continued < 2 || withSeen != continued {
		t.Errorf("%d follow-up jobs continued the round, %d of them with the counter it began with; want several, all", continued, withSeen)
	}
}

// With Config.PageSize left zero, calendar syncs ask Graph for
// DefaultPageSize events a page, not Graph's default of 10.
func TestDefaultPageSize(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, nil)
	e.start(t)
	id := e.signIn(t, e.demo.Adele)
	e.connect(t, Account{ID: id, Features: calendarOnly})
	waitFor(t, "idle", func() bool { return e.idle(t) })
	want := fmt.Sprintf("odata.maxpagesize=%d", DefaultPageSize)
	n := 0
	for _, r := range e.srv.Requests() {
		if !strings.Contains(r.Path, "calendarView/delta") {
			continue
		}
		n++
		if !slices.ContainsFunc(r.Header.Values("Prefer"), func(v string) bool { return strings.Contains(v, want) }) {
			t.Errorf("%s %s?%s asked Prefer %q, want %s", r.Method, r.Path, r.RawQuery, r.Header.Values("Prefer"), want)
		}
	}
	if n == 0 {
		t.Fatal("no calendar delta request")
	}
}

// Status-change deliveries run after sync jobs: a connect burst queues
// two per account, and River fetches by priority first, so they must
// not share the syncs' priority.
func TestStatusDeliveriesYieldToSyncs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, func(c *Config) {
		c.OnStatusChange = func(context.Context, StatusChange) error { return nil }
	})
	e.start(t)
	id := e.signIn(t, e.demo.Adele)
	e.connect(t, Account{ID: id, Features: both})
	waitFor(t, "idle", func() bool { return e.idle(t) })
	prio := func(kind string) (lo, hi int) {
		t.Helper()
		if err := e.db.queryRow(t.Context(), `SELECT COALESCE(MIN(priority), 0), COALESCE(MAX(priority), 0) FROM river_job WHERE kind = $1`, kind).Scan(&lo, &hi); err != nil {
			t.Fatal(err)
		}
		return lo, hi
	}
	_, syncs := prio("fleet.calendar_sync")
	if _, m := prio("fleet.mail_sync"); m > syncs {
		syncs = m
	}
	status, _ := prio("fleet.status_change")
	if syncs == 0 || status == 0 {
		t.Fatalf("no jobs: sync priority %d, status-change priority %d", syncs, status)
	}
	if status <= syncs {
		t.Errorf("status-change deliveries have priority %d, syncs %d: deliveries must come after syncs (a larger number)", status, syncs)
	}
}

// An account whose jobs fail one after the other with the same status
// but different reasons (its calendar, then its mail, each missing a
// permission, as two worker processes can report them) is delivered to
// OnStatusChange once, and keeps every missing permission.
func TestStatusDeliveredOncePerChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, nil)
	e.start(t)
	ctx := t.Context()
	id := e.signIn(t, e.demo.Adele)
	e.connect(t, Account{ID: id, Features: both})
	waitFor(t, "connected", func() bool { return len(e.statusChanges(id)) >= 2 })
	for _, missing := range []string{"Calendars.Read", "Mail.Read", "Calendars.Read"} {
		if err := e.db.inTx(ctx, func(tx *Tx) error {
			return e.f.setStatusTx(ctx, tx, id, StatusChange{To: StatusConsentMissing, Reason: "consent required: " + missing, Missing: []string{missing}})
		}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the change delivered", func() bool { return len(e.statusChanges(id)) >= 3 })
	waitFor(t, "the queue drained", func() bool { return e.idle(t) })
	var parked int
	for _, c := range e.statusChanges(id) {
		if c.To == StatusConsentMissing {
			parked++
		}
	}
	if parked != 1 {
		t.Errorf("consent_missing delivered %d times, want once: %+v", parked, e.statusChanges(id))
	}
	st, err := e.f.Account(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Calendars.Read", "Mail.Read"}; !slices.Equal(st.Missing, want) {
		t.Errorf("Missing = %q, want %q", st.Missing, want)
	}
}
