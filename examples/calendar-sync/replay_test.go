package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/examples/internal/setup"
)

// A round recorded with -record against the demo tenant replays with
// -replay, offline, into a fresh database: the same output, and the same
// rows stored.
func TestRecordThenReplay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tapes := filepath.Join(dir, "recordings")
	var live, liveErr bytes.Buffer
	if err := runEnv(t.Context(), []string{"-once", "-pagesize", "4", "-record", tapes, "-db", filepath.Join(dir, "live.db")}, &live, &liveErr, setup.Env{Getenv: noEnv}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(liveErr.String(), "recorded ") {
		t.Fatalf("stderr = %q; want the recording's path", liveErr.String())
	}
	var replayed, replayedErr bytes.Buffer
	if err := runEnv(t.Context(), []string{"-once", "-pagesize", "4", "-replay", tapes, "-db", filepath.Join(dir, "replay.db")}, &replayed, &replayedErr, setup.Env{Getenv: noEnv}); err != nil {
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
		err := runEnv(t.Context(), append(tt.args, "-db", filepath.Join(t.TempDir(), "x.db")), new(bytes.Buffer), new(bytes.Buffer), setup.Env{Getenv: noEnv})
		if err == nil {
			t.Errorf("%v: no error", tt.args)
		}
	}
}
