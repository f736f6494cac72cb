package fleet

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"modernc.org/sqlite"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/internal/pgtest"
	"github.com/m365kit/m365kit/scopes"
)

// This file is the benchmarks' harness: a generated fake tenant with
// Graph latency and Outlook's mailbox limit, its users signed in, a
// database whose every statement is counted (a pgx tracer on PostgreSQL,
// a database/sql driver wrapper on SQLite), and a sink that records when
// the commit carrying each awaited change ends.

// benchConfig describes a benchmark environment.
type benchConfig struct {
	postgres bool
	accounts int
	latency  time.Duration // Graph latency per request (graphtest.WithLatency)
	webhook  bool          // serve Fleet.Handler over HTTPS and subscribe (Config.NotificationURL)
	tweak    func(*Config)
}

// benchEnv is a fleet over a generated tenant, ready to Start.
type benchEnv struct {
	srv      *graphtest.Server
	gen      *graphtest.Generated
	users    *auth.App
	db       Database
	f        *Fleet
	cfg      Config         // the Config f was made with
	hook     *webhookServer // nil without benchConfig.webhook
	sink     *benchSink
	stmts    *stmtCounter
	dsn      string            // the PostgreSQL database's DSN ("" on SQLite)
	accounts []string          // account IDs, in gen.Users order
	byUser   map[string]string // user object ID -> account ID
}

// benchAccount is what the benchmarks connect: calendar and Inbox, with a
// calendar window that covers every event Generate and Churn make.
func benchAccount(id string) Account {
	return Account{ID: id, Features: []scopes.Feature{scopes.Calendar, scopes.Mail}, DaysBack: 8, DaysAhead: 31}
}

func newBenchEnv(tb testing.TB, c benchConfig) *benchEnv {
	tb.Helper()
	ctx := tb.Context()
	opts := []graphtest.Option{graphtest.WithMailboxConcurrency(graphtest.OutlookConcurrency, "1")}
	if c.latency > 0 {
		opts = append(opts, graphtest.WithLatency(c.latency))
	}
	e := &benchEnv{srv: graphtest.New(tb, opts...), byUser: map[string]string{}, stmts: &stmtCounter{}}
	var err error
	e.gen, err = e.srv.Generate(graphtest.GenerateConfig{Users: c.accounts, Tenants: max(1, c.accounts/50), Seed: 16})
	if err != nil {
		tb.Fatal(err)
	}
	store := auth.NewMemoryStore()
	cred, err := auth.Secret(graphtest.DemoClientSecret)
	if err != nil {
		tb.Fatal(err)
	}
	var app *auth.App
	for _, a := range []**auth.App{&app, &e.users} {
		*a, err = auth.New(auth.Config{ClientID: graphtest.DemoClientID, Credential: cred, RedirectURL: graphtest.DemoRedirectURL,
			Store: store, AllowPlaintextStore: true, HTTPClient: e.srv.HTTPClient()})
		if err != nil {
			tb.Fatal(err)
		}
	}
	e.signInAll(tb)

	e.sink = &benchSink{testSink: newTestSink(), lat: newLatencyTracker()}
	if c.postgres {
		e.dsn = pgtest.Database(tb)
		pc, err := pgxpool.ParseConfig(e.dsn)
		if err != nil {
			tb.Fatal(err)
		}
		pc.ConnConfig.Tracer = &pgTracer{count: e.stmts, lat: e.sink.lat}
		pc.MaxConns = max(pc.MaxConns, defaultPoolSize) // as Open does
		if s := os.Getenv("M365KIT_FLEET_BENCH_POOL"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				tb.Fatalf("M365KIT_FLEET_BENCH_POOL=%q is not a positive number", s)
			}
			pc.MaxConns = int32(n)
		}
		pool, err := pgxpool.NewWithConfig(ctx, pc)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(pool.Close)
		e.db = Postgres(pool)
	} else {
		db := openCountedSQLite(tb, filepath.Join(tb.TempDir(), "fleet.db"), e.stmts, e.sink.lat)
		e.db = SQLite(db)
	}
	if err := e.sink.migrate(ctx, e.db); err != nil {
		tb.Fatal(err)
	}
	cfg := Config{DB: e.db, App: app, Sink: e.sink, HTTPClient: e.srv.HTTPClient()}
	if c.webhook {
		e.hook = newWebhookServer(tb)
		cfg.NotificationURL = e.hook.url
		e.srv.SetNotificationClient(e.hook.client())
	}
	if c.tweak != nil {
		c.tweak(&cfg)
	}
	e.cfg = cfg
	e.f, err = New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if e.hook != nil {
		e.hook.serve(e.f.Handler())
	}
	if err := e.f.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return e
}

