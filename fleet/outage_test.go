package fleet

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"regexp"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/calendar"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/internal/pgtest"
	"github.com/m365kit/m365kit/scopes"
)

// fullRun reports whether M365KIT_FLEET_FULL asks for the full sizes.
func fullRun() bool { return os.Getenv("M365KIT_FLEET_FULL") != "" }

// PostgreSQL goes away mid-run: every connection of the fleet's database
// is terminated and new ones are refused (ALLOW_CONNECTIONS false) for 5
// seconds (30 with M365KIT_FLEET_FULL=1), while users keep changing
// their data and notifications keep arriving. Sync requests refused
// during the outage are made again afterwards, as Graph redelivers a
// notification that was not answered with 2xx. Afterwards the workers
// run again without a restart, and every account's stored events and
// messages equal the fake's: nothing was lost.
func TestDatabaseOutageRecovers(t *testing.T) {
	t.Parallel()
	outage := 5 * time.Second
	if fullRun() {
		outage = 30 * time.Second
	}
	ctx := t.Context()
	// Graph takes 300 ms a request, so syncs are waiting on Graph when the
	// database goes away and try to commit while it is away.
	e := newBenchEnv(t, benchConfig{postgres: true, accounts: 12, latency: 300 * time.Millisecond, tweak: func(c *Config) {
		c.RescueAfter = 10 * time.Second // the shortest allowed: jobs whose worker lost its connection are rescued sooner
	}})
	e.start(t)
	e.connectAll(t)

	admin, err := sql.Open("pgx", pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := regexp.MustCompile(`dbname=(\S+)`).FindStringSubmatch(e.dsn)[1]

	// Users change their data and each change is notified, before,
	// during and after the outage; refused requests are redelivered.
	var refused []string
	change := func() {
		c := e.gen.Churn(1)[0]
		id := e.byUser[c.UserID]
		if err := e.f.RequestSync(ctx, id); err != nil {
			refused = append(refused, id)
		}
	}
	for range 20 {
		change()
		time.Sleep(20 * time.Millisecond)
	}
	// The outage begins while the syncs of those changes run.
	var running int
	if err := e.db.queryRow(ctx, benchMarker+` SELECT COUNT(*) FROM river_job WHERE state = 'running'`).Scan(&running); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExecContext(ctx, `ALTER DATABASE `+name+` WITH ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	reopened := false
	reopen := func() {
		if reopened {
			return
		}
		reopened = true
		if _, err := admin.ExecContext(context.WithoutCancel(ctx), `ALTER DATABASE `+name+` WITH ALLOW_CONNECTIONS true`); err != nil {
			t.Errorf("reopening the database: %v", err)
		}
	}
	defer reopen()
	var killed int
	if err := admin.QueryRowContext(ctx, `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1`, name).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	for time.Since(down) < outage {
		change()
		time.Sleep(100 * time.Millisecond)
	}
	during := len(refused)
	reopen()
	for range 20 {
		change()
		time.Sleep(20 * time.Millisecond)
	}
	// Graph redelivers what was refused.
	redeliver := slices.Clone(refused)
	refused = nil
	slices.Sort(redeliver)
	for _, id := range slices.Compact(redeliver) {
		if err := e.f.RequestSync(ctx, id); err != nil {
			t.Fatalf("Sync after the outage: %v", err)
		}
	}
	if len(refused) > 0 {
		t.Fatalf("%d sync requests refused after the database came back", len(refused))
	}
	t.Logf("outage of %s: %d jobs running and %d connections terminated when it began, %d sync requests refused during it", outage, running, killed, during)
	if during == 0 {
		t.Error("no sync request was refused during the outage: the database did not go away")
	}

	recovered := time.Now()
	// The wait is bounded by the rescue of jobs whose worker lost its
	// connection mid-commit (RescueAfter, then River's rescuer pass) and a
	// retry's back-off.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if e.syncJobs(t) == 0 {
			d := e.diffAll(t)
			if d == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("data lost or not synced 2 minutes after the database came back:\n%s", d)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("%d sync jobs still queued 2 minutes after the database came back", e.syncJobs(t))
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("in sync %s after the database came back", time.Since(recovered).Round(time.Millisecond))
	counts, err := e.f.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[StatusConnected] != len(e.accounts) {
		t.Errorf("accounts by status after the outage: %v", counts)
	}
}

// diffAll compares every account's stored events and Inbox messages with
// the fake's, and returns the differences ("" when equal).
func (e *benchEnv) diffAll(t *testing.T) string {
	t.Helper()
	var out string
	for i, u := range e.gen.Users {
		id := e.accounts[i]
		want := e.fakeCalendar(t, id)
		got := e.storedIDs(t, benchMarker+` SELECT id FROM test_events WHERE account = $1`, id)
		if d := cmp.Diff(want, got); d != "" {
			out += id + " events (-fake +stored):\n" + d
		}
		var msgs []string
		for _, m := range u.Messages("inbox") {
			msgs = append(msgs, m.ID)
		}
		sort.Strings(msgs)
		got = e.storedIDs(t, benchMarker+` SELECT id FROM test_messages WHERE account = $1 AND folder = 'Inbox'`, id)
		if d := cmp.Diff(msgs, got); d != "" {
			out += id + " Inbox (-fake +stored):\n" + d
		}
	}
	return out
}

// fakeCalendar lists the IDs a fresh calendar sync of the account's
// window finds in the fake.
func (e *benchEnv) fakeCalendar(t *testing.T, accountID string) []string {
	t.Helper()
	gc, err := graphclient.New(e.users.TokenSource(accountID, scopes.Calendar), graphclient.WithHTTPClient(e.srv.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	a := benchAccount(accountID)
	start, end := a.span(time.Now(), e.f.marginDays)
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

func (e *benchEnv) storedIDs(t *testing.T, q string, args ...any) []string {
	t.Helper()
	return queryIDs(t, e.db, q, args...)
}

// A SweepInterval under a second is refused: River refuses a periodic
// job's unique period below one second without an error anyone sees, so
// the sweep and the window slide would silently never run.
func TestSweepIntervalUnderOneSecondRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, nil)
	cfg := Config{DB: e.db, App: e.app, Sink: e.sink, SweepInterval: 500 * time.Millisecond}
	_, err := New(cfg)
	var fe *Error
	if !errors.As(err, &fe) || fe.Input != "Config.SweepInterval" {
		t.Errorf("New with SweepInterval 500ms = %v, want an *Error naming Config.SweepInterval", err)
	}
	cfg.SweepInterval = time.Second
	if _, err := New(cfg); err != nil {
		t.Errorf("New with SweepInterval 1s: %v", err)
	}
}
