package auth_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphclient/graphtest"
	"github.com/m365kit/m365kit/scopes"
)

const (
	clientID    = "6731de76-14a6-49ae-97bc-6eba6914391e"
	secret      = "graphtest-secret-value"
	redirectURL = "https://app.example.com/auth/callback"
)

// env is a fake Microsoft 365 with one consenting tenant and an App on it.
type env struct {
	srv    *graphtest.Server
	tenant *graphtest.Tenant
	adele  *graphtest.User
	store  auth.TokenStore
	raw    *auth.MemoryStore // under store, to look at what is stored
	app    *auth.App
}

func newEnv(t *testing.T, opts ...graphtest.Option) *env {
	t.Helper()
	srv := graphtest.New(t, opts...)
	srv.AddApp(graphtest.App{ClientID: clientID, ClientSecret: secret, RedirectURIs: []string{redirectURL}})
	tenant := srv.AddTenant("contoso.com")
	tenant.Grant(clientID, scopes.For(scopes.Calendar, scopes.Teams)...)
	e := &env{srv: srv, tenant: tenant, adele: tenant.AddUser("adele@contoso.com", "Adele Vance")}
	e.raw = auth.NewMemoryStore()
	sealed, err := auth.Sealed(e.raw, key(9))
	if err != nil {
		t.Fatal(err)
	}
	e.store = sealed
	e.app = e.newApp(t, nil)
	return e
}

// newApp returns another App over the same store, as another process has.
func (e *env) newApp(t *testing.T, edit func(*auth.Config)) *auth.App {
	t.Helper()
	cred, err := auth.Secret(secret)
	if err != nil {
		t.Fatal(err)
	}
	cfg := auth.Config{ClientID: clientID, Credential: cred, RedirectURL: redirectURL, Store: e.store, HTTPClient: e.srv.HTTPClient()}
	if edit != nil {
		edit(&cfg)
	}
	app, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// signIn runs a whole sign-in as the browser would and returns its result.
func (e *env) signIn(ctx context.Context, t *testing.T, app *auth.App, req auth.SignInRequest) (*auth.User, error) {
	t.Helper()
	u, p, err := app.SignInURL(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := e.srv.Browse(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	return app.CompleteSignIn(ctx, cb, p)
}

func TestSignInAndSilentToken(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	u, err := e.signIn(ctx, t, e.app, auth.SignInRequest{Features: []scopes.Feature{scopes.Calendar}, LoginHint: "adele@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", u)
	tok, err := e.app.TokenSource(u.AccountID, scopes.Calendar).Token(ctx)
	if err != nil || tok == "" {
		t.Fatalf("Token = %q, %v", tok, err)
	}
	calls := e.srv.TokenCalls()
	app2 := e.newApp(t, nil)
	tok2, err := app2.TokenSource(u.AccountID, scopes.Calendar).Token(ctx)
	if err != nil || tok2 != tok {
		t.Fatalf("Token from a new App = %q, %v", tok2, err)
	}
	if e.srv.TokenCalls() != calls {
		t.Error("token call")
	}
	_ = bytes.Contains
	_ = errors.Is
	_ = http.StatusOK
	_ = time.Now
}
