package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphtest"
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
	u, p, err := app.SignInURL(ctx, req)
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
	blob, err := e.store.Load(ctx, accountID)
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
	if err := e.store.Save(ctx, accountID, blob); err != nil {
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

func TestSignInWithPKCE(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	raw, p, err := e.app.SignInURL(ctx, auth.SignInRequest{Features: []scopes.Feature{scopes.Calendar}, LoginHint: "adele@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	q := u.Query()
	for k, want := range map[string]string{
		"client_id": clientID, "response_type": "code", "redirect_uri": redirectURL, "response_mode": "form_post",
		"state": p.State, "nonce": p.Nonce, "code_challenge_method": "S256", "login_hint": "adele@contoso.com",
		"scope": strings.Join(scopes.For(scopes.Calendar), " "),
	} {
		if got := q.Get(k); got != want {
			t.Errorf("authorize URL %s = %q, want %q", k, got, want)
		}
	}
	if u.Host != graphtest.LoginHost || u.Path != "/organizations/oauth2/v2.0/authorize" {
		t.Errorf("authorize URL %s://%s%s, want the organizations authority", u.Scheme, u.Host, u.Path)
	}
	if q.Get("code_challenge") == "" || q.Get("code_challenge") == p.Verifier || strings.Contains(raw, p.Verifier) {
		t.Error("the URL must carry the S256 challenge, never the verifier")
	}
	cb, err := e.srv.Browse(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if cb.Method != http.MethodPost {
		t.Errorf("callback method %s, want POST (form_post)", cb.Method)
	}
	user, err := e.app.CompleteSignIn(ctx, cb, p)
	if err != nil {
		t.Fatal(err)
	}
	want := &auth.User{
		AccountID: e.adele.AccountID(), TenantID: e.tenant.ID, ObjectID: e.adele.ID,
		Name: "Adele Vance", Username: "adele@contoso.com", Email: "adele@contoso.com",
		GrantedScopes: []string{"User.Read", "Calendars.ReadWrite", "OnlineMeetings.Read"},
	}
	if diff := cmp.Diff(want, user, cmpopts.IgnoreFields(auth.User{}, "GrantedScopes")); diff != "" {
		t.Errorf("User (-want +got):\n%s", diff)
	}
	for _, s := range want.GrantedScopes {
		if !containsFold(user.GrantedScopes, s) {
			t.Errorf("GrantedScopes %v lack %s", user.GrantedScopes, s)
		}
	}
	// The tokens are stored sealed under the account ID, and work.
	if diff := cmp.Diff([]string{user.AccountID}, e.raw.Keys()); diff != "" {
		t.Errorf("stored keys (-want +got):\n%s", diff)
	}
	blob, _ := e.raw.Load(ctx, user.AccountID)
	tok, err := e.app.TokenSource(user.AccountID, scopes.Calendar).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(blob, []byte(tok)) || bytes.Contains(blob, []byte("RefreshToken")) {
		t.Error("the store holds tokens in clear text")
	}
	if id := e.me(ctx, t, tok); id != e.adele.ID {
		t.Errorf("GET /me with the token = user %s, want %s", id, e.adele.ID)
	}
	// The code was redeemed once: replaying the callback fails.
	if _, err := e.app.CompleteSignIn(ctx, cb, p); !errors.Is(err, auth.ErrSignInFailed) || asError(t, err).AADSTS() != 54005 {
		t.Errorf("replayed callback: err = %v, want ErrSignInFailed AADSTS54005", err)
	}
}

func TestSignInRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(e *env)
		edit  func(cb *http.Request, p *auth.Pending)
		want  error
	}{
		{name: "tampered state", want: auth.ErrInvalidState,
			edit: func(cb *http.Request, _ *auth.Pending) { setForm(cb, "state", "forged") }},
		{name: "oversized callback form", want: auth.ErrInvalidState,
			edit: func(cb *http.Request, p *auth.Pending) {
				body := url.Values{"state": {p.State}, "code": {"code"}, "pad": {strings.Repeat("a", 100<<10)}}.Encode()
				cb.Method = http.MethodPost
				cb.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				cb.Body, cb.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
				cb.Form, cb.PostForm = nil, nil
			}},
		{name: "pending of another sign-in", want: auth.ErrInvalidState,
			edit: func(_ *http.Request, p *auth.Pending) { p.State = "another" }},
		{name: "expired pending sign-in", want: auth.ErrInvalidState,
			edit: func(_ *http.Request, p *auth.Pending) { p.Expires = time.Now().Add(-time.Second) }},
		{name: "nonce mismatch", want: auth.ErrInvalidIDToken,
			setup: func(e *env) { e.srv.NextIDToken(func(c map[string]any) { c["nonce"] = "replayed-nonce" }) }},
		{name: "no nonce", want: auth.ErrInvalidIDToken,
			setup: func(e *env) { e.srv.NextIDToken(func(c map[string]any) { delete(c, "nonce") }) }},
		{name: "bad signature", want: auth.ErrInvalidIDToken,
			setup: func(e *env) { e.srv.BadSignatureNext() }},
		{name: "wrong audience", want: auth.ErrInvalidIDToken,
			setup: func(e *env) { e.srv.NextIDToken(func(c map[string]any) { c["aud"] = "another-app" }) }},
		{name: "expired ID token", want: auth.ErrInvalidIDToken,
			setup: func(e *env) {
				e.srv.NextIDToken(func(c map[string]any) { c["exp"] = time.Now().Add(-10 * time.Minute).Unix() })
			}},
		{name: "not yet valid", want: auth.ErrInvalidIDToken,
			setup: func(e *env) {
				e.srv.NextIDToken(func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() })
			}},
		{name: "issuer of another tenant", want: auth.ErrInvalidIDToken,
			setup: func(e *env) {
				e.srv.NextIDToken(func(c map[string]any) {
					c["iss"] = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
				})
			}},
		{name: "issuer on another host", want: auth.ErrInvalidIDToken,
			setup: func(e *env) {
				e.srv.NextIDToken(func(c map[string]any) { c["iss"] = "https://sts.example.org/" + c["tid"].(string) + "/v2.0" })
			}},
		{name: "personal guest (idp live.com)", want: auth.ErrAccountNotAllowed,
			setup: func(e *env) { e.srv.NextIDToken(func(c map[string]any) { c["idp"] = "live.com" }) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			e := newEnv(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			cb, p := e.browse(ctx, t, e.app, auth.SignInRequest{Features: []scopes.Feature{scopes.Calendar}, LoginHint: "adele@contoso.com"})
			code := cb.FormValue("code")
			if code == "" {
				t.Fatal("the callback carries no code")
			}
			if tt.edit != nil {
				tt.edit(cb, &p)
			}
			calls := e.srv.TokenCalls()
			u, err := e.app.CompleteSignIn(ctx, cb, p)
			if !errors.Is(err, tt.want) {
				t.Fatalf("CompleteSignIn = %+v, %v; want %v", u, err, tt.want)
			}
			if keys := e.raw.Keys(); len(keys) != 0 {
				t.Errorf("a refused sign-in stored tokens under %v", keys)
			}
			if errors.Is(err, auth.ErrInvalidState) && e.srv.TokenCalls() != calls {
				t.Error("the code was redeemed although the state did not match")
			}
			if strings.Contains(err.Error(), p.Verifier) || strings.Contains(err.Error(), code) {
				t.Errorf("error text leaks a secret: %v", err)
			}
		})
	}
}

func setForm(r *http.Request, k, v string) {
	_ = r.ParseForm()
	r.Form.Set(k, v)
	r.PostForm.Set(k, v)
}

func TestSignInAccountsNotAllowed(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	personal := e.srv.PersonalTenant()
	personal.Grant(clientID, scopes.For(scopes.Calendar)...)
	personal.AddUser("bob@outlook.com", "Bob")
	guests := e.srv.AddTenant("fabrikam.com")
	guests.Grant(clientID, scopes.For(scopes.Calendar)...)
	guests.AddUser("carol_outlook.com#EXT#@fabrikam.com", "Carol", graphtest.AsGuest("live.com"))
	guests.AddUser("dan@fabrikam.com", "Dan")

	denyFabrikam := e.newApp(t, func(c *auth.Config) {
		c.AllowTenant = func(tid string) bool { return tid != guests.ID }
	})
	allowGuests := e.newApp(t, func(c *auth.Config) { c.AllowPersonalGuests = true })
	tests := []struct {
		name string
		app  *auth.App
		hint string
		want error
	}{
		{"personal account", e.app, "bob@outlook.com", auth.ErrAccountNotAllowed},
		{"personal account, guests allowed", allowGuests, "bob@outlook.com", auth.ErrAccountNotAllowed},
		{"personal guest", e.app, "carol_outlook.com#EXT#@fabrikam.com", auth.ErrAccountNotAllowed},
		{"personal guest, guests allowed", allowGuests, "carol_outlook.com#EXT#@fabrikam.com", nil},
		{"tenant AllowTenant refuses", denyFabrikam, "dan@fabrikam.com", auth.ErrAccountNotAllowed},
		{"tenant AllowTenant accepts", denyFabrikam, "adele@contoso.com", nil},
	}
	for _, tt := range tests {
		_, err := e.signIn(ctx, t, tt.app, tt.hint, scopes.Calendar)
		if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// Mail.Read was never granted and users may not consent. An interactive
// sign-in then stops at Entra's "Need admin approval" page: no callback
// reaches the app. A silent one (prompt=none) comes back with
// consent_required, which CompleteSignIn reports as ErrConsentRequired.
func TestSignInWithoutConsent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	u, _, err := e.app.SignInURL(ctx, auth.SignInRequest{Features: []scopes.Feature{scopes.Mail}, LoginHint: "adele@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	if cb, err := e.srv.Browse(ctx, u); err == nil || !strings.Contains(err.Error(), "Need admin approval") {
		t.Fatalf("interactive sign-in: Browse = %v, %v; want Entra's Need admin approval page", cb, err)
	}
	cb, p := e.browse(ctx, t, e.app, auth.SignInRequest{Features: []scopes.Feature{scopes.Mail}, LoginHint: "adele@contoso.com", Prompt: "none"})
	_, err = e.app.CompleteSignIn(ctx, cb, p)
	if !errors.Is(err, auth.ErrConsentRequired) {
		t.Fatalf("err = %v, want ErrConsentRequired", err)
	}
	if n := asError(t, err).AADSTS(); n != 65001 {
		t.Errorf("AADSTS = %d, want 65001", n)
	}
}

func TestSilentTokenFromNewAppMakesNoRequest(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	u := e.mustSignIn(ctx, t, "adele@contoso.com")
	first, err := e.app.TokenSource(u.AccountID, scopes.Calendar).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.ResetRequests()
	app2 := e.newApp(t, nil)
	got, err := app2.TokenSource(u.AccountID, scopes.Calendar).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got != first {
		t.Error("a new App over the same store got another token")
	}
	// A narrower feature set is served by the same cached token.
	if _, err := app2.TokenSource(u.AccountID).Token(ctx); err != nil {
		t.Fatal(err)
	}
	if calls := loginCalls(e.srv); len(calls) != 0 {
		t.Errorf("silent acquisition from the store went to the network: %v", calls)
	}
}

func TestForcedExpiryRefreshesOnceFor50Callers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t) // refresh tokens are single-use: only a stored rotation works twice
	u := e.mustSignIn(ctx, t, "adele@contoso.com")
	old, _ := e.app.TokenSource(u.AccountID, scopes.Calendar).Token(ctx)
	for round := range 2 {
		e.expireStored(ctx, t, u.AccountID)
		app := e.newApp(t, nil) // no in-process cache
		src := app.TokenSource(u.AccountID, scopes.Calendar)
		before := e.srv.TokenCalls()
		var wg sync.WaitGroup
		toks := make([]string, 50)
		errs := make([]error, 50)
		for i := range 50 {
			wg.Go(func() { toks[i], errs[i] = src.Token(ctx) })
		}
		wg.Wait()
		for i := range 50 {
			if errs[i] != nil {
				t.Fatalf("round %d caller %d: %v", round, i, errs[i])
			}
			if toks[i] != toks[0] {
				t.Fatalf("round %d: callers got different tokens", round)
			}
		}
		if n := e.srv.TokenCalls() - before; n != 1 {
			t.Errorf("round %d: %d token requests for 50 concurrent callers, want 1", round, n)
		}
		if toks[0] == old {
			t.Errorf("round %d: the expired token was handed out", round)
		}
		old = toks[0]
	}
}

func TestRefreshErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fail   func(e *env)
		want   error
		aadsts int
		check  func(t *testing.T, ae *auth.Error)
	}{
		{name: "revoked refresh token", want: auth.ErrReauthRequired, aadsts: 50173,
			fail: func(e *env) { e.srv.RevokeRefreshTokens(e.adele) }},
		{name: "expired through inactivity", want: auth.ErrReauthRequired, aadsts: 700082,
			fail: func(e *env) { e.srv.FailNextToken(graphtest.ErrRefreshExpired()) }},
		{name: "MFA now required", want: auth.ErrReauthRequired, aadsts: 50076,
			fail: func(e *env) {
				e.srv.FailNextToken(graphtest.ErrInteractionRequired(`{"access_token":{"capolids":{"essential":true}}}`))
			},
			check: func(t *testing.T, ae *auth.Error) {
				if ae.Claims == "" {
					t.Error("the claims challenge is lost")
				}
			}},
		{name: "secret expired", want: nil, aadsts: 7000222,
			fail: func(e *env) { e.srv.FailNextToken(graphtest.ErrSecretExpired()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			e := newEnv(t)
			u := e.mustSignIn(ctx, t, "adele@contoso.com")
			e.expireStored(ctx, t, u.AccountID)
			tt.fail(e)
			_, err := e.newApp(t, nil).TokenSource(u.AccountID, scopes.Calendar).Token(ctx)
			ae := asError(t, err)
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if tt.want == nil && (errors.Is(err, auth.ErrTransient) || errors.Is(err, auth.ErrReauthRequired)) {
				t.Errorf("err = %v: an app misconfiguration is neither transient nor the user's to fix", err)
			}
			if ae.AADSTS() != tt.aadsts {
				t.Errorf("AADSTS = %d, want %d", ae.AADSTS(), tt.aadsts)
			}
			if tt.check != nil {
				tt.check(t, ae)
			}
		})
	}
}

func TestConsentRequiredNamesPermissions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// Entra keeps a refresh token valid after a failed (or any) use; the
	// fake burns it on first use unless told to reuse.
	e := newEnv(t, graphtest.WithRefreshTokenReuse())
	u := e.mustSignIn(ctx, t, "adele@contoso.com")
	_, err := e.app.TokenSource(u.AccountID, scopes.Mail).Token(ctx)
	if !errors.Is(err, auth.ErrConsentRequired) {
		t.Fatalf("err = %v, want ErrConsentRequired", err)
	}
	ae := asError(t, err)
	var names []string
	for _, p := range ae.Missing {
		names = append(names, p.Name)
	}
	if diff := cmp.Diff([]string{"Mail.Read"}, names); diff != "" {
		t.Errorf("Missing (-want +got):\n%s", diff)
	}
	if ae.AADSTS() != 65001 || !strings.Contains(err.Error(), "Mail.Read") {
		t.Errorf("err = %v (AADSTS %d), want AADSTS65001 naming Mail.Read", err, ae.AADSTS())
	}
	// Consent granted later: the same source works.
	e.tenant.Grant(clientID, "Mail.Read")
	if _, err := e.app.TokenSource(u.AccountID, scopes.Mail).Token(ctx); err != nil {
		t.Errorf("after the admin granted Mail.Read: %v", err)
	}
}

