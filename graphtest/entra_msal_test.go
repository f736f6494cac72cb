package graphtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

var graphUserRead = []string{"https://graph.microsoft.com/User.Read"}

// msalClient is a confidential MSAL client at the production
// organizations authority, reaching the fake through HTTPClient.
func msalClient(t *testing.T, srv *Server, cred confidential.Credential) confidential.Client {
	t.Helper()
	c, err := confidential.New("https://"+LoginHost+"/organizations", appClientID, cred,
		confidential.WithHTTPClient(srv.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func secretCred(t *testing.T) confidential.Credential {
	t.Helper()
	cred, err := confidential.NewCredFromSecret(appSecret)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// msalSignIn runs the browser part with MSAL's authorize URL plus the
// parameters MSAL leaves to the app, and redeems the code with MSAL.
func msalSignIn(t *testing.T, srv *Server, c confidential.Client, hint string) confidential.AuthResult {
	t.Helper()
	raw, err := c.AuthCodeURL(t.Context(), appClientID, appRedirect,
		append([]string{"openid", "profile", "offline_access"}, graphUserRead...), confidential.WithLoginHint(hint))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("state", "st-msal")
	q.Set("nonce", "n-msal")
	q.Set("code_challenge", challengeOf(pkceVerifier))
	q.Set("code_challenge_method", "S256")
	u.RawQuery = q.Encode()
	cb := browseCallback(t, srv, u.String())
	if cb.Get("state") != "st-msal" {
		t.Fatalf("state = %q", cb.Get("state"))
	}
	res, err := c.AcquireTokenByAuthCode(t.Context(), cb.Get("code"), appRedirect, graphUserRead, confidential.WithChallenge(pkceVerifier))
	if err != nil {
		t.Fatalf("AcquireTokenByAuthCode: %v", err)
	}
	return res
}

func TestMSALCodeFlowAndCacheHit(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	c := msalClient(t, f.srv, secretCred(t))
	res := msalSignIn(t, f.srv, c, "adele@contoso.com")

	if res.Account.HomeAccountID != f.adele.AccountID() {
		t.Errorf("HomeAccountID = %q, want %q", res.Account.HomeAccountID, f.adele.AccountID())
	}
	if res.IDToken.TenantID != f.tenant.ID || res.IDToken.Oid != f.adele.ID || res.Account.PreferredUsername != "adele@contoso.com" {
		t.Errorf("ID token = %+v", res.IDToken)
	}
	if status, me := getBearer(t, f.srv.HTTPClient(), "https://graph.microsoft.com/v1.0/me", res.AccessToken); status != 200 || me["displayName"] != "Adele Vance" {
		t.Errorf("GET /me = %d %v", status, me)
	}

	calls := f.srv.TokenCalls()
	again, err := c.AcquireTokenSilent(t.Context(), graphUserRead, confidential.WithSilentAccount(res.Account))
	if err != nil {
		t.Fatalf("AcquireTokenSilent: %v", err)
	}
	if again.AccessToken != res.AccessToken || again.Metadata.TokenSource != confidential.TokenSourceCache || f.srv.TokenCalls() != calls {
		t.Errorf("silent call went to the token endpoint (%d calls, source %v)", f.srv.TokenCalls()-calls, again.Metadata.TokenSource)
	}
}

func TestMSALSilentRefreshRotates(t *testing.T) {
	t.Parallel()
	// Access tokens under five minutes are never cached by MSAL, so every
	// silent call refreshes; the fake invalidates each used refresh token,
	// so the second refresh proves MSAL stored the rotated one.
	f := newEntraFixture(t, WithTokenLifetime(2*time.Minute))
	c := msalClient(t, f.srv, secretCred(t))
	res := msalSignIn(t, f.srv, c, "adele@contoso.com")
	seen := map[string]bool{res.AccessToken: true}
	for i := range 3 {
		calls := f.srv.TokenCalls()
		r, err := c.AcquireTokenSilent(t.Context(), graphUserRead, confidential.WithSilentAccount(res.Account))
		if err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		if f.srv.TokenCalls() != calls+1 || r.Metadata.TokenSource != confidential.TokenSourceIdentityProvider || seen[r.AccessToken] {
			t.Fatalf("refresh %d: %d token calls, source %v, reused token %v", i, f.srv.TokenCalls()-calls, r.Metadata.TokenSource, seen[r.AccessToken])
		}
		seen[r.AccessToken] = true
	}
}

func TestMSALRefreshErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		act  func(f entraFixture)
		want []string
	}{
		{"revoked", func(f entraFixture) { f.srv.RevokeRefreshTokens(f.adele) }, []string{"invalid_grant", "50173", "bad_token"}},
		{"consent revoked", func(f entraFixture) { f.tenant.Revoke(appClientID, "User.Read") }, []string{"invalid_grant", "65001", "consent_required"}},
		{"mfa", func(f entraFixture) {
			f.srv.FailNextToken(ErrInteractionRequired(`{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`))
		}, []string{"interaction_required", "50076", "acrs"}},
		{"5xx", func(f entraFixture) { f.srv.FailNextToken5xx() }, []string{"503", "temporarily_unavailable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newEntraFixture(t, WithTokenLifetime(2*time.Minute))
			c := msalClient(t, f.srv, secretCred(t))
			res := msalSignIn(t, f.srv, c, "adele@contoso.com")
			tt.act(f)
			_, err := c.AcquireTokenSilent(t.Context(), graphUserRead, confidential.WithSilentAccount(res.Account))
			if err == nil {
				t.Fatal("silent refresh succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
		})
	}
}

// selfSigned returns a certificate for key.
func selfSigned(t *testing.T, key *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestMSALCertificateCredential(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	k, err := parseSigningKey() // any RSA key will do for the client
	if err != nil {
		t.Fatal(err)
	}
	cert := selfSigned(t, k.key)
	f.srv.AddApp(App{ClientID: appClientID, RedirectURIs: []string{appRedirect}, Certificate: cert})
	cred, err := confidential.NewCredFromCert([]*x509.Certificate{cert}, k.key)
	if err != nil {
		t.Fatal(err)
	}
	res := msalSignIn(t, f.srv, msalClient(t, f.srv, cred), "adele@contoso.com")
	if res.Account.HomeAccountID != f.adele.AccountID() {
		t.Errorf("HomeAccountID = %q", res.Account.HomeAccountID)
	}

	// A certificate the app did not register fails signature validation.
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := confidential.NewCredFromCert([]*x509.Certificate{selfSigned(t, other)}, other)
	if err != nil {
		t.Fatal(err)
	}
	c := msalClient(t, f.srv, bad)
	cb := browseCallback(t, f.srv, authURL("organizations", nil))
	_, err = c.AcquireTokenByAuthCode(t.Context(), cb.Get("code"), appRedirect, graphUserRead, confidential.WithChallenge(pkceVerifier))
	if err == nil || !strings.Contains(err.Error(), "700027") {
		t.Errorf("foreign certificate: err = %v, want AADSTS700027", err)
	}
}
