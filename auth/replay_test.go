package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest/recording"
	"github.com/m365kit/m365kit/internal/replaytest"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/scopes"
)

const authFixture = "testdata/recordings/signin-refresh.json"

// A sign-in, a refresh for another feature and a sign-out, recorded
// against the demo tenant, replay offline to what the live run saw. The
// replayed sign-in goes through every ID-token check auth.App makes
// (signature against the keys served, issuer, audience, expiry, nonce,
// tenant): the replayer re-issues the recorded claims under its own key,
// with the nonce of the sign-in in progress and lifetimes moved to now.
func TestReplaySignInRefresh(t *testing.T) {
	t.Parallel()
	replaytest.Check(t, authFixture, "adele", []scopes.Feature{scopes.Calendar}, authRun)
}

func authRun(ctx context.Context, t *testing.T, env replaytest.Env) []string {
	s := env.Session
	u := s.User
	out := []string{
		fmt.Sprintf("signed in %s <%s> account %s tenant %s", u.Name, u.Username, u.AccountID, u.TenantID),
		"granted " + strings.Join(u.GrantedScopes, " "),
	}
	me := func(gc *graphclient.Client, path string) string {
		req, err := gc.NewRequest(ctx, "GET", path, nil)
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			ID          string `json:"id"`
			DisplayName string `json:"displayName"`
		}
		if _, err := gc.Do(req, &v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return fmt.Sprintf("GET %s: %s %q", path, v.ID, v.DisplayName)
	}
	out = append(out, me(s.Graph, "me?$select=id,displayName"))
	// Mail was not asked for at sign-in: its token comes from a
	// refresh-token grant.
	gcMail, err := graphclient.New(s.App.TokenSource(u.AccountID, scopes.Mail), graphclient.WithHTTPClient(env.HTTPClient))
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, me(gcMail, "me/mailFolders/inbox?$select=id,displayName"))
	if err := s.App.SignOut(ctx, u.AccountID); err != nil {
		t.Fatal(err)
	}
	_, err = s.App.TokenSource(u.AccountID, scopes.Mail).Token(ctx)
	return append(out, fmt.Sprintf("after sign-out: not signed in %v", errors.Is(err, auth.ErrNotSignedIn)))
}

// Replay does not weaken the ID-token checks: a recording whose ID token
// names another audience fails the replayed sign-in with
// ErrInvalidIDToken, as it would live.
func TestReplayChecksIDToken(t *testing.T) {
	t.Parallel()
	rec, err := recording.ReadFile(authFixture)
	if err != nil {
		t.Fatal(err)
	}
	tampered := 0
	for i, x := range rec.Exchanges {
		var body struct {
			IDToken map[string]map[string]any `json:"id_token"`
			Rest    map[string]any            `json:"-"`
		}
		var all map[string]any
		if x.Response.JSON == nil || json.Unmarshal(x.Response.JSON, &body) != nil || body.IDToken == nil || json.Unmarshal(x.Response.JSON, &all) != nil {
			continue
		}
		body.IDToken["claims"]["aud"] = "00000000-0000-0000-0000-000000000001"
		all["id_token"] = body.IDToken
		rec.Exchanges[i].Response.JSON, _ = json.Marshal(all)
		tampered++
	}
	if tampered == 0 {
		t.Fatal("no ID token in the recording")
	}
	rp := recording.NewReplayer(rec)
	_, err = m365test.ReplaySignIn(t.Context(), rp, scopes.Calendar)
	if !errors.Is(err, auth.ErrInvalidIDToken) || !strings.Contains(err.Error(), "audience") {
		t.Fatalf("replayed sign-in with another audience: %v; want ErrInvalidIDToken about the audience", err)
	}
}
