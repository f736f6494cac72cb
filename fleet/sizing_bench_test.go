package fleet

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/m365kit/m365kit/graphtest"
)

// The benchmarks of issue 16's sizing figures. They run only with -bench
// (they take minutes); the command lines and results are in
// bench/RESULTS.md. Sizes can be lowered for a quick look with
// M365KIT_FLEET_BENCH_ACCOUNTS.

// graphLatency is the Graph latency every benchmark's fake adds to each
// request, as the issue asks.
const graphLatency = 100 * time.Millisecond

// benchAccounts returns the number of accounts for a benchmark: def, or
// $M365KIT_FLEET_BENCH_ACCOUNTS.
func benchAccounts(b *testing.B, def int) int {
	if s := os.Getenv("M365KIT_FLEET_BENCH_ACCOUNTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("M365KIT_FLEET_BENCH_ACCOUNTS=%q is not a positive number", s)
		}
		return n
	}
	return def
}

func forBothDatabases(b *testing.B, run func(b *testing.B, postgres bool)) {
	b.Run("PostgreSQL", func(b *testing.B) { run(b, true) })
	b.Run("SQLite", func(b *testing.B) { run(b, false) })
}

// BenchmarkNotificationLatency measures notification-to-commit latency:
// 1,000 accounts (calendar and Inbox) on a fake Graph that takes 100 ms
// a request and enforces Outlook's 4 concurrent requests per mailbox,
// with a subscription per account and resource; a steady stream of
// changes (changesPerSecond, one per iteration) made in the fake by
// graphtest's Churn, which POSTs each change notification to the fleet's
// webhook (Fleet.Handler over HTTPS) as Graph does, before Churn returns.
// A change's latency runs from just before it is made to the end of the
// COMMIT of the transaction that stored it through the sink (seen by a
// pgx tracer or the SQLite driver wrapper); an update counts only when
// the stored version is the changed one. There is no debounce delay: the
// unique sync job runs as soon as a worker is free.
// Run it with -benchtime=600x (30 seconds at 20 changes a second).
func BenchmarkNotificationLatency(b *testing.B) {
	forBothDatabases(b, benchNotificationLatency)
}

const changesPerSecond = 20

func benchNotificationLatency(b *testing.B, postgres bool) {
	e := newBenchEnv(b, benchConfig{postgres: postgres, accounts: benchAccounts(b, 1000), latency: graphLatency, webhook: true})
	e.start(b)
	took := e.connectAll(b)
	b.Logf("%d accounts: first sync of calendar and Inbox took %s (subscriptions included)", len(e.accounts), took.Round(time.Millisecond))

	users := map[string]*graphtest.User{}
	for _, u := range e.gen.Users {
		users[u.ID] = u
	}
	e.sink.lat.reset()
	e.stmts.reset()
	pages0 := e.sink.pages.Load()
	since := time.Now()
	tick := time.NewTicker(time.Second / changesPerSecond)
	defer tick.Stop()
	changes := 0
	for b.Loop() {
		<-tick.C
		t0 := time.Now()
		c := e.gen.Churn(1)[0]
		a := awaited{at: t0, op: c.Op, kind: c.Kind}
		if c.Op == "updated" {
			a.version = currentVersion(users[c.UserID], c)
		}
		e.sink.lat.await(c.ID, a)
		changes++
	}
	sent := time.Since(since)
	deadline := time.Now().Add(time.Minute)
	for e.sink.lat.pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := e.sink.lat.pending(); n > 0 {
		b.Errorf("%d of %d changes never reached a commit within a minute: %v", n, changes, e.sink.lat.pendingList())
	}
	e.waitIdle(b, time.Minute, nil)
	p50, p99, n := e.sink.lat.percentiles()
	pages := e.sink.pages.Load() - pages0
	graph, token := e.graphRequests(since)
	stmts := e.stmts.snapshot()
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(float64(n)/sent.Seconds(), "changes/s")
	b.ReportMetric(float64(graph)/float64(max(changes, 1)), "graph-requests/change")
	b.ReportMetric(engineStatements(stmts)/float64(max(changes, 1)), "statements/change")
	p90, max := e.sink.lat.quantile(0.90), e.sink.lat.quantile(1)
	b.Logf("%d changes in %s (%d timed: p90 %s, max %s), %d pages applied, %d Graph requests (%d answered 429), %d token requests; statements %s",
		changes, sent.Round(time.Millisecond), n, p90.Round(time.Millisecond), max.Round(time.Millisecond), pages, graph, e.throttled(since), token, formatCounts(stmts))
}

