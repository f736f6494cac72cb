package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/examples/internal/programtest"
	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/graphtest/recording"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/scopes"
)

// A round recorded with -record against the demo tenant replays with
// -replay, offline, into a fresh database: the same output, and the same
// rows stored.
func TestRecordThenReplay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tapes := filepath.Join(dir, "recordings")
	var live, liveErr bytes.Buffer
	if err := runEnv(t.Context(), []string{"-once", "-pagesize", "4", "-record", tapes, "-db", filepath.Join(dir, "live.db")}, &live, &liveErr, setup.Env{Getenv: programtest.NoEnv}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(liveErr.String(), "recorded ") {
		t.Fatalf("stderr = %q; want the recording's path", liveErr.String())
	}
	var replayed, replayedErr bytes.Buffer
	if err := runEnv(t.Context(), []string{"-once", "-pagesize", "4", "-replay", tapes, "-db", filepath.Join(dir, "replay.db")}, &replayed, &replayedErr, setup.Env{Getenv: programtest.NoEnv}); err != nil {
		t.Fatalf("replay: %v\n%s", err, replayedErr.String())
	}
	// The first line names the user and where they came from.
	_, liveRest, _ := strings.Cut(live.String(), "\n")
	_, replayRest, _ := strings.Cut(replayed.String(), "\n")
	if diff := cmp.Diff(liveRest, replayRest); diff != "" || !strings.Contains(live.String(), "page 2") {
		t.Errorf("replayed output differs (-live +replay):\n%s", diff)
	}
	if diff := cmp.Diff(rows(t, filepath.Join(dir, "live.db")), rows(t, filepath.Join(dir, "replay.db")), cmp.AllowUnexported(row{})); diff != "" {
		t.Errorf("replayed rows differ (-live +replay):\n%s", diff)
	}
}

func TestTapeFlags(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ args []string }{
		{[]string{"-once", "-record", "a", "-replay", "b"}},
		{[]string{"-once", "-pseudonymize"}},
		{[]string{"-once", "-replay", filepath.Join(t.TempDir(), "none")}},
	} {
		err := runEnv(t.Context(), append(tt.args, "-db", filepath.Join(t.TempDir(), "x.db")), new(bytes.Buffer), new(bytes.Buffer), setup.Env{Getenv: programtest.NoEnv})
		if err == nil {
			t.Errorf("%v: no error", tt.args)
		}
	}
}

// A recording without a sign-in (a live worker resumes from stored tokens,
// so its recording holds token refreshes, not a sign-in) replays its Graph
// traffic with a token that never reaches Entra. The recording is the demo
// run's Graph traffic after the GET /me a live connection starts with,
// both recorded from the same tenant.
func TestReplayWithoutSignIn(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tapes := filepath.Join(dir, "recordings")
	sb := m365test.New(t)
	var live bytes.Buffer
	if err := runEnv(t.Context(), []string{"-once", "-record", tapes, "-db", filepath.Join(dir, "live.db")}, &live, new(bytes.Buffer), setup.Env{Getenv: programtest.NoEnv, Demo: sb}); err != nil {
		t.Fatal(err)
	}
	first := recording.NewRecorder(recording.Config{})
	s, err := sb.SignInRecorded(t.Context(), first, "adele", scopes.Calendar)
	if err != nil {
		t.Fatal(err)
	}
	req, err := s.Graph.NewRequest(t.Context(), "GET", "me?$select=displayName,mail,userPrincipalName", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Graph.Do(req, nil); err != nil {
		t.Fatal(err)
	}
	me := first.Recording().Exchanges
	me = me[len(me)-1:]
	path, err := recording.Latest(tapes, "calendar-sync")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := recording.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	graphOnly := me
	for _, x := range rec.Exchanges {
		if x.Kind == "" && strings.HasPrefix(x.URL, "https://graph.microsoft.com/") {
			graphOnly = append(graphOnly, x)
		}
	}
	if len(graphOnly) < 3 || len(graphOnly) > len(rec.Exchanges) {
		t.Fatalf("%d of %d exchanges are Graph's", len(graphOnly), len(rec.Exchanges))
	}
	rec.Exchanges = graphOnly
	only := filepath.Join(dir, "graph-only.json")
	if err := rec.WriteFile(only); err != nil {
		t.Fatal(err)
	}
	var replayed, stderr bytes.Buffer
	if err := runEnv(t.Context(), []string{"-once", "-replay", only, "-db", filepath.Join(dir, "replay.db")}, &replayed, &stderr, setup.Env{Getenv: programtest.NoEnv}); err != nil {
		t.Fatalf("replay: %v\n%s", err, stderr.String())
	}
	_, liveRest, _ := strings.Cut(live.String(), "\n")
	_, replayRest, _ := strings.Cut(replayed.String(), "\n")
	if diff := cmp.Diff(liveRest, replayRest); diff != "" {
		t.Errorf("replayed output differs (-live +replay):\n%s", diff)
	}
}
