package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/examples/internal/programtest"
	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/internal/browsertest"
	"github.com/m365kit/m365kit/m365test"
)

// TestBrowser signs a user in through the fake authority's pages in
// chromium: the form_post callback must carry the SameSite=None pending
// cookie across sites; then a GET of the callback, sign-out, a personal
// account (which the fake lets through /organizations so that the app
// must refuse it) and a cross-site sign-out that must be refused.
func TestBrowser(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	var s *server
	base := browsertest.Serve(t, func(base string) http.Handler {
		d.Demo.App.RedirectURIs = []string{base + "/auth/callback"}
		d.Server.AddApp(d.Demo.App)
		cfg := d.AppConfig()
		store, err := auth.Sealed(auth.NewMemoryStore(), make([]byte, 32))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Store = store
		app, err := auth.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		d.App = app
		if s, err = newServer(setup.Env{Getenv: programtest.NoEnv, Demo: d, BrowserReachesDemo: true}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.close)
		return s.handler
	})
	b := browsertest.New(t, d.Server)
	const profile = `form[action="/signout"]`

	// signIn signs Adele in from the home page, through the form post.
	signIn := func(t *testing.T, tab *browsertest.Tab) {
		t.Helper()
		tab.Navigate(base + "/")
		tab.Follow("a.button", "#signin-next")
		if got := tab.Location(); !strings.HasPrefix(got, "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize?") {
			t.Fatalf("the button led to %s", got)
		}
		tab.Click(`input[value="adele@contoso.com"]`)
		tab.Follow("#signin-next", profile)
		if got := tab.Text("h1"); got != "Hello, Adele Vance" {
			t.Fatalf("after sign-in h1 = %q at %s", got, tab.Location())
		}
	}
	// signedIn reports the sessions the server holds.
	sessions := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.sessions)
	}

	t.Run("sign in and out", func(t *testing.T) {
		tab := b.Tab(t)
		tab.Navigate(base + "/")
		tab.Screenshot("signin-home")
		signIn(t, tab)
		if got := tab.Text("body"); !strings.Contains(got, "From Microsoft Graph (GET /me, on the user's behalf): Adele Vance") {
			t.Errorf("the profile page reads:\n%s", got)
		}
		if c := tab.Cookies(base); slices.Contains(c, auth.PendingCookieName) || !slices.Contains(c, sessionCookie) {
			t.Errorf("cookies after sign-in: %v", c)
		}
		tab.Screenshot("signin-profile")

		// The callback's address opened again goes home, signed in.
		tab.Navigate(base + "/auth/callback")
		if got := tab.Text("h1"); got != "Hello, Adele Vance" {
			t.Errorf("GET of the callback shows %q", got)
		}

		s.mu.Lock()
		var account string
		for _, sess := range s.sessions {
			account = sess.user.AccountID
		}
		s.mu.Unlock()
		tab.Follow(profile+" button", "a.button")
		if got := tab.Text("h1"); got != "Welcome" {
			t.Errorf("after sign-out h1 = %q", got)
		}
		if n := sessions(); n != 0 {
			t.Errorf("%d sessions left after sign-out", n)
		}
		if _, err := d.App.TokenSource(account).Token(t.Context()); err == nil {
			t.Error("the user's tokens survived sign-out")
		}

		// Signed out, the callback's address says what happened.
		tab.Navigate(base + "/auth/callback")
		if got := tab.Text("h1"); got != "This sign-in has already finished" {
			t.Errorf("GET of the callback signed out shows %q", got)
		}
	})

	t.Run("personal account refused", func(t *testing.T) {
		personal := d.Server.PersonalTenant()
		personal.AddUser("sam@outlook.com", "Sam Personal")
		personal.AllowUserConsent(true) // personal accounts consent for themselves
		tab := b.Tab(t)
		tab.Navigate(base + "/")
		tab.Follow("a.button", "#signin-next")
		tab.Type("#login-other", "sam@outlook.com")
		tab.Follow("#signin-next", "#consent-accept")
		if got := tab.Text("main"); !strings.Contains(got, "Sign in and read the signed-in user's own profile") || strings.Contains(got, "Accept for your organization") {
			t.Errorf("the consent prompt reads:\n%s", got)
		}
		tab.Screenshot("graphtest-user-consent")
		tab.Follow("#consent-accept", "h1")
		if got := tab.Text("body"); !strings.Contains(got, "Sign-in failed") || !strings.Contains(got, "use a work or school account") {
			t.Errorf("a personal account's sign-in reads:\n%s", got)
		}
		tab.Screenshot("signin-personal-refused")
	})

	t.Run("cross-site sign-out refused", func(t *testing.T) {
		tab := b.Tab(t)
		signIn(t, tab)
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><html lang="en"><title>Prize</title><form method="post" action="%s/signout"><button id="win">Claim your prize</button></form></html>`, base)
		}))
		defer evil.Close()
		tab.Navigate(evil.URL) // http://127.0.0.1:PORT: another site than http://localhost:PORT
		tab.Follow("#win", "h1")
		if got := tab.Text("h1"); got != "Request refused" {
			t.Errorf("the cross-site sign-out got %q", got)
		}
		if n := sessions(); n != 1 {
			t.Errorf("%d sessions after the refused sign-out, want 1", n)
		}
		tab.Navigate(base + "/")
		if got := tab.Text("h1"); got != "Hello, Adele Vance" {
			t.Errorf("after the refused sign-out h1 = %q", got)
		}
	})
}