// currentVersion returns the version an update left in the fake: an
// event's ChangeKey, a message's IsRead.
func currentVersion(u *graphtest.User, c graphtest.Change) string {
	if c.Kind == "event" {
		for _, ev := range u.Events() {
			if ev.ID == c.ID {
				return ev.ChangeKey
			}
		}
		return ""
	}
	for _, m := range u.Messages("inbox") {
		if m.ID == c.ID {
			return fmt.Sprint(m.IsRead)
		}
	}
	return ""
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// engineStatements counts the statements of fleet and River, not the
// sink's own.
func engineStatements(by map[string]int) float64 {
	n := 0
	for k, v := range by {
		if k != "sink" && k != "bench" {
			n += v
		}
	}
	return float64(n)
}

func formatCounts(by map[string]int) string {
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, by[k]))
	}
	return strings.Join(parts, ", ")
}

// BenchmarkStatementsPerPage counts the database statements (round
// trips: BEGIN and COMMIT included) of the engine, fleet's and River's,
// not the sink's own: first over the first sync of 20 accounts
// (multi-page rounds, Connect included), then per iteration one change
// in the fake, the sync request a notification makes (both resources of
// the account: "statements/request") and the jobs that apply its pages
// ("statements/page": River's fetch and completion, fleet's reads, the
// cursor and the completion). River's background work (leader election,
// polling) during the run is counted too. No Graph latency: the counts
// do not depend on it.
func BenchmarkStatementsPerPage(b *testing.B) {
	forBothDatabases(b, benchStatements)
}

func benchStatements(b *testing.B, postgres bool) {
	ctx := b.Context()
	e := newBenchEnv(b, benchConfig{postgres: postgres, accounts: benchAccounts(b, 20)})
	e.start(b)
	e.stmts.reset()
	p0 := e.sink.pages.Load()
	e.connectAll(b)
	first, firstPages := e.stmts.snapshot(), e.sink.pages.Load()-p0

	users := map[string]*graphtest.User{}
	for _, u := range e.gen.Users {
		users[u.ID] = u
	}
	req, job := map[string]int{}, map[string]int{}
	requests, pages := 0, int64(0)
	for b.Loop() {
		c := e.gen.Churn(1)[0]
		a := awaited{at: time.Now(), op: c.Op, kind: c.Kind}
		if c.Op == "updated" {
			a.version = currentVersion(users[c.UserID], c)
		}
		e.sink.lat.await(c.ID, a)
		p := e.sink.pages.Load()
		e.stmts.reset()
		if err := e.f.RequestSync(ctx, e.byUser[c.UserID]); err != nil {
			b.Fatal(err)
		}
		addCounts(req, e.stmts.snapshot())
		e.stmts.reset()
		e.waitIdle(b, time.Minute, func() bool { return e.sink.lat.pending() == 0 })
		addCounts(job, e.stmts.snapshot())
		requests++
		pages += e.sink.pages.Load() - p
	}
	b.ReportMetric(engineStatements(first)/float64(max(firstPages, 1)), "statements/page-first-sync")
	b.ReportMetric(engineStatements(req)/float64(max(requests, 1)), "statements/request")
	b.ReportMetric(engineStatements(job)/float64(max(pages, 1)), "statements/page")
	b.Logf("first sync: %d pages, statements %s", firstPages, formatCounts(first))
	b.Logf("%d sync requests: statements %s", requests, formatCounts(req))
	b.Logf("their jobs: %d pages, statements %s", pages, formatCounts(job))
}

func addCounts(into, from map[string]int) {
	for k, v := range from {
		into[k] += v
	}
}

