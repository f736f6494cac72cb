package auth_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/scopes"
)

func TestSignInWithPKCE(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	raw, p, err := e.app.SignInURL(auth.SignInRequest{Features: []scopes.Feature{scopes.Calendar}, LoginHint: "adele@contoso.com"})
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
	blob, _, _ := e.raw.Load(ctx, user.AccountID)
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
	u, _, err := e.app.SignInURL(auth.SignInRequest{Features: []scopes.Feature{scopes.Mail}, LoginHint: "adele@contoso.com"})
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

// TestClock proves the App reads ID-token expiry from its clock: a server
// whose clock runs two hours behind issues ID tokens the App finds expired.
func TestClock(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	late := e.newApp(t, func(c *auth.Config) { c.SignInTTL = 3 * time.Hour })
	auth.SetNow(late, func() time.Time { return time.Now().Add(2 * time.Hour) })
	_, err := e.signIn(ctx, t, late, "adele@contoso.com", scopes.Calendar)
	if !errors.Is(err, auth.ErrInvalidIDToken) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("err = %v, want an expired ID token", err)
	}
}

// TestPendingSignInExpires: a Pending is refused once SignInTTL has passed.
// The sign-in URL is made in one testing/synctest bubble and completed in
// another (every bubble starts at the same instant); the browse between
// them talks to the fake over real sockets, which a bubble cannot wait
// for, and CompleteSignIn refuses the expired Pending before any I/O.
func TestPendingSignInExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req := auth.SignInRequest{Features: []scopes.Feature{scopes.Calendar}, LoginHint: "adele@contoso.com"}
	var (
		u string
		p auth.Pending
	)
	synctest.Test(t, func(t *testing.T) {
		var err error
		if u, p, err = e.app.SignInURL(req); err != nil {
			t.Fatal(err)
		}
	})
	cb, err := e.srv.Browse(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(11 * time.Minute) // past the default SignInTTL of 10 minutes
		if _, err := e.app.CompleteSignIn(t.Context(), cb, p); !errors.Is(err, auth.ErrInvalidState) {
			t.Errorf("sign-in completed after 11 minutes: err = %v", err)
		}
	})
}
