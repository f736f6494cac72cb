package graphtest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// assertion returns a client assertion signed with the package's key.
func assertion(t *testing.T, claims map[string]any, corrupt bool) string {
	t.Helper()
	k, err := parseSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := k.sign(claims, corrupt)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestClientAssertion(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	k, err := parseSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	f.srv.AddApp(App{ClientID: "cert-app", RedirectURIs: []string{appRedirect}, Certificate: selfSigned(t, k.key)})
	f.tenant.Grant("cert-app", "User.Read")
	f.srv.AddApp(App{ClientID: "any-cert-app", RedirectURIs: []string{appRedirect}})
	f.tenant.Grant("any-cert-app", "User.Read")
	tokenURL := "https://login.microsoftonline.com/organizations/oauth2/v2.0/token"
	good := func(client string) map[string]any {
		return map[string]any{"iss": client, "sub": client, "aud": tokenURL, "exp": time.Now().Add(5 * time.Minute).Unix(), "jti": "j1"}
	}
	tests := []struct {
		name   string
		client string
		claims func(map[string]any)
		form   func(url.Values)
		bad    bool
		want   int
	}{
		{name: "registered certificate", client: "cert-app"},
		{name: "no certificate registered", client: "any-cert-app", bad: true},
		{name: "bad signature", client: "cert-app", bad: true, want: 700027},
		{name: "wrong audience", client: "cert-app", claims: func(c map[string]any) { c["aud"] = "https://example.com/token" }, want: 700021},
		{name: "expired", client: "cert-app", claims: func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }, want: 700024},
		{name: "other issuer", client: "cert-app", claims: func(c map[string]any) { c["iss"] = "someone" }, want: 50027},
		{name: "wrong type", client: "cert-app", form: func(v url.Values) { v.Set("client_assertion_type", "password") }, want: 50027},
		{name: "not a JWT", client: "cert-app", form: func(v url.Values) { v.Set("client_assertion", "a.b") }, want: 50027},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cb := browseCallback(t, f.srv, authURL("organizations", map[string]string{"client_id": tt.client}))
			claims := good(tt.client)
			if tt.claims != nil {
				tt.claims(claims)
			}
			form := tokenForm(cb.Get("code"))
			form.Del("client_secret")
			form.Set("client_id", tt.client)
			form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
			form.Set("client_assertion", assertion(t, claims, tt.bad))
			if tt.form != nil {
				tt.form(form)
			}
			status, body := postToken(t, f.srv, "organizations", form)
			if tt.want == 0 {
				if status != 200 {
					t.Errorf("status %d: %v", status, body)
				}
				return
			}
			tokenError(t, status, body, http.StatusUnauthorized, "invalid_client", tt.want)
		})
	}
}

func TestRefreshEdgeCases(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	other := f.srv.AddTenant("fabrikam.com")
	rt := signInAs(t, f.srv, "adele@contoso.com")["refresh_token"].(string)

	status, body := postToken(t, f.srv, "organizations", refreshForm("1.Anot-issued", "User.Read"))
	tokenError(t, status, body, 400, "invalid_grant", 9002313)

	status, body = postToken(t, f.srv, other.ID, refreshForm(rt, "User.Read"))
	tokenError(t, status, body, 400, "invalid_grant", 50020)

	// Refreshing at the user's own tenant works (MSAL does this with WithTenantID).
	if status, body := postToken(t, f.srv, f.tenant.ID, refreshForm(rt, "User.Read")); status != 200 {
		t.Errorf("refresh at the home tenant: %d %v", status, body)
	}
}

func TestTokenEndpointUnknownTenantAndGrant(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	status, body := postToken(t, f.srv, "nowhere.example", refreshForm("x", "User.Read"))
	tokenError(t, status, body, 400, "invalid_request", 90002)
	form := refreshForm("x", "User.Read")
	form.Del("grant_type")
	status, body = postToken(t, f.srv, "organizations", form)
	tokenError(t, status, body, 400, "invalid_request", 900144)
}

func TestKeysEndpoint(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	for _, tenant := range []string{"organizations", "common", f.tenant.ID} {
		if keys := publicKeys(t, f.srv, tenant); len(keys) != 1 {
			t.Errorf("%s: %d keys", tenant, len(keys))
		}
	}
	if status, _ := getBearer(t, f.srv.HTTPClient(), "https://"+LoginHost+"/nowhere.example/discovery/v2.0/keys", ""); status != 400 {
		t.Errorf("unknown tenant: %d", status)
	}
}

func TestHTTPClientRefusesOtherHosts(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	for _, u := range []string{"https://example.com/", "https://graph.microsoft.us/v1.0/me", "https://login.microsoftonline.de/common/v2.0/.well-known/openid-configuration"} {
		_, err := f.srv.HTTPClient().Get(u)
		if err == nil || !strings.Contains(err.Error(), "refusing to dial") {
			t.Errorf("%s: err = %v, want a refusal", u, err)
		}
	}
	// The listener's own address works too, for code given URL().
	resp, err := f.srv.HTTPClient().Get(f.srv.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("listener address: %d, want 421 (no such host)", resp.StatusCode)
	}
}

