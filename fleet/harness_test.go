package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/calendar"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/internal/pgtest"
	"github.com/m365kit/m365kit/scopes"
)

// TestMain stops the PostgreSQL server the tests started, if any.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// env is a fake tenant, an App whose users signed in, a database and a
// Fleet over them with a recording sink.
type env struct {
	srv   *graphtest.Server
	demo  *graphtest.Demo
	store *auth.MemoryStore
	app   *auth.App // the fleet's
	users *auth.App // the one users sign in through (its own token cache)
	gate  *gate
	db    Database
	f     *Fleet
	sink  *testSink

	mu      sync.Mutex
	changes []StatusChange
}

// newEnv builds an env on SQLite (postgres false) or on a fresh
// PostgreSQL database, migrated but not started.
func newEnv(t *testing.T, postgres bool, tweak func(*Config)) *env {
	t.Helper()
	ctx := t.Context()
	e := &env{srv: graphtest.New(t), store: auth.NewMemoryStore()}
	e.demo = e.srv.AddDemoTenant()
	cred, err := auth.Secret(graphtest.DemoClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []**auth.App{&e.app, &e.users} {
		*a, err = auth.New(auth.Config{ClientID: graphtest.DemoClientID, Credential: cred, RedirectURL: graphtest.DemoRedirectURL,
			Store: e.store, AllowPlaintextStore: true, HTTPClient: e.srv.HTTPClient()})
		if err != nil {
			t.Fatal(err)
		}
	}
	hc := e.srv.HTTPClient()
	e.gate = &gate{base: hc.Transport}
	hc.Transport = e.gate
	dsn := filepath.Join(t.TempDir(), "fleet.db")
	if postgres {
		dsn = pgtest.Database(t)
	}
	e.db, err = Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.db.Close)
	e.sink = newTestSink()
	if err := e.sink.migrate(ctx, e.db); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		DB: e.db, App: e.app, Sink: e.sink, HTTPClient: hc,
		PollInterval: 100 * time.Millisecond,
		OnStatusChange: func(_ context.Context, c StatusChange) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.changes = append(e.changes, c)
			return nil
		},
	}
	if os.Getenv("FLEET_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if tweak != nil {
		tweak(&cfg)
	}
	e.f, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.f.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// start starts the fleet; it stops when the test ends.
func (e *env) start(t *testing.T) {
	t.Helper()
	if err := e.f.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.f.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
}

// signIn signs u in through the fake browser and returns the account ID.
func (e *env) signIn(t *testing.T, u *graphtest.User) string {
	t.Helper()
	ctx := t.Context()
	url, pending, err := e.users.SignInURL(auth.SignInRequest{Features: []scopes.Feature{scopes.Calendar, scopes.Mail}, LoginHint: u.UserPrincipalName})
	if err != nil {
		t.Fatal(err)
	}
	cb, err := e.srv.Browse(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	user, err := e.users.CompleteSignIn(ctx, cb, pending)
	if err != nil {
		t.Fatal(err)
	}
	return user.AccountID
}

// expireStored marks the stored access tokens of an account expired, so
// the next token request goes to the token endpoint.
func (e *env) expireStored(t *testing.T, accountID string) {
	t.Helper()
	ctx := t.Context()
	blob, _, err := e.store.Load(ctx, accountID)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]map[string]any
	if err := json.Unmarshal(blob, &doc); err != nil {
		t.Fatal(err)
	}
	past := fmt.Sprint(time.Now().Add(-time.Hour).Unix())
	for _, at := range doc["AccessToken"] {
		at["expires_on"], at["extended_expires_on"] = past, past
	}
	blob, _ = json.Marshal(doc)
	if err := e.store.Save(ctx, accountID, blob, 0); err != nil {
		t.Fatal(err)
	}
}