// BenchmarkIdleAccountRequests measures the Graph requests an idle
// connected account (calendar and Inbox with their subscriptions, no
// change) costs a day with the defaults, in three parts:
//
//   - the safety-net sweep, on a simulated period: SweepAfter and
//     SweepInterval are divided by idleScale (600: a day passes in 144
//     seconds; SweepInterval becomes 1 second, the least River accepts),
//     the accounts are connected one after another over one SweepAfter so
//     that their sweeps are spread as in production, and the fake's
//     request log is counted over half a simulated day, by resource;
//   - the window slide, which follows the UTC date and cannot be
//     scaled: the stored calendar windows are moved back
//     DefaultWindowMarginDays + 1 days, as if that many days had passed
//     (the first day the synced window no longer covers the asked one),
//     and the requests of the slide that follows are counted, once every
//     that many days;
//   - subscription renewals: every subscription is flagged due (as a
//     reauthorizationRequired event does; the renewal is the same PATCH),
//     the requests are counted, and the renewal period follows from the
//     lifetime Graph granted and DefaultRenewBefore.
//
// The sweep is kept off the accounts while the slide and the renewals are
// measured. On a slide's day the slide's round resets the calendar's
// wait for the sweep, so the calendar is swept on DefaultWindowMarginDays
// of every DefaultWindowMarginDays + 1 days. M365KIT_FLEET_BENCH_PAGESIZE
// sets Config.PageSize (default: DefaultPageSize). Run it with
// -benchtime=1x.
func BenchmarkIdleAccountRequests(b *testing.B) {
	for b.Loop() {
		benchIdle(b)
	}
}

const idleScale = 600