func TestFaultKindString(t *testing.T) {
	t.Parallel()
	want := []string{"Throttle", "Unavailable", "GatewayTimeout", "DropConnection", "TruncateBody", "SyncReset", "Latency", "FaultKind(99)"}
	for i, k := range []FaultKind{Throttle, Unavailable, GatewayTimeout, DropConnection, TruncateBody, SyncReset, Latency, 99} {
		if k.String() != want[i] {
			t.Errorf("%d: %q, want %q", i, k.String(), want[i])
		}
	}
}

func TestAdminConsentErrors(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	if _, err := f.srv.Browse(t.Context(), consentURL("organizations", map[string]string{"client_id": "nobody"})); err == nil || !strings.Contains(err.Error(), "AADSTS700016") {
		t.Errorf("unknown client: %v", err)
	}
	if _, err := f.srv.Browse(t.Context(), consentURL("organizations", map[string]string{"redirect_uri": "https://evil.example/"})); err == nil || !strings.Contains(err.Error(), "AADSTS50011") {
		t.Errorf("unregistered redirect: %v", err)
	}
	cb := browseCallback(t, f.srv, consentURL("consumers", nil))
	if cb.Get("error") != "invalid_request" || !strings.HasPrefix(cb.Get("error_description"), "AADSTS9002332:") {
		t.Errorf("consumers: %v", cb)
	}
	cb = browseCallback(t, f.srv, consentURL("organizations", map[string]string{"scope": "https://management.azure.com/.default"}))
	if cb.Get("error") != "invalid_request" {
		t.Errorf("other resource: %v", cb)
	}
	lone := f.srv.AddTenant("fabrikam.com")
	lone.AddUser("user@fabrikam.com", "No Admin")
	cb = browseCallback(t, f.srv, consentURL(lone.ID, nil))
	if cb.Get("error") != "access_denied" || !strings.HasPrefix(cb.Get("error_description"), "AADSTS90094:") {
		t.Errorf("tenant without admin: %v", cb)
	}
}

func TestConcurrentRefreshOneWins(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	rt := signInAs(t, f.srv, "adele@contoso.com")["refresh_token"].(string)
	const n = 8
	statuses := make(chan int, n)
	for range n {
		go func() {
			resp, err := f.srv.HTTPClient().PostForm("https://"+LoginHost+"/organizations/oauth2/v2.0/token", refreshForm(rt, "User.Read"))
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	ok := 0
	for range n {
		if <-statuses == 200 {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent refreshes with one token succeeded, want 1", ok, n)
	}
}

func TestPersonalTenantIsOne(t *testing.T) {
	t.Parallel()
	srv := New(t)
	got := make(chan *Tenant, 4)
	for range 4 {
		go func() { got <- srv.PersonalTenant() }()
	}
	first := <-got
	for range 3 {
		if <-got != first {
			t.Error("concurrent PersonalTenant calls made two tenants")
		}
	}
	if n := len(srv.Tenants()); n != 1 {
		t.Errorf("%d tenants, want 1", n)
	}
}

func TestCodeExpiresWithTheClock(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newEntraFixture(t, WithClock(clock))
	cb := browseCallback(t, f.srv, authURL("organizations", nil))
	mu.Lock()
	now = now.Add(10*time.Minute + time.Second)
	mu.Unlock()
	status, body := postToken(t, f.srv, "organizations", tokenForm(cb.Get("code")))
	tokenError(t, status, body, 400, "invalid_grant", 70008)
}

func TestPromptNoneNeverConsents(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	f.tenant.AllowUserConsent(true)
	cb := browseCallback(t, f.srv, authURL("organizations", map[string]string{"scope": "openid Mail.Read", "login_hint": "adele@contoso.com", "prompt": "none"}))
	if cb.Get("error") != "consent_required" || !strings.HasPrefix(cb.Get("error_description"), "AADSTS65001:") {
		t.Errorf("callback = %v", cb)
	}
	if slices.Contains(f.srv.granted(f.adele, appClientID), "Mail.Read") {
		t.Error("prompt=none recorded a consent")
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	req, err := f.srv.Browse(t.Context(), "https://"+LoginHost+"/organizations/oauth2/v2.0/logout?post_logout_redirect_uri="+url.QueryEscape("https://app.example.com/bye")+"&state=s9")
	if err != nil {
		t.Fatal(err)
	}
	if req.URL.String() != "https://app.example.com/bye?state=s9" {
		t.Errorf("redirect to %s", req.URL)
	}
	if status, _ := getBearer(t, f.srv.HTTPClient(), "https://"+LoginHost+"/organizations/oauth2/v2.0/logout", ""); status != 200 {
		t.Errorf("logout page: %d", status)
	}
}
