package auth_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/scopes"
)

// Entra puts the email claim in the ID token only for the email scope
// (graphtest does the same), and only when the user has an address. The
// SDK asks for email on every sign-in, so User.Email is set for a user
// with a mailbox; for one without, the claim is absent and the sign-in
// still succeeds with User.Email empty, the rest of the User intact.
func TestUserEmailFollowsTheEmailClaim(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	nomail := e.tenant.AddUser("kiosk@contoso.com", "Kiosk Account", graphtest.NoMailbox())

	signInURL, _, err := e.app.SignInURL(auth.SignInRequest{LoginHint: "adele@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := url.Parse(signInURL)
	if err != nil {
		t.Fatal(err)
	}
	asked := strings.Fields(parsed.Query().Get("scope"))
	for _, want := range []string{"openid", "profile", "email"} {
		if !slices.Contains(asked, want) {
			t.Errorf("sign-in scopes %v lack %s", asked, want)
		}
	}

	adele := e.mustSignIn(ctx, t, "adele@contoso.com")
	if adele.Email != "adele@contoso.com" {
		t.Errorf("adele: Email = %q, want adele@contoso.com", adele.Email)
	}

	u, err := e.signIn(ctx, t, e.app, nomail.UserPrincipalName, scopes.Calendar)
	if err != nil {
		t.Fatalf("sign-in without an email claim: %v", err)
	}
	if u.Email != "" {
		t.Errorf("Email = %q, want empty: the ID token has no email claim", u.Email)
	}
	if u.Name != "Kiosk Account" || u.Username != "kiosk@contoso.com" || u.AccountID != nomail.ID+"."+e.tenant.ID {
		t.Errorf("user = %+v, want name, username and account ID from the profile claims", u)
	}
	if _, err := e.app.TokenSource(u.AccountID, scopes.Calendar).Token(ctx); err != nil {
		t.Errorf("token for the user without email: %v", err)
	}
}