func (e *env) statusChanges(account string) []StatusChange {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []StatusChange
	for _, c := range e.changes {
		if c.Account == account {
			out = append(out, c)
		}
	}
	return out
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// status returns an account's status ("" if unknown).
func (e *env) status(t *testing.T, id string) Status {
	t.Helper()
	st, err := e.f.Account(t.Context(), id)
	if errors.Is(err, ErrUnknownAccount) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return st.Status
}

// rounds returns how many sync rounds of a resource have completed.
func (e *env) rounds(t *testing.T, id, resource string) int {
	t.Helper()
	var n int
	err := e.db.queryRow(t.Context(), `SELECT rounds FROM fleet_cursors WHERE account_id = $1 AND resource = $2`, id, resource).Scan(&n)
	if err != nil {
		return 0
	}
	return n
}

// fakeEvents lists the IDs of the events a fresh calendar sync of the
// window fleet syncs (the asked one and the margin) sees, read straight from the fake with u's own client.
func (e *env) fakeEvents(t *testing.T, accountID string, a Account) []string {
	t.Helper()
	gc, err := graphclient.New(e.users.TokenSource(accountID, scopes.Calendar), graphclient.WithHTTPClient(e.srv.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	_ = a.normalize("test")
	// The window the account's cursor covers: what fleet keeps (up to
	// WindowMarginDays wider than asked, until the next slide). Recomputing
	// it from the clock would move it at midnight, under a running test.
	start, end := a.span(time.Now(), e.f.marginDays)
	var startMs, endMs int64
	err = e.db.queryRow(t.Context(), `SELECT window_start, window_end FROM fleet_cursors WHERE account_id = $1 AND resource = $2`, accountID, resCalendar).Scan(&startMs, &endMs)
	if err == nil && startMs != 0 && endMs != 0 {
		start, end = time.UnixMilli(startMs).UTC(), time.UnixMilli(endMs).UTC()
	}
	var ids []string
	for p, err := range calendar.New(gc).Sync(t.Context(), calendar.SyncRequest{Start: start, End: end}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range p.Events {
			ids = append(ids, ev.ID)
		}
		for _, id := range p.Removed {
			ids = slices.DeleteFunc(ids, func(s string) bool { return s == id })
		}
	}
	sort.Strings(ids)
	return slices.Compact(ids)
}

// fakeMessages lists the IDs of a user's messages in a folder.
func fakeMessages(u *graphtest.User, folder string) []string {
	var ids []string
	for _, m := range u.Messages(folder) {
		ids = append(ids, m.ID)
	}
	sort.Strings(ids)
	return ids
}

// testSink stores events and messages in two tables, and can be told to
// fail or panic.
type testSink struct {
	failNext  atomic.Int32 // pages to refuse with an error
	panicNext atomic.Int32 // pages to panic on
	applied   atomic.Int64 // pages applied (committed or not)
}

func newTestSink() *testSink { return &testSink{} }

func (s *testSink) migrate(ctx context.Context, db Database) error {
	return db.inTx(ctx, func(tx *Tx) error {
		for _, q := range []string{
			`CREATE TABLE IF NOT EXISTS test_events (account TEXT NOT NULL, id TEXT NOT NULL, subject TEXT NOT NULL, start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL, PRIMARY KEY (account, id))`,
			`CREATE TABLE IF NOT EXISTS test_messages (account TEXT NOT NULL, folder TEXT NOT NULL, id TEXT NOT NULL, subject TEXT NOT NULL, PRIMARY KEY (account, folder, id))`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
}

var errRefused = errors.New("sink refused the page")

func (s *testSink) check() error {
	s.applied.Add(1)
	if s.panicNext.Load() > 0 {
		s.panicNext.Add(-1)
		panic("test sink panic")
	}
	if s.failNext.Load() > 0 {
		s.failNext.Add(-1)
		return errRefused
	}
	return nil
}

// markerID is the event a refused or panicking page writes before it
// fails: the rollback must remove it.
const markerID = "refused-page-marker"

func (s *testSink) mark(ctx context.Context, tx *Tx, account string) error {
	if s.failNext.Load() == 0 && s.panicNext.Load() == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO test_events (account, id, subject, start_ms, end_ms) VALUES ($1, $2, '', 0, 0) ON CONFLICT DO NOTHING`, account, markerID)
	return err
}

func (s *testSink) ApplyCalendar(ctx context.Context, tx *Tx, p *CalendarPage) error {
	if p.Page.Reset {
		if _, err := tx.Exec(ctx, `DELETE FROM test_events WHERE account = $1`, p.Account); err != nil {
			return err
		}
	}
	for _, ev := range p.Page.Events {
		if _, err := tx.Exec(ctx, `INSERT INTO test_events (account, id, subject, start_ms, end_ms) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (account, id) DO UPDATE SET subject = excluded.subject, start_ms = excluded.start_ms, end_ms = excluded.end_ms`,
			p.Account, ev.ID, ev.Subject, ev.Start.Time.UnixMilli(), ev.End.Time.UnixMilli()); err != nil {
			return err
		}
	}
	for _, id := range p.Page.Removed {
		if _, err := tx.Exec(ctx, `DELETE FROM test_events WHERE account = $1 AND id = $2`, p.Account, id); err != nil {
			return err
		}
	}
	if p.Page.Done {
		if _, err := tx.Exec(ctx, `DELETE FROM test_events WHERE account = $1 AND (end_ms <= $2 OR start_ms >= $3)`,
			p.Account, p.Start.UnixMilli(), p.End.UnixMilli()); err != nil {
			return err
		}
	}
	// Checked last, so a refused page has already written: the rollback
	// must undo it.
	if err := s.mark(ctx, tx, p.Account); err != nil {
		return err
	}
	return s.check()
}

func (s *testSink) ApplyMail(ctx context.Context, tx *Tx, p *MailPage) error {
	if p.Page.Reset {
		if _, err := tx.Exec(ctx, `DELETE FROM test_messages WHERE account = $1 AND folder = $2`, p.Account, p.Folder); err != nil {
			return err
		}
	}
	for _, m := range p.Page.Messages {
		if _, err := tx.Exec(ctx, `INSERT INTO test_messages (account, folder, id, subject) VALUES ($1, $2, $3, $4)
			ON CONFLICT (account, folder, id) DO UPDATE SET subject = excluded.subject`, p.Account, p.Folder, m.ID, m.Subject); err != nil {
			return err
		}
	}
	for _, ids := range [][]string{p.Page.Removed, skippedIDs(p)} {
		for _, id := range ids {
			if _, err := tx.Exec(ctx, `DELETE FROM test_messages WHERE account = $1 AND folder = $2 AND id = $3`, p.Account, p.Folder, id); err != nil {
				return err
			}
		}
	}
	return s.check()
}

func skippedIDs(p *MailPage) []string {
	var out []string
	for _, s := range p.Page.Skipped {
		out = append(out, s.ID)
	}
	return out
}

// storedEvents lists the event IDs the sink stored for an account.
func (e *env) storedEvents(t *testing.T, account string) []string {
	t.Helper()
	return e.ids(t, `SELECT id FROM test_events WHERE account = $1 ORDER BY id`, account)
}

// storedMessages lists the message IDs the sink stored for a folder.
func (e *env) storedMessages(t *testing.T, account, folder string) []string {
	t.Helper()
	return e.ids(t, `SELECT id FROM test_messages WHERE account = $1 AND folder = $2 ORDER BY id`, account, folder)
}

func (e *env) ids(t *testing.T, q string, args ...any) []string {
	t.Helper()
	return queryIDs(t, e.db, q, args...)
}

// queryIDs runs q on db and returns the first column of its rows, sorted.
func queryIDs(t *testing.T, db Database, q string, args ...any) []string {
	t.Helper()
	rows, err := db.query(t.Context(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// gate is a transport that can hold the next request match accepts (by
// default a calendarView request: a calendar sync job running) until
// released, so a test can act while it waits: before the request is sent,
// or with answered set, once Graph has answered it.
type gate struct {
	base     http.RoundTripper
	match    func(*http.Request) bool // nil: a calendarView request
	answered bool                     // hold the answer, not the request

	mu      sync.Mutex
	armed   bool
	entered chan struct{}
	release chan struct{}
}

// arm makes the next calendarView request wait; it returns a channel
// closed when that request arrives and a func that lets it go.
func (g *gate) arm() (entered <-chan struct{}, release func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed = true
	g.entered, g.release = make(chan struct{}), make(chan struct{})
	rel := g.release
	return g.entered, sync.OnceFunc(func() { close(rel) })
}

func (g *gate) RoundTrip(req *http.Request) (*http.Response, error) {
	matches := strings.Contains(req.URL.Path, "calendarView")
	if g.match != nil {
		matches = g.match(req)
	}
	if !matches {
		return g.base.RoundTrip(req)
	}
	var resp *http.Response
	if g.answered {
		var err error
		if resp, err = g.base.RoundTrip(req); err != nil {
			return nil, err
		}
	}
	g.mu.Lock()
	armed, entered, release := g.armed, g.entered, g.release
	g.armed = false
	g.mu.Unlock()
	if armed {
		close(entered)
		select {
		case <-release:
		case <-req.Context().Done():
			if resp != nil {
				resp.Body.Close()
			}
			return nil, req.Context().Err()
		}
	}
	if resp != nil {
		return resp, nil
	}
	return g.base.RoundTrip(req)
}
