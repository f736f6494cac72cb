package fleet

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/scopes"
)

var both = []scopes.Feature{scopes.Calendar, scopes.Mail}

func TestSyncSQLite(t *testing.T)   { t.Parallel(); testSync(t, false) }
func TestSyncPostgres(t *testing.T) { t.Parallel(); testSync(t, true) }

// testSync connects accounts and checks that what the sink stored equals
// the fake's data, then that a change and a burst of requests each cost
// about one sync.
func testSync(t *testing.T, postgres bool) {
	e := newEnv(t, postgres, nil)
	ctx := t.Context()
	e.start(t)
	adele, alex := e.signIn(t, e.demo.Adele), e.signIn(t, e.demo.Alex)
	accounts := map[string]Account{
		adele: {ID: adele, Features: both, MailFolders: []string{"Inbox", "SentItems"}},
		alex:  {ID: alex, Features: []scopes.Feature{scopes.Calendar}},
	}
	for _, a := range accounts {
		if err := e.f.Connect(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both accounts connected", func() bool {
		return e.status(t, adele) == StatusConnected && e.status(t, alex) == StatusConnected
	})
	for id, a := range accounts {
		if diff := cmp.Diff(e.fakeEvents(t, id, a), e.storedEvents(t, id)); diff != "" {
			t.Errorf("%s: stored events differ from the fake's (-fake +stored):\n%s", id, diff)
		}
	}
	for _, folder := range []string{"Inbox", "SentItems"} {
		if diff := cmp.Diff(fakeMessages(e.demo.Adele, folder), e.storedMessages(t, adele, folder)); diff != "" {
			t.Errorf("%s: stored messages differ from the fake's (-fake +stored):\n%s", folder, diff)
		}
	}
	if len(e.storedMessages(t, alex, "Inbox")) != 0 {
		t.Error("mail stored for an account connected for the calendar only")
	}
	waitFor(t, "two status changes delivered", func() bool { return len(e.statusChanges(adele)) >= 2 })
	if got := e.statusChanges(adele); len(got) != 2 || got[0].To != StatusSyncing || got[1].To != StatusConnected {
		t.Errorf("status changes of adele: %+v, want syncing then connected", got)
	}

	// A change in Outlook, then a burst of 20 requests: the data follows,
	// and the burst costs at most two rounds (one that may have started
	// during the burst and one after it). The gate holds the first
	// round's Graph request until the burst is over.
	if err := e.demo.Adele.DeleteEvent(e.demo.CustomerCall.ID); err != nil {
		t.Fatal(err)
	}
	before := e.rounds(t, adele, resCalendar)
	_, release := e.gate.arm()
	for range 20 {
		if err := e.f.RequestSync(ctx, adele); err != nil {
			t.Fatal(err)
		}
	}
	release()
	waitFor(t, "the deletion synced", func() bool {
		return !slices.Contains(e.storedEvents(t, adele), e.demo.CustomerCall.ID)
	})
	waitFor(t, "the queue drained", func() bool { return e.idle(t) })
	if got := e.rounds(t, adele, resCalendar) - before; got < 1 || got > 2 {
		t.Errorf("a burst of 20 sync requests ran %d calendar rounds, want 1 or 2", got)
	}
	if diff := cmp.Diff(e.fakeEvents(t, adele, accounts[adele]), e.storedEvents(t, adele)); diff != "" {
		t.Errorf("after the change (-fake +stored):\n%s", diff)
	}

	counts, err := e.f.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[StatusConnected] != 2 || counts[StatusNeedsSignIn] != 0 {
		t.Errorf("Counts = %v", counts)
	}
	list, err := e.f.Accounts(ctx, StatusConnected, "", 1)
	if err != nil || len(list) != 1 {
		t.Fatalf("Accounts page 1: %v, %v", list, err)
	}
	next, err := e.f.Accounts(ctx, StatusConnected, list[0].ID, 10)
	if err != nil || len(next) != 1 || next[0].ID == list[0].ID {
		t.Fatalf("Accounts page 2: %v, %v", next, err)
	}
}

// idle reports whether no fleet sync job is queued or running.
func (e *env) idle(t *testing.T) bool {
	t.Helper()
	var n int
	err := e.db.queryRow(t.Context(), `SELECT COUNT(*) FROM river_job WHERE kind IN ('fleet.calendar_sync', 'fleet.mail_sync')
		AND state IN ('available', 'scheduled', 'retryable', 'running', 'pending')`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n == 0
}

func TestConnectRejectsBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, nil)
	for _, a := range []Account{
		{ID: "", Features: both},
		{ID: "no-dot", Features: both},
		{ID: "a.b"},
		{ID: "a.b", Features: []scopes.Feature{scopes.Teams}},
		{ID: "a.b", Features: []scopes.Feature{scopes.Calendar}, MailFolders: []string{"Inbox"}},
		{ID: "a.b", Features: both, DaysAhead: 400},
	} {
		err := e.f.Connect(t.Context(), a)
		var fe *Error
		if !errors.As(err, &fe) || fe.Input == "" || !errors.Is(err, graphclient.ErrInvalidInput) {
			t.Errorf("Connect(%+v) = %v, want an *Error naming the input", a, err)
		}
	}
}

// A program that imports only calendar, mail or auth does not link River
// or OpenTelemetry: fleet is the only package that brings them.
func TestEngineStaysOptional(t *testing.T) {
	t.Parallel()
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps",
		"github.com/m365kit/m365kit/calendar", "github.com/m365kit/m365kit/mail",
		"github.com/m365kit/m365kit/auth", "github.com/m365kit/m365kit/auth/sqlstore").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/riverqueue/") || strings.HasPrefix(dep, "go.opentelemetry.io/") {
			t.Errorf("%s is linked without fleet", dep)
		}
	}
}

// Migrate is idempotent and safe from several processes at once: three
// Fleets migrate the same database concurrently, then once more.
func TestMigrateIdempotent(t *testing.T) {
	t.Parallel()
	for _, postgres := range []bool{false, true} {
		t.Run(dbName(postgres), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, postgres, nil) // migrated once
			var fleets []*Fleet
			for range 3 {
				f, err := New(Config{DB: e.db, App: e.app, Sink: e.sink})
				if err != nil {
					t.Fatal(err)
				}
				fleets = append(fleets, f)
			}
			errs := make(chan error, len(fleets))
			for _, f := range fleets {
				go func() { errs <- f.Migrate(t.Context()) }()
			}
			for range fleets {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
			if err := fleets[0].Migrate(t.Context()); err != nil {
				t.Error(err)
			}
			var v int
			if err := e.db.queryRow(t.Context(), `SELECT MAX(version) FROM fleet_migrations`).Scan(&v); err != nil || v != len(migrations) {
				t.Errorf("schema version %d (%v), want %d", v, err, len(migrations))
			}
			id := e.signIn(t, e.demo.Adele)
			e.start(t)
			e.connect(t, Account{ID: id, Features: calendarOnly})
		})
	}
}
