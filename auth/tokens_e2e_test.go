package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/scopes"
)

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
	app := e.newApp(t, nil)
	auth.SetNow(app, func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(skew) })
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

// graphTokenSource is graphclient.TokenSource, restated so that auth's
// tests do not depend on graphclient: *auth.Source must satisfy it.
type graphTokenSource interface {
	Token(ctx context.Context) (string, error)
}

var _ graphTokenSource = (*auth.Source)(nil)

// TestErrorHoldsNoTokens: a refresh that fails keeps no stored tokens in
// its *Error, whichever way the error is printed.
func TestErrorHoldsNoTokens(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	u := e.mustSignIn(ctx, t, "adele@contoso.com")
	e.expireStored(ctx, t, u.AccountID)
	blob, _, err := e.store.Load(ctx, u.AccountID)
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