func TestTransientRefreshFailureIsRetried(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	u := e.mustSignIn(ctx, t, "adele@contoso.com")
	e.expireStored(ctx, t, u.AccountID)
	e.srv.FailNextToken5xx()
	before := e.srv.TokenCalls()
	if _, err := e.newApp(t, nil).TokenSource(u.AccountID, scopes.Calendar).Token(ctx); err != nil {
		t.Fatalf("a single 503 was not retried: %v", err)
	}
	if n := e.srv.TokenCalls() - before; n != 2 {
		t.Errorf("%d token requests, want 2 (the 503 and its retry)", n)
	}
}

func TestCodeRedemptionIsNeverRetried(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	cb, p := e.browse(ctx, t, e.app, auth.SignInRequest{Features: []scopes.Feature{scopes.Calendar}, LoginHint: "adele@contoso.com"})
	e.srv.FailNextToken5xx()
	before := e.srv.TokenCalls()
	_, err := e.app.CompleteSignIn(ctx, cb, p)
	if !errors.Is(err, auth.ErrSignInFailed) {
		t.Errorf("err = %v, want ErrSignInFailed", err)
	}
	if n := e.srv.TokenCalls() - before; n != 1 {
		t.Errorf("%d token requests for one code, want 1", n)
	}
}

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

