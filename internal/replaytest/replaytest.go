// Package replaytest runs the SDK's record-and-replay tests: a run of an
// area package against graphtest's demo tenant, recorded; the recording
// just made replayed through the same code; and the recording committed
// in the package's testdata replayed offline, each compared with the live
// run's results.
//
// Set M365KIT_RECORD=1 to record the committed recordings again (go test
// ./calendar -run Replay); read the diff before committing it.
package replaytest

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/graphtest/recording"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/scopes"
)

// EnvRecord names the variable that makes Check record the committed
// recordings again.
const EnvRecord = "M365KIT_RECORD"

// Env is what a Run works with.
type Env struct {
	// Session is the signed-in user: their Graph client and App.
	Session *m365test.Session
	// Live is the sandbox when the run is live (to change the tenant
	// between rounds), nil when it is replayed.
	Live *m365test.Sandbox
	// Recorded is when the recording started: a run computes any time
	// window from it, so the replay asks what the live run asked.
	Recorded time.Time
	// HTTPClient is the client Session's Graph client sends through
	// (recording or replaying), for more Graph clients.
	HTTPClient *http.Client
	// Browse plays the browser for an authorize or admin-consent URL:
	// graphtest's, recorded, when live; the recording's when replayed.
	Browse func(ctx context.Context, url string) (*http.Request, error)
}

// Run is one run of the code under test. It returns what the run
// observed, one line per fact, for comparison.
type Run func(ctx context.Context, t *testing.T, env Env) []string

// Check records run against a new sandbox signed in as user with
// features, replays that recording and compares the results with the
// live ones; then replays the recording in fixture (a .json file; its
// results are in the .results.txt file beside it) and compares with the
// results its live run had.
func Check(t *testing.T, fixture, user string, features []scopes.Feature, run Run) {
	t.Helper()
	ctx := t.Context()
	sb := m365test.New(t)
	rec := recording.NewRecorder(recording.Config{Name: strings.TrimSuffix(fixture[strings.LastIndexByte(fixture, '/')+1:], ".json")})
	live, err := sb.SignInRecorded(ctx, rec, user, features...)
	if err != nil {
		t.Fatal(err)
	}
	want := run(ctx, t, Env{Session: live, Live: sb, Recorded: rec.Recording().Recorded, HTTPClient: rec.Client(sb.Server.HTTPClient()), Browse: func(ctx context.Context, u string) (*http.Request, error) {
		r, err := sb.Server.Browse(ctx, u)
		if err == nil {
			rec.Callback(r)
		}
		return r, err
	}})
	made := rec.Recording()

	t.Run("replay of the run just recorded", func(t *testing.T) {
		got := replay(t, recording.NewReplayer(made), features, run)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("replayed run differs from the live run (-live +replay):\n%s", diff)
		}
	})

	results := strings.TrimSuffix(fixture, ".json") + ".results.txt"
	if os.Getenv(EnvRecord) != "" {
		if err := made.WriteFile(fixture); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(results, []byte(strings.Join(want, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %s and %s", fixture, results)
	}
	t.Run("replay of "+fixture, func(t *testing.T) {
		b, err := os.ReadFile(results)
		if err != nil {
			t.Fatalf("%v (record with %s=1)", err, EnvRecord)
		}
		wantRecorded := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		rp := recording.Replay(t, fixture)
		got := replay(t, rp, features, run)
		if diff := cmp.Diff(wantRecorded, got); diff != "" {
			t.Errorf("replay of %s differs from its live run (-live +replay):\n%s", fixture, diff)
		}
	})
}

// replay signs the recorded user in again from rp and runs run.
func replay(t *testing.T, rp *recording.Replayer, features []scopes.Feature, run Run) []string {
	t.Helper()
	s, err := m365test.ReplaySignIn(t.Context(), rp, features...)
	if err != nil {
		t.Fatal(err)
	}
	got := run(t.Context(), t, Env{Session: s, Recorded: rp.Recording().Recorded, HTTPClient: rp.Client(), Browse: rp.Browse})
	if err := rp.Err(); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if left := rp.Unplayed(); len(left) > 0 {
		t.Errorf("replay left %d recorded exchanges unplayed, the first: %s", len(left), left[0])
	}
	return got
}
