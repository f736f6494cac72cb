package m365test_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/graphtest/recording"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/scopes"
)

// A session signed in through a recorder records its sign-in and Graph
// calls; ReplaySignIn then signs the same user in from the recording
// alone, with no fake running, and the Graph client answers as it did.
func TestSignInRecordedThenReplayed(t *testing.T) {
	t.Parallel()
	sb := m365test.New(t)
	rec := recording.NewRecorder(recording.Config{Name: "m365test"})
	live, err := sb.SignInRecorded(t.Context(), rec, "alex", scopes.Calendar)
	if err != nil {
		t.Fatal(err)
	}
	liveID, liveUPN := me(t, live)
	sb.Close() // nothing reaches the fake from here on

	rp := recording.NewReplayer(rec.Recording())
	replayed, err := m365test.ReplaySignIn(t.Context(), rp, scopes.Calendar)
	if err != nil {
		t.Fatal(err)
	}
	if replayed.User.AccountID != live.User.AccountID || replayed.User.Name != "Alex Wilber" {
		t.Errorf("replayed user = %+v, want %+v", replayed.User, live.User)
	}
	if id, upn := me(t, replayed); id != liveID || upn != liveUPN {
		t.Errorf("replayed GET /me = %s %s, want %s %s", id, upn, liveID, liveUPN)
	}
	// A request the recording does not hold fails at once: a replay miss
	// is no network failure, and the Graph client does not retry it.
	req, err := replayed.Graph.NewRequest(t.Context(), "GET", "me/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replayed.Graph.Do(req, nil); !errors.Is(err, recording.ErrNotRecorded) || !strings.Contains(err.Error(), ", 1 attempts)") {
		t.Errorf("unrecorded GET me/events: err = %v, want ErrNotRecorded after one attempt", err)
	}
}

func TestReplaySignInNeedsASignIn(t *testing.T) {
	t.Parallel()
	rp := recording.NewReplayer(&recording.Recording{Version: recording.Version})
	if _, err := m365test.ReplaySignIn(t.Context(), rp); err == nil || !strings.Contains(err.Error(), "no sign-in") {
		t.Errorf("ReplaySignIn of an empty recording: %v", err)
	}
}