func TestUsersNeverSeeEachOthersTokens(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	users := []*graphtest.User{e.adele}
	for i := range 3 {
		users = append(users, e.tenant.AddUser(fmt.Sprintf("user%d@contoso.com", i), fmt.Sprintf("User %d", i)))
	}
	accounts := make([]string, len(users))
	for i, gu := range users {
		accounts[i] = e.mustSignIn(ctx, t, gu.UserPrincipalName).AccountID
	}
	e.expireStored(ctx, t, accounts[1]) // one user refreshes in the middle of it all
	app := e.newApp(t, nil)
	var mu sync.Mutex
	seen := map[string]int{} // token -> user index
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Go(func() {
			n := i % len(users)
			tok, err := app.TokenSource(accounts[n], scopes.Calendar).Token(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if prev, ok := seen[tok]; ok && prev != n {
				t.Errorf("users %d and %d got the same token", prev, n)
			}
			seen[tok] = n
		})
	}
	wg.Wait()
	for tok, n := range seen {
		if id := e.me(ctx, t, tok); id != users[n].ID {
			t.Errorf("user %d's token belongs to %s", n, id)
		}
	}
}

func TestHandlers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	var got *auth.User
	start, callback, err := e.app.Handlers(auth.HandlerConfig{
		CookieKey: key(3), Features: []scopes.Feature{scopes.Calendar},
		SignedIn: func(w http.ResponseWriter, r *http.Request, u *auth.User, _ auth.Pending) {
			got = u
			http.Redirect(w, r, "/app", http.StatusSeeOther)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	start.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, "/auth/start?login_hint=adele@contoso.com", nil))
	if rec.Code != http.StatusFound {
		t.Fatalf("start answered %d", rec.Code)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || !cookies[0].Secure {
		t.Fatalf("start set cookies %v, want one HttpOnly Secure cookie", cookies)
	}
	cb, err := e.srv.Browse(ctx, rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}

	// Without the cookie (another browser) the callback refuses.
	rec = httptest.NewRecorder()
	callback.ServeHTTP(rec, cb.Clone(ctx))
	if rec.Code != http.StatusBadRequest || got != nil {
		t.Errorf("callback without cookie answered %d", rec.Code)
	}

	cb.AddCookie(cookies[0])
	rec = httptest.NewRecorder()
	callback.ServeHTTP(rec, cb)
	if rec.Code != http.StatusSeeOther || got == nil || got.AccountID != e.adele.AccountID() {
		t.Fatalf("callback answered %d, user %+v", rec.Code, got)
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func TestOAuth2TokenSource(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	u := e.mustSignIn(ctx, t, "adele@contoso.com")
	src := e.app.TokenSource(u.AccountID, scopes.Calendar)
	if diff := cmp.Diff([]string{"User.Read", "Calendars.ReadWrite", "OnlineMeetings.Read"}, src.Scopes()); diff != "" {
		t.Errorf("Scopes (-want +got):\n%s", diff)
	}
	if src.AccountID() != u.AccountID {
		t.Errorf("AccountID = %q", src.AccountID())
	}
	tok, err := src.OAuth2(ctx).Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || !tok.Valid() || time.Until(tok.Expiry) < 50*time.Minute {
		t.Errorf("oauth2 token: type %q, valid %v, expiry in %v", tok.TokenType, tok.Valid(), time.Until(tok.Expiry))
	}
	if id := e.me(ctx, t, tok.AccessToken); id != e.adele.ID {
		t.Errorf("token belongs to %s", id)
	}
	gone := e.app.TokenSource("00000000-0000-0000-0000-000000000000."+e.tenant.ID, scopes.Calendar)
	if _, err := gone.OAuth2(ctx).Token(); !errors.Is(err, auth.ErrNotSignedIn) {
		t.Errorf("unknown account: err = %v, want ErrNotSignedIn", err)
	}
}

// TestClock proves the App reads time from Config.Clock: a server whose
// clock runs two hours behind issues ID tokens the App finds expired.
func TestClock(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	late := e.newApp(t, func(c *auth.Config) {
		c.Clock = func() time.Time { return time.Now().Add(2 * time.Hour) }
		c.SignInTTL = 3 * time.Hour
	})
	_, err := e.signIn(ctx, t, late, "adele@contoso.com", scopes.Calendar)
	if !errors.Is(err, auth.ErrInvalidIDToken) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("err = %v, want an expired ID token", err)
	}
	// The pending sign-in expires by the same clock.
	cb, p := e.browse(ctx, t, e.app, auth.SignInRequest{Features: []scopes.Feature{scopes.Calendar}, LoginHint: "adele@contoso.com"})
	later := e.newApp(t, func(c *auth.Config) { c.Clock = func() time.Time { return time.Now().Add(11 * time.Minute) } })
	if _, err := later.CompleteSignIn(ctx, cb, p); !errors.Is(err, auth.ErrInvalidState) {
		t.Errorf("sign-in completed after 11 minutes: err = %v", err)
	}
}

func TestTokenHonoursContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.mustSignIn(t.Context(), t, "adele@contoso.com")
	e.expireStored(t.Context(), t, u.AccountID)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := e.newApp(t, nil).TokenSource(u.AccountID, scopes.Calendar).Token(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
	if err := e.app.SignOut(ctx, u.AccountID); !errors.Is(err, context.Canceled) {
		t.Errorf("SignOut with a cancelled context: err = %v", err)
	}
}

// TestRefreshReusesMetadata proves one App fetches the authority's OpenID
// metadata once, not once per refresh, although every operation builds a
// new MSAL client.
func TestRefreshReusesMetadata(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	u := e.mustSignIn(ctx, t, "adele@contoso.com")
	var mu sync.Mutex
	skew := time.Duration(0)
	app := e.newApp(t, func(c *auth.Config) {
		c.Clock = func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(skew) }
	})
	src := app.TokenSource(u.AccountID, scopes.Calendar)
	e.srv.ResetRequests()
	for i := range 3 {
		e.expireStored(ctx, t, u.AccountID)
		mu.Lock()
		skew += 2 * time.Hour // past the in-process cache's copy
		mu.Unlock()
		if _, err := src.Token(ctx); err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
	}
	var meta, token int
	for _, c := range loginCalls(e.srv) {
		switch {
		case strings.HasSuffix(c, "/.well-known/openid-configuration"):
			meta++
		case strings.HasSuffix(c, "/oauth2/v2.0/token"):
			token++
		}
	}
	if meta != 1 || token != 3 {
		t.Errorf("3 refreshes made %d metadata and %d token requests, want 1 and 3", meta, token)
	}
}

// staleStore answers the first Load of a key with an old value, as a
// process that read the store just before another one refreshed would.
type staleStore struct {
	auth.TokenStore
	mu    sync.Mutex
	stale map[string][]byte
}

func (s *staleStore) Load(ctx context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	v, ok := s.stale[key]
	delete(s.stale, key)
	s.mu.Unlock()
	if ok {
		return v, nil
	}
	return s.TokenStore.Load(ctx, key)
}

// TestRefreshRaceAcrossProcesses: two processes hold the same expired
// tokens; the first refreshes (rotating the refresh token), the second
// then tries the old refresh token, which the fake refuses once used. The
// second must notice the stored tokens changed and use them, not tell the
// user to sign in again.
func TestRefreshRaceAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	u := e.mustSignIn(ctx, t, "adele@contoso.com")
	e.expireStored(ctx, t, u.AccountID)
	snapshot, err := e.store.Load(ctx, u.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	first, err := e.newApp(t, nil).TokenSource(u.AccountID, scopes.Calendar).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stale := &staleStore{TokenStore: e.store, stale: map[string][]byte{u.AccountID: snapshot}}
	second := e.newApp(t, func(c *auth.Config) { c.Store, c.AllowPlaintextStore = stale, true })
	got, err := second.TokenSource(u.AccountID, scopes.Calendar).Token(ctx)
	if err != nil {
		t.Fatalf("second process: %v", err)
	}
	if got != first {
		t.Error("the second process did not pick up the first one's refreshed token")
	}
}

// graphTokenSource is graphclient.TokenSource, restated so that auth's
// tests do not depend on graphclient: *auth.Source must satisfy it.
type graphTokenSource interface {
	Token(ctx context.Context) (string, error)
}

var _ graphTokenSource = (*auth.Source)(nil)

// gateStore holds every Load of the inner store until open is closed, and
// says when the first one arrived. A Load whose ctx ends first fails.
type gateStore struct {
	auth.TokenStore
	entered chan struct{}
	once    sync.Once
	open    chan struct{}
	loads   atomic.Int32
}

func (s *gateStore) Load(ctx context.Context, key string) ([]byte, error) {
	s.loads.Add(1)
	s.once.Do(func() { close(s.entered) })
	select {
	case <-s.open:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.TokenStore.Load(ctx, key)
}

// gatedApp returns a new App whose store Loads wait for gate.open.
func (e *env) gatedApp(t *testing.T) (*auth.App, *gateStore) {
	t.Helper()
	gate := &gateStore{TokenStore: e.store, entered: make(chan struct{}), open: make(chan struct{})}
	return e.newApp(t, func(c *auth.Config) { c.Store, c.AllowPlaintextStore = gate, true }), gate
}

// TestCancelledCallerDoesNotFailOthers: the caller that started a refresh
// gives up while another caller waits for the same refresh. The giver-up
// gets its context's error at once; the refresh goes on for the other
// caller, is not started over, and its rotated refresh token is saved.
func TestCancelledCallerDoesNotFailOthers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	u := e.mustSignIn(ctx, t, "adele@contoso.com")
	e.expireStored(ctx, t, u.AccountID)
	app, gate := e.gatedApp(t)
	src := app.TokenSource(u.AccountID, scopes.Calendar)
	before := e.srv.TokenCalls()

	type result struct {
		tok string
		err error
	}
	first, second := make(chan result, 1), make(chan result, 1)
	ctx1, cancel1 := context.WithCancel(ctx)
	go func() { tok, err := src.Token(ctx1); first <- result{tok, err} }()
	<-gate.entered // the refresh is under way, held in the store
	go func() { tok, err := src.Token(ctx); second <- result{tok, err} }()
	for auth.FlightWaiters(app, src) < 2 {
		runtime.Gosched()
	}
	cancel1()
	if r := <-first; !errors.Is(r.err, context.Canceled) || r.tok != "" {
		t.Fatalf("cancelled caller: %q, %v; want context.Canceled", r.tok, r.err)
	}
	close(gate.open)
	r := <-second
	if r.err != nil {
		t.Fatalf("waiting caller failed with the other caller's cancellation: %v", r.err)
	}
	if got := e.me(ctx, t, r.tok); got != e.adele.ID {
		t.Errorf("token is for %q, want %q", got, e.adele.ID)
	}
	if n := e.srv.TokenCalls() - before; n != 1 {
		t.Errorf("%d token requests, want 1 (the refresh was started over)", n)
	}
	// The rotated tokens were saved: a new process gets a token from the
	// store without asking Entra.
	before = e.srv.TokenCalls()
	if _, err := e.newApp(t, nil).TokenSource(u.AccountID, scopes.Calendar).Token(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.TokenCalls() - before; n != 0 {
		t.Errorf("a new App made %d token requests, want 0: the refreshed tokens were not saved", n)
	}
	// One refresh, uncontested, for comparison: MSAL reads the store
	// more than once per refresh.
	e.expireStored(ctx, t, u.AccountID)
	plain, open := e.gatedApp(t)
	close(open.open)
	if _, err := plain.TokenSource(u.AccountID, scopes.Calendar).Token(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := gate.loads.Load(), open.loads.Load(); got != want {
		t.Errorf("%d store loads, want %d as for one refresh (the refresh was started over)", got, want)
	}
}

// TestAllCallersGone: when the only caller gives up, the acquisition is
// cancelled and forgotten; the next caller starts a new one and succeeds.
func TestAllCallersGone(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	u := e.mustSignIn(ctx, t, "adele@contoso.com")
	e.expireStored(ctx, t, u.AccountID)
	app, gate := e.gatedApp(t)
	src := app.TokenSource(u.AccountID, scopes.Calendar)

	ctx1, cancel1 := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := src.Token(ctx1); done <- err }()
	<-gate.entered
	cancel1()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v, want context.Canceled", err)
	}
	if n := auth.FlightWaiters(app, src); n != 0 {
		t.Fatalf("%d waiters left on a forgotten acquisition", n)
	}
	close(gate.open)
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatalf("next caller: %v", err)
	}
	if got := e.me(ctx, t, tok); got != e.adele.ID {
		t.Errorf("token is for %q, want %q", got, e.adele.ID)
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

// TestErrorHoldsNoTokens: a refresh that fails keeps no stored tokens in
// its *Error, whichever way the error is printed.
func TestErrorHoldsNoTokens(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	u := e.mustSignIn(ctx, t, "adele@contoso.com")
	e.expireStored(ctx, t, u.AccountID)
	blob, err := e.store.Load(ctx, u.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		RefreshToken map[string]struct {
			Secret string `json:"secret"`
		} `json:"RefreshToken"`
	}
	if err := json.Unmarshal(blob, &doc); err != nil || len(doc.RefreshToken) == 0 {
		t.Fatalf("no refresh token stored (%v)", err)
	}
	e.srv.RevokeRefreshTokens(e.adele)
	_, err = e.newApp(t, nil).TokenSource(u.AccountID, scopes.Calendar).Token(ctx)
	if !errors.Is(err, auth.ErrReauthRequired) {
		t.Fatalf("err = %v, want ErrReauthRequired", err)
	}
	for _, rt := range doc.RefreshToken {
		for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
			if out := fmt.Sprintf(format, err); strings.Contains(out, rt.Secret) {
				t.Errorf("%s of the error holds the refresh token", format)
			}
		}
		var ae *auth.Error
		if errors.As(err, &ae) {
			// %#v prints a []byte field as []byte{0x61, 0x62, ...}.
			asBytes := strings.TrimSuffix(strings.TrimPrefix(fmt.Sprintf("%#v", []byte(rt.Secret)), "[]byte{"), "}")
			if out := fmt.Sprintf("%#v", *ae); strings.Contains(out, rt.Secret) || strings.Contains(out, asBytes) {
				t.Errorf("the Error struct printed with %s holds the refresh token", "%#v")
			}
		}
	}
}
