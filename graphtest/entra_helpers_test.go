package graphtest

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const (
	appClientID  = "6731de76-14a6-49ae-97bc-6eba6914391e"
	appSecret    = "s3cr3t-value"
	appRedirect  = "https://app.example.com/auth/callback"
	pkceVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk0123456789"
)

// entraFixture is a server with one work tenant (an admin and a user), the
// personal tenant and one registered app.
type entraFixture struct {
	srv    *Server
	tenant *Tenant
	admin  *User
	adele  *User
}

func newEntraFixture(t testing.TB, opts ...Option) entraFixture {
	t.Helper()
	srv := New(t, opts...)
	srv.AddApp(App{ClientID: appClientID, ClientSecret: appSecret, RedirectURIs: []string{appRedirect}})
	ten := srv.AddTenant("contoso.com")
	f := entraFixture{
		srv:    srv,
		tenant: ten,
		admin:  ten.AddUser("megan@contoso.com", "Megan Bowen", Admin()),
		adele:  ten.AddUser("adele@contoso.com", "Adele Vance"),
	}
	ten.Grant(appClientID, "User.Read", "Calendars.Read")
	return f
}

// challengeOf is the S256 PKCE challenge of verifier.
func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return b64.EncodeToString(sum[:])
}

// authURL is an authorize URL at authority with the usual parameters;
// extra overrides or adds parameters (an empty value removes one).
func authURL(authority string, extra map[string]string) string {
	q := url.Values{
		"client_id":             {appClientID},
		"response_type":         {"code"},
		"redirect_uri":          {appRedirect},
		"scope":                 {"openid profile offline_access https://graph.microsoft.com/User.Read"},
		"state":                 {"st-1"},
		"nonce":                 {"n-1"},
		"code_challenge":        {challengeOf(pkceVerifier)},
		"code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	return "https://" + LoginHost + "/" + authority + "/oauth2/v2.0/authorize?" + q.Encode()
}

// callback follows an authorize or consent URL and returns the callback's
// parameters (query or form).
func browseCallback(t *testing.T, srv *Server, rawURL string) url.Values {
	t.Helper()
	req, err := srv.Browse(t.Context(), rawURL)
	if err != nil {
		t.Fatalf("Browse: %v", err)
	}
	if !strings.HasPrefix(req.URL.String(), appRedirect) {
		t.Fatalf("callback went to %s, want %s", req.URL, appRedirect)
	}
	if err := req.ParseForm(); err != nil {
		t.Fatal(err)
	}
	return req.Form
}

// tokenForm is a code redemption form for code.
func tokenForm(code string) url.Values {
	return url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {appClientID},
		"client_secret": {appSecret},
		"code":          {code},
		"redirect_uri":  {appRedirect},
		"code_verifier": {pkceVerifier},
		"scope":         {"https://graph.microsoft.com/User.Read openid profile offline_access"},
		"client_info":   {"1"},
	}
}

// postToken posts form to the token endpoint of authority and decodes the
// JSON answer.
func postToken(t *testing.T, srv *Server, authority string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := srv.HTTPClient().PostForm("https://"+LoginHost+"/"+authority+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token response: %v", err)
	}
	return resp.StatusCode, body
}

// signIn runs the code flow for the user login_hint names and returns the
// token response.
func signInAs(t *testing.T, srv *Server, hint string) map[string]any {
	t.Helper()
	cb := browseCallback(t, srv, authURL("organizations", map[string]string{"login_hint": hint}))
	if cb.Get("code") == "" {
		t.Fatalf("no code in callback: %v", cb)
	}
	status, body := postToken(t, srv, "organizations", tokenForm(cb.Get("code")))
	if status != http.StatusOK {
		t.Fatalf("token status %d: %v", status, body)
	}
	return body
}

// getBearer sends a GET with the bearer token and decodes the answer.
func getBearer(t *testing.T, hc *http.Client, rawURL, token string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// claimsOf decodes a JWT's payload without verifying it.
func claimsOf(t *testing.T, raw string) map[string]any {
	t.Helper()
	p, err := parseJWT(raw)
	if err != nil {
		t.Fatalf("parse JWT: %v", err)
	}
	return p.claims
}
