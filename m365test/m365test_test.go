package m365test_test

import (
	"strings"
	"testing"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/scopes"
)

// me reads the signed-in user's profile through s.Graph.
func me(t *testing.T, s *m365test.Session) (id, upn string) {
	t.Helper()
	req, err := s.Graph.NewRequest(t.Context(), "GET", "me?$select=id,userPrincipalName", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		ID  string `json:"id"`
		UPN string `json:"userPrincipalName"`
	}
	if _, err := s.Graph.Do(req, &out); err != nil {
		t.Fatal(err)
	}
	return out.ID, out.UPN
}

// SignIn goes through the authority (authorize, then one code redemption)
// and gives a Graph client that acts for the user who signed in, whether
// named by the part before the @ or in full.
func TestSignIn(t *testing.T) {
	t.Parallel()
	sb := m365test.New(t)
	for _, name := range []string{"adele", "alex@contoso.com"} {
		s, err := sb.SignIn(t.Context(), name)
		if err != nil {
			t.Fatalf("SignIn(%q): %v", name, err)
		}
		want := sb.Demo.Tenant.User(name + map[bool]string{true: "", false: "@contoso.com"}[strings.Contains(name, "@")])
		if s.User.AccountID != want.AccountID() {
			t.Errorf("SignIn(%q).User.AccountID = %q, want %q", name, s.User.AccountID, want.AccountID())
		}
		if id, upn := me(t, s); id != want.ID || upn != want.UserPrincipalName {
			t.Errorf("GET /me as %q = %s %s, want %s %s", name, id, upn, want.ID, want.UserPrincipalName)
		}
	}
	var authorize, redeem int
	for _, r := range sb.Server.Requests() {
		switch {
		case strings.HasSuffix(r.Path, "/oauth2/v2.0/authorize"):
			authorize++
		case strings.HasSuffix(r.Path, "/oauth2/v2.0/token"):
			redeem++
		}
	}
	if authorize != 2 || redeem != 2 {
		t.Errorf("two sign-ins made %d authorize and %d token requests, want 2 and 2", authorize, redeem)
	}
}

// A user the tenant does not have is an error naming the user, before any
// request; so is an empty name.
func TestSignInUnknownUser(t *testing.T) {
	t.Parallel()
	sb := m365test.New(t)
	for _, name := range []string{"nobody", "adele@fabrikam.com", ""} {
		if _, err := sb.SignIn(t.Context(), name); err == nil || !strings.Contains(err.Error(), `"`+name+`"`) {
			t.Errorf("SignIn(%q) = %v, want an error naming the user", name, err)
		}
	}
	if n := len(sb.Server.Requests()); n != 0 {
		t.Errorf("%d requests sent for unknown users", n)
	}
}

// A test can sign users in through an App of its own, built from
// AppConfig over the store it wants; the tokens land in that store.
func TestSignInOwnApp(t *testing.T) {
	t.Parallel()
	sb := m365test.New(t, graphtest.WithRefreshTokenReuse())
	store := auth.NewMemoryStore()
	cfg := sb.AppConfig()
	cfg.Store, cfg.AllowPlaintextStore = store, true
	app, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sb.App = app
	s, err := sb.SignIn(t.Context(), "diego", scopes.Teams)
	if err != nil {
		t.Fatal(err)
	}
	if blob, _, err := store.Load(t.Context(), s.User.AccountID); err != nil || len(blob) == 0 {
		t.Errorf("store.Load(%s) = %d bytes, %v; want the tokens", s.User.AccountID, len(blob), err)
	}
	me(t, s)
}

// A user added to the demo tenant signs in like the demo users.
func TestSignInAddedUser(t *testing.T) {
	t.Parallel()
	sb := m365test.New(t)
	megan := sb.Demo.Tenant.AddUser("megan@contoso.com", "Megan Bowen")
	s, err := sb.SignIn(t.Context(), "megan", scopes.Calendar)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := me(t, s); id != megan.ID {
		t.Errorf("GET /me = %s, want %s", id, megan.ID)
	}
}
