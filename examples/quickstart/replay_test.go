package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/m365test"
)

// The whole walk recorded with -record against the demo tenant (admin
// consent, sign-in, verification, calendar, mail, the Teams clip) replays
// with -replay, offline and with no demo tenant, to the same summary.
func TestRecordThenReplay(t *testing.T) {
	t.Parallel()
	tapes := filepath.Join(t.TempDir(), "recordings")
	live, steps, err := runDemo(t, m365test.New(t), "-record", tapes)
	if err != nil {
		t.Fatalf("recorded run: %v\n%s", err, steps)
	}
	if !strings.Contains(steps, "recorded ") || !live.OK || live.Teams == nil || live.Teams.MessageID == "" {
		t.Fatalf("recorded run: %+v\n%s", live, steps)
	}
	// A sandbox nobody talks to: the replay must not need one.
	idle := m365test.New(t)
	replayed, steps, err := runDemo(t, idle, "-replay", tapes)
	if err != nil {
		t.Fatalf("replay: %v\n%s", err, steps)
	}
	if diff := cmp.Diff(live, replayed); diff != "" {
		t.Errorf("replayed summary differs (-live +replay):\n%s", diff)
	}
	if n := len(idle.Server.Requests()); n != 0 {
		t.Errorf("the replay sent %d requests to the fake", n)
	}
}
