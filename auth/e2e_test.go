package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/scopes"
)

// The end-to-end tests of auth run the App against graphtest's fake Entra
// ID over real sockets. This file holds their shared environment; the
// tests sit in signin_e2e_test.go, tokens_e2e_test.go,
// refresh_race_e2e_test.go and signout_e2e_test.go.

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
	store  auth.TokenStore   // sealed, what the App uses
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

// browse starts a sign-in and returns the callback request the browser
// sends back, with the Pending.
func (e *env) browse(ctx context.Context, t *testing.T, app *auth.App, req auth.SignInRequest) (*http.Request, auth.Pending) {
	t.Helper()
	u, p, err := app.SignInURL(req)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := e.srv.Browse(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	return cb, p
}

// signIn runs a whole sign-in as the browser would and returns its result.
func (e *env) signIn(ctx context.Context, t *testing.T, app *auth.App, hint string, fs ...scopes.Feature) (*auth.User, error) {
	t.Helper()
	cb, p := e.browse(ctx, t, app, auth.SignInRequest{Features: fs, LoginHint: hint})
	return app.CompleteSignIn(ctx, cb, p)
}

// mustSignIn signs adele (or hint) in with the calendar feature.
func (e *env) mustSignIn(ctx context.Context, t *testing.T, hint string) *auth.User {
	t.Helper()
	u, err := e.signIn(ctx, t, e.app, hint, scopes.Calendar)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// expireStored makes every access token stored for the account expired,
// as time passing would, so the next acquisition must refresh.
func (e *env) expireStored(ctx context.Context, t *testing.T, accountID string) {
	t.Helper()
	blob, _, err := e.store.Load(ctx, accountID)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]map[string]any
	if err := json.Unmarshal(blob, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc["AccessToken"]) == 0 {
		t.Fatal("no access token stored")
	}
	past := fmt.Sprint(time.Now().Add(-time.Hour).Unix())
	for _, at := range doc["AccessToken"] {
		at["expires_on"], at["extended_expires_on"] = past, past
	}
	blob, _ = json.Marshal(doc)
	if err := e.store.Save(ctx, accountID, blob, 0); err != nil {
		t.Fatal(err)
	}
}

// me calls Graph GET /v1.0/me with tok and returns the user's id.
func (e *env) me(ctx context.Context, t *testing.T, tok string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://graph.microsoft.com/v1.0/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := e.srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var me struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /me: %s", resp.Status)
	}
	_ = json.NewDecoder(resp.Body).Decode(&me)
	return me.ID
}

func loginCalls(s *graphtest.Server) []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Host == graphtest.LoginHost {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

func asError(t *testing.T, err error) *auth.Error {
	t.Helper()
	var e *auth.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *auth.Error", err, err)
	}
	return e
}
