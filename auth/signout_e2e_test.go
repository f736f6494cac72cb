package auth_test

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/scopes"
)

func TestSignOutRemovesTokens(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	u := e.mustSignIn(ctx, t, "adele@contoso.com")
	src := e.app.TokenSource(u.AccountID, scopes.Calendar)
	if _, err := src.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.app.SignOut(ctx, u.AccountID); err != nil {
		t.Fatal(err)
	}
	if keys := e.raw.Keys(); len(keys) != 0 {
		t.Errorf("tokens left in the store after sign-out: %v", keys)
	}
	for name, app := range map[string]*auth.App{"same app": e.app, "new app": e.newApp(t, nil)} {
		if _, err := app.TokenSource(u.AccountID, scopes.Calendar).Token(ctx); !errors.Is(err, auth.ErrNotSignedIn) {
			t.Errorf("%s: Token after sign-out: err = %v, want ErrNotSignedIn", name, err)
		}
	}
	if _, err := e.app.TokenSource("").Token(ctx); !errors.Is(err, auth.ErrNotSignedIn) {
		t.Errorf("empty account: err = %v", err)
	}
}

// signOutDuringRefresh is a transport that, once the token endpoint has
// answered a refresh, signs the account out through another App, as
// another process would while this one's refresh is under way.
type signOutDuringRefresh struct {
	next    http.RoundTripper
	signOut func()
	once    sync.Once
}

func (s *signOutDuringRefresh) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(req)
	if err == nil && req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/oauth2/v2.0/token") {
		s.once.Do(s.signOut)
	}
	return resp, err
}

// TestSignOutDuringRefreshSticks: a sign-out that lands while another
// App's refresh is under way is not undone by that refresh saving the
// rotated tokens, and the refreshing caller is told the user signed out.
func TestSignOutDuringRefreshSticks(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	u := e.mustSignIn(ctx, t, "adele@contoso.com")
	e.expireStored(ctx, t, u.AccountID)
	other := e.newApp(t, nil)
	hc := e.srv.HTTPClient()
	rt := &signOutDuringRefresh{next: hc.Transport, signOut: func() {
		if err := other.SignOut(ctx, u.AccountID); err != nil {
			t.Error(err)
		}
	}}
	app := e.newApp(t, func(c *auth.Config) { c.HTTPClient = &http.Client{Transport: rt, Timeout: hc.Timeout} })
	if _, err := app.TokenSource(u.AccountID, scopes.Calendar).Token(ctx); !errors.Is(err, auth.ErrNotSignedIn) {
		t.Errorf("refresh across a sign-out: err = %v, want ErrNotSignedIn", err)
	}
	if keys := e.raw.Keys(); len(keys) != 0 {
		t.Errorf("the refresh stored tokens again after the sign-out: %q", keys)
	}
}