// signInAll signs every generated user in through the fake browser, a
// few at a time.
func (e *benchEnv) signInAll(tb testing.TB) {
	tb.Helper()
	ctx := tb.Context()
	e.accounts = make([]string, len(e.gen.Users))
	var wg sync.WaitGroup
	var failed atomic.Value
	next := atomic.Int64{}
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(e.gen.Users) || failed.Load() != nil {
					return
				}
				u := e.gen.Users[i]
				url, pending, err := e.users.SignInURL(auth.SignInRequest{Features: []scopes.Feature{scopes.Calendar, scopes.Mail}, LoginHint: u.UserPrincipalName})
				if err != nil {
					failed.Store(err)
					return
				}
				req, err := e.srv.Browse(ctx, url)
				if err != nil {
					failed.Store(err)
					return
				}
				user, err := e.users.CompleteSignIn(ctx, req, pending)
				if err != nil {
					failed.Store(err)
					return
				}
				e.accounts[i] = user.AccountID
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		tb.Fatalf("signing in: %v", err)
	}
	for i, u := range e.gen.Users {
		e.byUser[u.ID] = e.accounts[i]
	}
}

// start starts the fleet; it stops when the benchmark ends.
func (e *benchEnv) start(tb testing.TB) {
	tb.Helper()
	if err := e.f.Start(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = e.f.Stop(ctx)
	})
}

// connectAll connects every account and waits until all are connected
// and the queue is idle; it returns how long that took.
func (e *benchEnv) connectAll(tb testing.TB) time.Duration {
	tb.Helper()
	ctx := tb.Context()
	t0 := time.Now()
	for _, id := range e.accounts {
		if err := e.f.Connect(ctx, benchAccount(id)); err != nil {
			tb.Fatal(err)
		}
	}
	e.waitIdle(tb, 10*time.Minute, func() bool { return e.connected(tb) == len(e.accounts) })
	took := time.Since(t0)
	// The status changes (syncing, then connected: two a account) are
	// delivered by jobs in the same queue; a measurement starts once they
	// are done too.
	e.waitIdle(tb, 10*time.Minute, func() bool { return e.jobs(tb, "") == 0 })
	if e.hook != nil {
		e.waitIdle(tb, 10*time.Minute, func() bool { return e.subscribed(tb) == 2*len(e.accounts) })
	}
	return took
}

