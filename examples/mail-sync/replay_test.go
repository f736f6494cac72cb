package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/examples/internal/programtest"
	"github.com/m365kit/m365kit/examples/internal/setup"
)

// A round recorded with -record against the demo tenant replays with
// -replay, offline, into a fresh database: the same output and the same
// messages kept. With -pseudonymize the recording holds no name, address
// or subject of the demo tenant, and still replays.
func TestRecordThenReplay(t *testing.T) {
	t.Parallel()
	for _, pseudo := range []bool{false, true} {
		dir := t.TempDir()
		tapes := filepath.Join(dir, "recordings")
		crm := writeCRM(t, "fabrikam.com")
		args := []string{"-once", "-crm", crm, "-record", tapes, "-db", filepath.Join(dir, "live.db")}
		if pseudo {
			args = append(args, "-pseudonymize")
		}
		var live bytes.Buffer
		if err := runEnv(t.Context(), args, &live, new(bytes.Buffer), setup.Env{Getenv: programtest.NoEnv}); err != nil {
			t.Fatal(err)
		}
		var replayed, stderr bytes.Buffer
		err := runEnv(t.Context(), []string{"-once", "-crm", crm, "-replay", tapes, "-db", filepath.Join(dir, "replay.db")}, &replayed, &stderr, setup.Env{Getenv: programtest.NoEnv})
		if err != nil {
			t.Fatalf("replay: %v\n%s", err, stderr.String())
		}
		got, want := subjects(t, filepath.Join(dir, "replay.db")), subjects(t, filepath.Join(dir, "live.db"))
		if !pseudo {
			_, liveRest, _ := strings.Cut(live.String(), "\n")
			_, replayRest, _ := strings.Cut(replayed.String(), "\n")
			if diff := cmp.Diff(liveRest, replayRest); diff != "" {
				t.Errorf("replayed output differs (-live +replay):\n%s", diff)
			}
			if diff := cmp.Diff(want, got); diff != "" || len(want) == 0 {
				t.Errorf("replayed messages differ (-live +replay):\n%s", diff)
			}
			continue
		}
		// Pseudonymized, the CRM's domain is a stand-in too: the filter
		// keeps nothing in replay, and the file names no one.
		files, _ := filepath.Glob(filepath.Join(tapes, "*.json"))
		if len(files) != 1 {
			t.Fatalf("recordings: %v", files)
		}
		b, _ := readFile(files[0])
		for _, s := range append(want, "Adele Vance", "adele@contoso.com", "fabrikam.com", "Katie Jordan") {
			if strings.Contains(b, s) {
				t.Errorf("pseudonymized recording holds %q", s)
			}
		}
	}
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}