func benchIdle(b *testing.B) {
	ctx := b.Context()
	sweepAfter, sweepInterval := DefaultSweepAfter/idleScale, DefaultSweepInterval/idleScale
	n := benchAccounts(b, 100)
	pageSize := 0
	if s := os.Getenv("M365KIT_FLEET_BENCH_PAGESIZE"); s != "" {
		var err error
		if pageSize, err = strconv.Atoi(s); err != nil {
			b.Fatalf("M365KIT_FLEET_BENCH_PAGESIZE=%q is not a number", s)
		}
	}
	e := newBenchEnv(b, benchConfig{postgres: true, accounts: n, latency: graphLatency, webhook: true, tweak: func(c *Config) {
		c.SweepAfter, c.SweepInterval, c.PageSize = sweepAfter, sweepInterval, pageSize
	}})
	e.start(b)
	gap := sweepAfter / time.Duration(n)
	for _, id := range e.accounts {
		if err := e.f.Connect(ctx, benchAccount(id)); err != nil {
			b.Fatal(err)
		}
		time.Sleep(gap)
	}
	e.waitIdle(b, 5*time.Minute, func() bool {
		return e.connected(b) == n && e.subscribed(b) == 2*n && e.jobs(b, "") == 0
	})

	since := time.Now()
	time.Sleep(12 * time.Hour / idleScale)
	window := time.Since(since)
	sweep := e.graphRequestsBy(since)
	simDays := float64(window) * idleScale / float64(24*time.Hour)
	perDay := func(n0 int) float64 { return float64(n0) / float64(n) / simDays }
	sweepCal, sweepMail := perDay(sweep["calendar"]), perDay(sweep["mail"])

	// Keep the sweep off the accounts from now on.
	future := time.Now().Add(24 * time.Hour).UnixMilli()
	if _, err := e.db.pg.Exec(ctx, benchMarker+` UPDATE fleet_cursors SET updated_at = $1`, future); err != nil {
		b.Fatal(err)
	}

	// The slide: move the stored windows back as many days as pass
	// between two slides and wait for every window to be today's again.
	period := DefaultWindowMarginDays + 1
	slideSince := time.Now()
	if _, err := e.db.pg.Exec(ctx, benchMarker+` UPDATE fleet_cursors SET window_start = window_start - $1, window_end = window_end - $1 WHERE resource = 'calendar'`, int64(period)*dayMs); err != nil {
		b.Fatal(err)
	}
	acct := benchAccount("x.y")
	start, _ := acct.window(time.Now())
	e.waitIdle(b, 5*time.Minute, func() bool {
		var left int
		if err := e.db.queryRow(ctx, benchMarker+` SELECT COUNT(*) FROM fleet_cursors WHERE resource = 'calendar' AND window_start <> $1`, start.UnixMilli()).Scan(&left); err != nil {
			b.Fatal(err)
		}
		return left == 0
	})
	slide := e.graphRequestsBy(slideSince)
	perSlide := float64(slide["total"]) / float64(n)
	slidePerDay := perSlide / float64(period)
	if _, err := e.db.pg.Exec(ctx, benchMarker+` UPDATE fleet_cursors SET updated_at = $1`, future); err != nil {
		b.Fatal(err)
	}

	// The renewals.
	renewSince := time.Now()
	if _, err := e.db.pg.Exec(ctx, benchMarker+` UPDATE fleet_subscriptions SET renew = 1`); err != nil {
		b.Fatal(err)
	}
	e.waitIdle(b, 5*time.Minute, func() bool {
		var left int
		if err := e.db.queryRow(ctx, benchMarker+` SELECT COUNT(*) FROM fleet_subscriptions WHERE renew = 1`).Scan(&left); err != nil {
			b.Fatal(err)
		}
		return left == 0 && e.jobs(b, "") == 0
	})
	renew := e.graphRequestsBy(renewSince)
	var lifetime time.Duration
	subs := 0
	for _, sub := range e.srv.Subscriptions() {
		if sub.Renewed > 0 {
			lifetime += sub.Expiration.Sub(renewSince)
			subs++
		}
	}
	if subs == 0 {
		b.Fatal("no subscription was renewed")
	}
	lifetime /= time.Duration(subs)
	every := lifetime - DefaultRenewBefore
	perSub := float64(renew["total"]) / float64(subs)
	renewPerDay := perSub * float64(subs) / float64(n) * float64(24*time.Hour) / float64(every)

	// The slide's round restarts the calendar's wait for the sweep, so
	// the calendar is swept on period-1 days of every period. A sweep in
	// the last hours before a slide becomes due still syncs the calendar
	// (the slide then lists it again): at most one extra round a period.
	calPerDay := sweepCal * float64(period-1) / float64(period)
	low := calPerDay + sweepMail + slidePerDay + renewPerDay
	high := low + sweepCal/float64(period)
	b.ReportMetric(low, "requests/account/day")
	b.ReportMetric(high, "requests/account/day-high")
	b.ReportMetric(sweepCal+sweepMail, "sweep-requests/account/day")
	b.ReportMetric(slidePerDay, "slide-requests/account/day")
	b.ReportMetric(renewPerDay, "renew-requests/account/day")
	b.Logf("sweep: %v Graph requests for %d idle accounts in %s = %.3f simulated days (x%d): calendar %d / %d / %.3f = %.2f, mail %d / %d / %.3f = %.2f requests/account/day",
		sweep, n, window.Round(time.Millisecond), simDays, idleScale, sweep["calendar"], n, simDays, sweepCal, sweep["mail"], n, simDays, sweepMail)
	b.Logf("slide: %v Graph requests for %d accounts = %.2f each, once every %d days: %.2f requests/account/day", slide, n, perSlide, period, slidePerDay)
	b.Logf("renewal: %v Graph requests for %d subscriptions (%.2f each); lifetime granted %s, renewed %s before expiry, so every %s: %.2f x %d/%d x 24h/%s = %.2f requests/account/day",
		renew, subs, perSub, lifetime.Round(time.Minute), DefaultRenewBefore, every.Round(time.Minute), perSub, subs, n, every.Round(time.Minute), renewPerDay)
	b.Logf("total: %.2f x %d/%d (calendar sweep) + %.2f (mail sweep) + %.2f (slide) + %.2f (renewal) = %.2f Graph requests per idle account per day; %.2f if a sweep precedes every slide",
		sweepCal, period-1, period, sweepMail, slidePerDay, renewPerDay, low, high)
}