// waitIdle waits until cond holds and no sync job is queued or running.
func (e *benchEnv) waitIdle(tb testing.TB, limit time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for {
		if (cond == nil || cond()) && e.syncJobs(tb) == 0 {
			return
		}
		if time.Now().After(deadline) {
			counts, _ := e.f.Counts(tb.Context())
			tb.Fatalf("not idle after %s: %d sync jobs left, accounts %v", limit, e.syncJobs(tb), counts)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// connected counts the connected accounts.
func (e *benchEnv) connected(tb testing.TB) int {
	var n int
	if err := e.db.queryRow(tb.Context(), benchMarker+` SELECT COUNT(*) FROM fleet_accounts WHERE status = 'connected'`).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// subscribed counts the registrations with a Graph subscription.
func (e *benchEnv) subscribed(tb testing.TB) int {
	var n int
	if err := e.db.queryRow(tb.Context(), benchMarker+` SELECT COUNT(*) FROM fleet_subscriptions WHERE subscription_id <> ''`).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// syncJobs counts the sync jobs queued or running.
func (e *benchEnv) syncJobs(tb testing.TB) int {
	return e.jobs(tb, `AND kind IN ('fleet.calendar_sync', 'fleet.mail_sync')`)
}

// jobs counts the jobs queued or running (of the kinds the condition
// and, if not empty, names), apart from the periodic ones.
func (e *benchEnv) jobs(tb testing.TB, and string) int {
	var n int
	err := e.db.queryRow(tb.Context(), benchMarker+` SELECT COUNT(*) FROM river_job WHERE state IN ('available', 'scheduled', 'running', 'pending', 'retryable')
		AND kind NOT IN ('fleet.sweep', 'fleet.slide', 'fleet.renew') `+and).Scan(&n)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// graphRequests counts the fake's Graph requests made with the users'
// tokens (and token requests) after since.
func (e *benchEnv) graphRequests(since time.Time) (graph, token int) {
	for _, r := range e.srv.Requests() {
		if r.Time.Before(since) || r.BatchItem != "" {
			continue
		}
		switch r.Host {
		case graphtest.GraphHost:
			if r.UserID != "" {
				graph++
			}
		case graphtest.LoginHost:
			if strings.HasSuffix(r.Path, "/token") {
				token++
			}
		}
	}
	return graph, token
}

// throttled counts the Graph requests answered 429 after since.
func (e *benchEnv) throttled(since time.Time) int {
	n := 0
	for _, r := range e.srv.Requests() {
		if !r.Time.Before(since) && r.Host == graphtest.GraphHost && r.Status == 429 {
			n++
		}
	}
	return n
}

// webhookServer serves a webhook handler over HTTPS on loopback; the
// handler can be swapped.
type webhookServer struct {
	ts  *httptest.Server
	h   atomic.Pointer[http.Handler]
	url string
}

func newWebhookServer(tb testing.TB) *webhookServer {
	w := &webhookServer{}
	w.ts = httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if h := w.h.Load(); h != nil {
			(*h).ServeHTTP(rw, r)
			return
		}
		http.Error(rw, "not ready", http.StatusServiceUnavailable)
	}))
	tb.Cleanup(w.ts.Close)
	w.url = w.ts.URL + "/graph/notify"
	return w
}

func (w *webhookServer) serve(h http.Handler) { w.h.Store(&h) }

// client returns a client that trusts the server and keeps up to 64
// connections to it alive.
func (w *webhookServer) client() *http.Client {
	tr := w.ts.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// graphRequestsBy counts the fake's Graph requests made with the users'
// tokens after since, by what they touch: "calendar", "mail",
// "subscriptions", "other", and "total".
func (e *benchEnv) graphRequestsBy(since time.Time) map[string]int {
	out := map[string]int{}
	for _, r := range e.srv.Requests() {
		if r.Time.Before(since) || r.BatchItem != "" || r.Host != graphtest.GraphHost || r.UserID == "" {
			continue
		}
		switch p := strings.ToLower(r.Path); {
		case strings.Contains(p, "/calendarview"):
			out["calendar"]++
		case strings.Contains(p, "/mailfolders") || strings.Contains(p, "/messages"):
			out["mail"]++
		case strings.Contains(p, "/subscriptions"):
			out["subscriptions"]++
		default:
			out["other"]++
		}
		out["total"]++
	}
	return out
}

// benchSink is the tests' recording sink plus the latency tracker: it
// hands the tracker every item a page brings, keyed by the connection
// whose commit will store it.
type benchSink struct {
	*testSink
	lat   *latencyTracker
	pages atomic.Int64
}

func txKey(tx *Tx) any {
	if tx.pg != nil {
		return tx.pg.Conn()
	}
	return sqliteKey{}
}

type sqliteKey struct{}

func (s *benchSink) ApplyCalendar(ctx context.Context, tx *Tx, p *CalendarPage) error {
	if err := s.testSink.ApplyCalendar(ctx, tx, p); err != nil {
		return err
	}
	s.pages.Add(1)
	var seen []seenItem
	for _, ev := range p.Page.Events {
		seen = append(seen, seenItem{id: ev.ID, version: ev.ChangeKey})
		if ev.SeriesMasterID != "" {
			seen = append(seen, seenItem{id: ev.SeriesMasterID, occurrence: true})
		}
	}
	for _, id := range p.Page.Removed {
		seen = append(seen, seenItem{id: id, removed: true})
	}
	s.lat.stage(txKey(tx), seen)
	return nil
}

func (s *benchSink) ApplyMail(ctx context.Context, tx *Tx, p *MailPage) error {
	if err := s.testSink.ApplyMail(ctx, tx, p); err != nil {
		return err
	}
	s.pages.Add(1)
	var seen []seenItem
	for _, m := range p.Page.Messages {
		seen = append(seen, seenItem{id: m.ID, version: fmt.Sprint(bool(m.IsRead))})
	}
	for _, sk := range p.Page.Skipped {
		seen = append(seen, seenItem{id: sk.ID, skipped: true})
	}
	for _, id := range p.Page.Removed {
		seen = append(seen, seenItem{id: id, removed: true})
	}
	s.lat.stage(txKey(tx), seen)
	return nil
}

// seenItem is an item a page brought.
type seenItem struct {
	id, version      string
	removed, skipped bool
	occurrence       bool // an occurrence of the series id
}

// awaited is a change made in the fake whose commit is awaited.
type awaited struct {
	at      time.Time
	op      string // "created", "updated", "deleted"
	kind    string // "event", "message"
	version string // for updates: the event's ChangeKey, the message's IsRead
}

// latencyTracker matches the items that pages bring against the changes
// awaited, and times each from the change to the end of the commit that
// stored it. It also remembers what recent commits stored, because a
// sync already running may store a change before the change's
// notification has been answered and the change registered.
type latencyTracker struct {
	mu     sync.Mutex
	want   map[string]awaited
	staged map[any][]seenItem // connection -> items its open transaction applied
	recent map[string]stored  // item ID -> the last commit that stored it
	got    []time.Duration
}

// stored is an item as a commit stored it.
type stored struct {
	seenItem
	at time.Time
}

func newLatencyTracker() *latencyTracker {
	return &latencyTracker{want: map[string]awaited{}, staged: map[any][]seenItem{}, recent: map[string]stored{}}
}

// matches reports whether s carries the change a.
func (a awaited) matches(s seenItem) bool {
	switch a.op {
	case "deleted":
		return s.removed || s.skipped
	case "created":
		return !s.removed
	case "updated":
		return s.skipped || (!s.removed && !s.occurrence && s.version == a.version)
	}
	return false
}

// await registers a change made at a.at; if a commit after a.at already
// stored it, it is timed at once.
func (l *latencyTracker) await(id string, a awaited) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r, ok := l.recent[id]; ok && !r.at.Before(a.at) && a.matches(r.seenItem) {
		l.got = append(l.got, r.at.Sub(a.at))
		return
	}
	if _, ok := l.want[id]; !ok { // keep the oldest change of an item
		l.want[id] = a
	}
}

func (l *latencyTracker) stage(key any, seen []seenItem) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.staged[key] = append(l.staged[key], seen...)
}

// committed is told that the transaction on key committed (ok) or not.
func (l *latencyTracker) committed(key any, ok bool) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	items := l.staged[key]
	if len(items) == 0 {
		return
	}
	delete(l.staged, key)
	if !ok {
		return
	}
	if len(l.recent) > 100000 {
		for id, r := range l.recent {
			if now.Sub(r.at) > 10*time.Second {
				delete(l.recent, id)
			}
		}
	}
	for _, s := range items {
		l.recent[s.id] = stored{seenItem: s, at: now}
		if a, found := l.want[s.id]; found && a.matches(s) {
			l.got = append(l.got, now.Sub(a.at))
			delete(l.want, s.id)
		}
	}
}

// pendingList describes the changes still awaited.
func (l *latencyTracker) pendingList() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for id, a := range l.want {
		out = append(out, a.kind+" "+a.op+" "+id+" at "+a.at.Format("15:04:05.000"))
	}
	return out
}

