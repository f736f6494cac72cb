package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365kit/m365kit/examples/internal/programtest"
	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/examples/internal/sqldb"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/internal/pgtest"
	"github.com/m365kit/m365kit/m365test"
)

// TestMain stops the PostgreSQL server the tests started, if any.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

type row struct {
	subject, provider, joinURL, skip string
	joins                            bool
}

// rows reads what the worker stored, by subject and start.
func rows(t *testing.T, dsn string) map[string]row {
	t.Helper()
	db, err := sqldb.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.QueryContext(t.Context(), `SELECT subject, start_utc, provider, join_url, joins, skip FROM calendar_events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	out := map[string]row{}
	for rs.Next() {
		var r row
		var start string
		var joins int
		if err := rs.Scan(&r.subject, &start, &r.provider, &r.joinURL, &joins, &r.skip); err != nil {
			t.Fatal(err)
		}
		r.joins = joins == 1
		out[r.subject+" @ "+start] = r
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func bySubject(rs map[string]row, subject string) []row {
	var out []row
	for _, r := range rs {
		if r.subject == subject {
			out = append(out, r)
		}
	}
	return out
}

func TestSyncAndResumeSQLite(t *testing.T) {
	t.Parallel()
	testSyncAndResume(t, filepath.Join(t.TempDir(), "calendar.db"))
}

func TestSyncAndResumePostgres(t *testing.T) {
	t.Parallel()
	testSyncAndResume(t, pgtest.Database(t))
}

// testSyncAndResume runs one round, changes the calendar, and runs again: the
// second round starts from the stored cursor and applies only the changes.
func testSyncAndResume(t *testing.T, dsn string) {
	d := m365test.New(t)
	env := setup.Env{Getenv: programtest.NoEnv, Demo: d}
	var out bytes.Buffer
	if err := runEnv(t.Context(), []string{"-once", "-db", dsn}, &out, new(bytes.Buffer), env); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	first := rows(t, dsn)
	call := bySubject(first, d.Demo.CustomerCall.Subject)
	if len(call) != 1 || call[0].provider != "zoom" || !call[0].joins || !strings.HasPrefix(call[0].joinURL, "https://zoom.us/j/") {
		t.Fatalf("customer call rows: %+v", call)
	}
	if c := bySubject(first, d.Demo.Cancelled.Subject); len(c) != 1 || c[0].joins || c[0].skip != "cancelled" {
		t.Errorf("cancelled meeting rows: %+v", c)
	}
	if !strings.Contains(out.String(), "new window") {
		t.Errorf("first round output:\n%s", out.String())
	}

	// Outlook changes: the customer call is deleted, a new Teams meeting
	// appears.
	if err := d.Demo.Adele.DeleteEvent(d.Demo.CustomerCall.ID); err != nil {
		t.Fatal(err)
	}
	tomorrow := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	d.Demo.Adele.AddEvent(graphtest.Event{Subject: "Pricing review with Fabrikam", Start: tomorrow.Add(16 * time.Hour), End: tomorrow.Add(17 * time.Hour),
		OnlineMeetingProvider: "teamsForBusiness", Attendees: []graphtest.Attendee{{Address: d.Demo.External[0]}}})

	out.Reset()
	if err := runEnv(t.Context(), []string{"-once", "-db", dsn}, &out, new(bytes.Buffer), env); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "resuming from the stored cursor") || !strings.Contains(out.String(), "1 changed, 1 removed") {
		t.Errorf("second round did not resume with just the changes:\n%s", out.String())
	}
	second := rows(t, dsn)
	if c := bySubject(second, d.Demo.CustomerCall.Subject); len(c) != 0 {
		t.Errorf("the deleted customer call is still stored: %+v", c)
	}
	if p := bySubject(second, "Pricing review with Fabrikam"); len(p) != 1 || p[0].provider != "teams" || !p[0].joins {
		t.Errorf("new meeting rows: %+v", p)
	}
	if len(second) != len(first) {
		t.Errorf("%d rows after one delete and one add, want %d", len(second), len(first))
	}
}

// lineWatcher cancels when a line containing marker is written.
type lineWatcher struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	cancel context.CancelFunc
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.marker != "" && bytes.Contains(p, []byte(w.marker)) {
		w.cancel()
	}
	return len(p), nil
}

// A worker stopped after its first page resumes after that page: the
// cursor was committed with the page's events.
func TestResumeAfterCrash(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	env := setup.Env{Getenv: programtest.NoEnv, Demo: d}
	dsn := filepath.Join(t.TempDir(), "calendar.db")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w := &lineWatcher{marker: "page 1:", cancel: cancel}
	if err := runEnv(ctx, []string{"-once", "-pagesize", "4", "-db", dsn}, w, new(bytes.Buffer), env); err == nil {
		t.Fatalf("the interrupted round reported success:\n%s", w.buf.String())
	}
	afterCrash := len(rows(t, dsn))
	if afterCrash != 4 {
		t.Fatalf("%d rows after the first page of 4, want 4\n%s", afterCrash, w.buf.String())
	}

	var out bytes.Buffer
	if err := runEnv(t.Context(), []string{"-once", "-pagesize", "4", "-db", dsn}, &out, new(bytes.Buffer), env); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "resuming from the stored cursor") {
		t.Errorf("the restart did not resume:\n%s", out.String())
	}
	// A full round from scratch, for comparison.
	fresh := filepath.Join(t.TempDir(), "fresh.db")
	if err := runEnv(t.Context(), []string{"-once", "-db", fresh}, new(bytes.Buffer), new(bytes.Buffer), env); err != nil {
		t.Fatal(err)
	}
	if got, want := len(rows(t, dsn)), len(rows(t, fresh)); got != want {
		t.Errorf("resumed sync stored %d events, a fresh one %d", got, want)
	}
	if strings.Contains(out.String(), "new window") {
		t.Errorf("the restart listed the window again:\n%s", out.String())
	}
}

// Without -once the worker keeps going until it is stopped.
func TestWorkerLoopStops(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w := &lineWatcher{marker: "round done", cancel: cancel}
	err := runEnv(ctx, []string{"-interval", "1h", "-db", filepath.Join(t.TempDir(), "c.db")}, w, new(bytes.Buffer), setup.Env{Getenv: programtest.NoEnv, Demo: d})
	if err != nil {
		t.Fatalf("stopping the worker is not an error: %v", err)
	}
	if !strings.Contains(w.buf.String(), "round done") {
		t.Errorf("output:\n%s", w.buf.String())
	}
}

func TestBadFlags(t *testing.T) {
	t.Parallel()
	programtest.RejectsArgs(t, runEnv, []programtest.BadArgs{
		{Args: []string{"-days", "0"}, Want: "-days 0"},
		{Args: []string{"-interval", "10ms"}, Want: "-interval"},
		{Args: []string{"-db", ""}, Want: "-db"},
		{Args: []string{"-pagesize", "-1"}, Want: "-pagesize"},
		{Args: []string{"now"}, Want: `unexpected argument "now"`},
	})
}