func (l *latencyTracker) pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.want)
}

func (l *latencyTracker) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.want, l.staged, l.recent, l.got = map[string]awaited{}, map[any][]seenItem{}, map[string]stored{}, nil
}

// quantile returns the latency at quantile q (nearest rank).
func (l *latencyTracker) quantile(q float64) time.Duration {
	l.mu.Lock()
	got := slices.Clone(l.got)
	l.mu.Unlock()
	if len(got) == 0 {
		return 0
	}
	slices.Sort(got)
	i := int(q*float64(len(got))+0.999999) - 1
	return got[min(max(i, 0), len(got)-1)]
}

// percentiles returns the latencies' p50 and p99 and their number.
func (l *latencyTracker) percentiles() (p50, p99 time.Duration, n int) {
	l.mu.Lock()
	n = len(l.got)
	l.mu.Unlock()
	return l.quantile(0.50), l.quantile(0.99), n
}

// benchMarker starts the benchmarks' own queries, which are not counted
// as the engine's.
const benchMarker = "/* fleetbench */"

// stmtCounter counts the statements sent to the database, by what they
// touch.
type stmtCounter struct {
	mu sync.Mutex
	by map[string]int
}

// category names what a statement is about.
func category(sql string) string {
	s := strings.ToLower(strings.TrimSpace(sql))
	switch {
	case strings.HasPrefix(s, benchMarker):
		return "bench"
	case s == "begin" || strings.HasPrefix(s, "begin ") || s == "commit" || s == "rollback":
		return "begin/commit"
	case strings.Contains(s, "test_events") || strings.Contains(s, "test_messages"):
		return "sink"
	case strings.Contains(s, "fleet_"):
		return "fleet"
	case strings.Contains(s, "river_job"):
		return "river_job"
	default:
		return "river other"
	}
}

func (c *stmtCounter) add(sql string) {
	cat := category(sql)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by == nil {
		c.by = map[string]int{}
	}
	c.by[cat]++
}

func (c *stmtCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.by {
		out[k] = v
	}
	return out
}

func (c *stmtCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.by = nil
}

// pgTracer counts every statement on PostgreSQL and tells the latency
// tracker when a connection's transaction commits or rolls back.
type pgTracer struct {
	count *stmtCounter
	lat   *latencyTracker
}

type sqlKey struct{}

func (t *pgTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	t.count.add(d.SQL)
	return context.WithValue(ctx, sqlKey{}, d.SQL)
}

func (t *pgTracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, d pgx.TraceQueryEndData) {
	switch sql, _ := ctx.Value(sqlKey{}).(string); sql {
	case "commit":
		t.lat.committed(conn, d.Err == nil)
	case "rollback":
		t.lat.committed(conn, false)
	}
}

func (t *pgTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (t *pgTracer) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	t.count.add(d.SQL)
}

func (t *pgTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (t *pgTracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceCopyFromStartData) context.Context {
	t.count.add("copy " + d.TableName.Sanitize())
	return ctx
}

func (t *pgTracer) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

// countingDriver wraps modernc.org/sqlite's driver, counting statements
// and reporting commits to the latency tracker (SQLite runs on one
// connection, so the transaction that commits is the one the sink wrote
// in).
type countingDriver struct {
	base  driver.Driver
	count *stmtCounter
	lat   *latencyTracker
}

var (
	countingMu  sync.Mutex
	countingSeq int
)

// openCountedSQLite opens a SQLite file as Open does, through a counting
// driver.
func openCountedSQLite(tb testing.TB, path string, c *stmtCounter, l *latencyTracker) *sql.DB {
	tb.Helper()
	countingMu.Lock()
	countingSeq++
	name := fmt.Sprintf("fleetbench-sqlite-%d", countingSeq)
	sql.Register(name, &countingDriver{base: &sqlite.Driver{}, count: c, lat: l})
	countingMu.Unlock()
	db, err := sql.Open(name, "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(on)&_txlock=immediate")
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { db.Close() })
	return db
}

func (d *countingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.base.Open(name)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, d: d}, nil
}

type countingConn struct {
	driver.Conn
	d *countingDriver
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.d.count.add("begin")
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &countingTx{Tx: tx, d: c.d}, nil
}

func (c *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.d.count.add(query)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.d.count.add(query)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: st, d: c.d, query: query}, nil
}

func (c *countingConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *countingConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *countingConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

type countingStmt struct {
	driver.Stmt
	d     *countingDriver
	query string
}

func (s *countingStmt) Exec(args []driver.Value) (driver.Result, error) {
	s.d.count.add(s.query)
	//lint:ignore SA1019 the wrapped driver's own method, what database/sql calls
	return s.Stmt.Exec(args)
}

func (s *countingStmt) Query(args []driver.Value) (driver.Rows, error) {
	s.d.count.add(s.query)
	//lint:ignore SA1019 the wrapped driver's own method, what database/sql calls
	return s.Stmt.Query(args)
}

type countingTx struct {
	driver.Tx
	d *countingDriver
}

func (t *countingTx) Commit() error {
	t.d.count.add("commit")
	err := t.Tx.Commit()
	t.d.lat.committed(sqliteKey{}, err == nil)
	return err
}

func (t *countingTx) Rollback() error {
	t.d.count.add("rollback")
	err := t.Tx.Rollback()
	t.d.lat.committed(sqliteKey{}, false)
	return err
}
