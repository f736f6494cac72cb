package graphtest

import (
	"crypto/rsa"
	"encoding/json"
	"github.com/m365kit/m365kit/scopes"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMetadata(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tid := f.tenant.ID
	tests := []struct {
		authority  string
		wantStatus int
		issuer     string
		token      string
	}{
		{"organizations", 200, "https://login.microsoftonline.com/{tenantid}/v2.0", "https://login.microsoftonline.com/organizations/oauth2/v2.0/token"},
		{"common", 200, "https://login.microsoftonline.com/{tenantid}/v2.0", "https://login.microsoftonline.com/common/oauth2/v2.0/token"},
		{tid, 200, "https://login.microsoftonline.com/" + tid + "/v2.0", "https://login.microsoftonline.com/" + tid + "/oauth2/v2.0/token"},
		{"contoso.com", 200, "https://login.microsoftonline.com/" + tid + "/v2.0", "https://login.microsoftonline.com/" + tid + "/oauth2/v2.0/token"},
		{"consumers", 200, "https://login.microsoftonline.com/" + PersonalTenantID + "/v2.0", "https://login.microsoftonline.com/" + PersonalTenantID + "/oauth2/v2.0/token"},
		{"fabrikam.com", 400, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.authority, func(t *testing.T) {
			t.Parallel()
			status, doc := getBearer(t, f.srv.HTTPClient(), "https://"+LoginHost+"/"+tt.authority+"/v2.0/.well-known/openid-configuration", "")
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %v", status, tt.wantStatus, doc)
			}
			if status != 200 {
				if !strings.HasPrefix(doc["error_description"].(string), "AADSTS90002:") {
					t.Errorf("error_description = %q, want AADSTS90002", doc["error_description"])
				}
				return
			}
			if doc["issuer"] != tt.issuer || doc["token_endpoint"] != tt.token {
				t.Errorf("issuer %v, token_endpoint %v; want %v, %v", doc["issuer"], doc["token_endpoint"], tt.issuer, tt.token)
			}
			for _, k := range []string{"authorization_endpoint", "jwks_uri"} {
				if !strings.HasPrefix(doc[k].(string), "https://"+LoginHost+"/") {
					t.Errorf("%s = %v", k, doc[k])
				}
			}
		})
	}
}

func TestInstanceDiscovery(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	status, doc := getBearer(t, f.srv.HTTPClient(), "https://"+LoginHost+"/common/discovery/instance?api-version=1.1&authorization_endpoint=https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize", "")
	if status != 200 || doc["tenant_discovery_endpoint"] == nil || len(doc["metadata"].([]any)) != 1 {
		t.Fatalf("status %d, doc %v", status, doc)
	}
}

// publicKeys fetches the JWKS of the tenant and returns its keys by kid.
func publicKeys(t *testing.T, srv *Server, tenant string) map[string]*rsa.PublicKey {
	t.Helper()
	status, doc := getBearer(t, srv.HTTPClient(), "https://"+LoginHost+"/"+tenant+"/discovery/v2.0/keys", "")
	if status != 200 {
		t.Fatalf("keys status %d", status)
	}
	out := map[string]*rsa.PublicKey{}
	for _, k := range doc["keys"].([]any) {
		m := k.(map[string]any)
		n, _ := b64.DecodeString(m["n"].(string))
		e, _ := b64.DecodeString(m["e"].(string))
		out[m["kid"].(string)] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return out
}

// verifyIDToken checks the ID token's signature against the JWKS.
func verifyIDToken(t *testing.T, srv *Server, raw string) error {
	t.Helper()
	p, err := parseJWT(raw)
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := p.header["kid"].(string)
	pub := publicKeys(t, srv, "organizations")[kid]
	if pub == nil {
		t.Fatalf("kid %q not in JWKS", kid)
	}
	return p.verify(pub)
}

func TestCodeFlow(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := signInAs(t, f.srv, "adele@contoso.com")

	if tok["token_type"] != "Bearer" || tok["refresh_token"] == nil || tok["expires_in"].(float64) != 3600 {
		t.Errorf("token response = %v", tok)
	}
	if got, want := tok["scope"], "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Calendars.Read openid profile offline_access"; got != want {
		t.Errorf("scope = %q, want %q", got, want)
	}
	ci, err := b64.DecodeString(tok["client_info"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]string
	_ = json.Unmarshal(ci, &info)
	if diff := cmp.Diff(map[string]string{"uid": f.adele.ID, "utid": f.tenant.ID}, info); diff != "" {
		t.Errorf("client_info (-want +got):\n%s", diff)
	}

	idt := tok["id_token"].(string)
	if err := verifyIDToken(t, f.srv, idt); err != nil {
		t.Errorf("ID token signature: %v", err)
	}
	c := claimsOf(t, idt)
	want := map[string]any{
		"aud": appClientID, "iss": "https://login.microsoftonline.com/" + f.tenant.ID + "/v2.0",
		"tid": f.tenant.ID, "oid": f.adele.ID, "nonce": "n-1", "ver": "2.0", "name": "Adele Vance",
		"preferred_username": "adele@contoso.com",
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("claim %s = %v, want %v", k, c[k], v)
		}
	}
	if e, ok := c["email"]; ok {
		t.Errorf("claim email = %v without the email scope", e)
	}
	if c["exp"].(float64) <= c["iat"].(float64) || c["sub"] == "" {
		t.Errorf("exp %v iat %v sub %v", c["exp"], c["iat"], c["sub"])
	}

	// The access token works on Graph for the signed-in user.
	status, me := getBearer(t, f.srv.HTTPClient(), "https://graph.microsoft.com/v1.0/me", tok["access_token"].(string))
	if status != 200 || me["id"] != f.adele.ID || me["userPrincipalName"] != "adele@contoso.com" {
		t.Errorf("GET /me = %d %v", status, me)
	}
}

func TestCodeFlowWithoutHintSignsInFirstUser(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	cb := browseCallback(t, f.srv, authURL(f.tenant.ID, nil))
	if cb.Get("state") != "st-1" {
		t.Errorf("state = %q", cb.Get("state"))
	}
	_, tok := postToken(t, f.srv, f.tenant.ID, tokenForm(cb.Get("code")))
	if got := claimsOf(t, tok["id_token"].(string))["oid"]; got != f.admin.ID {
		t.Errorf("oid = %v, want the tenant's first user %v", got, f.admin.ID)
	}
}

func TestFormPost(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	req, err := f.srv.Browse(t.Context(), authURL("organizations", map[string]string{"response_mode": "form_post", "state": "a&b<c>"}))
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodPost || req.URL.String() != appRedirect {
		t.Fatalf("callback %s %s, want POST %s", req.Method, req.URL, appRedirect)
	}
	if err := req.ParseForm(); err != nil {
		t.Fatal(err)
	}
	if req.PostForm.Get("state") != "a&b<c>" || req.PostForm.Get("code") == "" {
		t.Errorf("form = %v", req.PostForm)
	}
}

func TestPersonalAccount(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	msa := f.srv.PersonalTenant().AddUser("sam@outlook.com", "Sam Personal")
	f.srv.PersonalTenant().AllowUserConsent(true)
	for _, authority := range []string{"common", "consumers", "organizations"} {
		t.Run(authority, func(t *testing.T) {
			cb := browseCallback(t, f.srv, authURL(authority, map[string]string{"login_hint": "sam@outlook.com"}))
			_, tok := postToken(t, f.srv, authority, tokenForm(cb.Get("code")))
			c := claimsOf(t, tok["id_token"].(string))
			if c["tid"] != PersonalTenantID || c["oid"] != msa.ID || c["iss"] != "https://login.microsoftonline.com/"+PersonalTenantID+"/v2.0" {
				t.Errorf("claims = %v", c)
			}
		})
	}
}

func TestGuestIDP(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	f.tenant.AddUser("sam_outlook.com#EXT#@contoso.com", "Sam Guest", AsGuest("live.com"))
	tok := signInAs(t, f.srv, "sam_outlook.com#EXT#@contoso.com")
	c := claimsOf(t, tok["id_token"].(string))
	if c["idp"] != "live.com" || c["tid"] != f.tenant.ID {
		t.Errorf("idp %v tid %v", c["idp"], c["tid"])
	}
}

func TestAuthorizeErrorPages(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tests := []struct {
		name      string
		authority string
		extra     map[string]string
		want      string
	}{
		{"unknown client", "organizations", map[string]string{"client_id": "00000000-0000-0000-0000-000000000001"}, "AADSTS700016"},
		{"unregistered redirect", "organizations", map[string]string{"redirect_uri": "https://evil.example/cb"}, "AADSTS50011"},
		{"unknown tenant", "fabrikam.com", nil, "AADSTS90002"},
		{"unknown user", "organizations", map[string]string{"login_hint": "nobody@contoso.com"}, "AADSTS50034"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.srv.Browse(t.Context(), authURL(tt.authority, tt.extra))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Browse error = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestAuthorizeErrorRedirects(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tests := []struct {
		name  string
		extra map[string]string
		error string
		code  string
	}{
		{"no PKCE", map[string]string{"code_challenge": "", "code_challenge_method": ""}, "invalid_request", "AADSTS9002325"},
		{"plain PKCE", map[string]string{"code_challenge_method": "plain"}, "invalid_request", "AADSTS9002325"},
		{"implicit", map[string]string{"response_type": "token"}, "unsupported_response_type", "AADSTS700054"},
		{"no scope", map[string]string{"scope": ""}, "invalid_request", "AADSTS900144"},
		{"other resource", map[string]string{"scope": "openid https://management.azure.com/user_impersonation"}, "invalid_scope", "AADSTS70011"},
		{"ungranted scope, prompt=none", map[string]string{"scope": "openid Mail.Read", "login_hint": "adele@contoso.com", "prompt": "none"}, "consent_required", "AADSTS65001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cb := browseCallback(t, f.srv, authURL("organizations", tt.extra))
			if cb.Get("error") != tt.error || !strings.HasPrefix(cb.Get("error_description"), tt.code+":") || cb.Get("state") != "st-1" || cb.Has("code") {
				t.Errorf("callback = %v, want error %s with %s", cb, tt.error, tt.code)
			}
		})
	}
}

// tokenError asserts an Entra error body.
func tokenError(t *testing.T, status int, body map[string]any, wantStatus int, wantError string, wantCode int) {
	t.Helper()
	if status != wantStatus || body["error"] != wantError {
		t.Fatalf("status %d error %v, want %d %s: %v", status, body["error"], wantStatus, wantError, body)
	}
	codes, _ := body["error_codes"].([]any)
	if len(codes) != 1 || codes[0].(float64) != float64(wantCode) {
		t.Errorf("error_codes = %v, want [%d]", body["error_codes"], wantCode)
	}
	desc, _ := body["error_description"].(string)
	if !strings.HasPrefix(desc, "AADSTS") || !strings.Contains(desc, "Trace ID: ") {
		t.Errorf("error_description = %q", desc)
	}
	for _, k := range []string{"timestamp", "trace_id", "correlation_id"} {
		if s, _ := body[k].(string); s == "" {
			t.Errorf("%s missing from %v", k, body)
		}
	}
}

func TestTokenErrors(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	code := func() string { return browseCallback(t, f.srv, authURL("organizations", nil)).Get("code") }
	tests := []struct {
		name   string
		form   func() url.Values
		status int
		error  string
		code   int
	}{
		{"wrong verifier", func() url.Values {
			v := tokenForm(code())
			v.Set("code_verifier", "not-the-verifier")
			return v
		}, 400, "invalid_grant", 501481},
		{"no verifier", func() url.Values {
			v := tokenForm(code())
			v.Del("code_verifier")
			return v
		}, 400, "invalid_grant", 501481},
		{"other redirect", func() url.Values {
			v := tokenForm(code())
			v.Set("redirect_uri", "https://app.example.com/other")
			return v
		}, 400, "invalid_grant", 50011},
		{"bad secret", func() url.Values {
			v := tokenForm(code())
			v.Set("client_secret", "guess")
			return v
		}, 401, "invalid_client", 7000215},
		{"no secret", func() url.Values {
			v := tokenForm(code())
			v.Del("client_secret")
			return v
		}, 401, "invalid_client", 7000218},
		{"unknown client", func() url.Values {
			v := tokenForm(code())
			v.Set("client_id", "00000000-0000-0000-0000-000000000001")
			return v
		}, 400, "unauthorized_client", 700016},
		{"unknown code", func() url.Values { return tokenForm("0.Anot-a-code") }, 400, "invalid_grant", 9002313},
		{"ungranted scope", func() url.Values {
			v := tokenForm(code())
			v.Set("scope", "Mail.Read openid offline_access")
			return v
		}, 400, "invalid_grant", 65001},
		{"client credentials", func() url.Values {
			v := tokenForm("")
			v.Set("grant_type", "client_credentials")
			return v
		}, 400, "unsupported_grant_type", 70003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, body := postToken(t, f.srv, "organizations", tt.form())
			tokenError(t, status, body, tt.status, tt.error, tt.code)
		})
	}
}

func TestCodeIsSingleUse(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	cb := browseCallback(t, f.srv, authURL("organizations", nil))
	if status, body := postToken(t, f.srv, "organizations", tokenForm(cb.Get("code"))); status != 200 {
		t.Fatalf("first redemption: %d %v", status, body)
	}
	status, body := postToken(t, f.srv, "organizations", tokenForm(cb.Get("code")))
	tokenError(t, status, body, 400, "invalid_grant", 54005)
}

func TestCodeRedeemedAtOtherTenant(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	other := f.srv.AddTenant("fabrikam.com")
	cb := browseCallback(t, f.srv, authURL("organizations", nil))
	status, body := postToken(t, f.srv, other.ID, tokenForm(cb.Get("code")))
	tokenError(t, status, body, 400, "invalid_grant", 700005)
}

func refreshForm(rt, scope string) url.Values {
	return url.Values{
		"grant_type": {"refresh_token"}, "client_id": {appClientID}, "client_secret": {appSecret},
		"refresh_token": {rt}, "scope": {scope}, "client_info": {"1"},
	}
}

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	rt1 := signInAs(t, f.srv, "adele@contoso.com")["refresh_token"].(string)

	status, tok := postToken(t, f.srv, "organizations", refreshForm(rt1, "User.Read openid offline_access"))
	if status != 200 {
		t.Fatalf("refresh: %d %v", status, tok)
	}
	rt2 := tok["refresh_token"].(string)
	if rt2 == "" || rt2 == rt1 {
		t.Fatalf("refresh token not rotated: %q", rt2)
	}
	if _, ok := claimsOf(t, tok["id_token"].(string))["nonce"]; ok {
		t.Error("a refreshed ID token carries a nonce")
	}
	status, body := postToken(t, f.srv, "organizations", refreshForm(rt1, "User.Read openid offline_access"))
	tokenError(t, status, body, 400, "invalid_grant", 70000)
	if status, _ := postToken(t, f.srv, "organizations", refreshForm(rt2, "User.Read openid offline_access")); status != 200 {
		t.Errorf("rotated token refused: %d", status)
	}
}

func TestRefreshTokenReuse(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t, WithRefreshTokenReuse())
	rt := signInAs(t, f.srv, "adele@contoso.com")["refresh_token"].(string)
	for i := range 2 {
		if status, body := postToken(t, f.srv, "organizations", refreshForm(rt, "User.Read")); status != 200 {
			t.Fatalf("refresh %d: %d %v", i, status, body)
		}
	}
}

func TestRevokeRefreshTokens(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := signInAs(t, f.srv, "adele@contoso.com")
	f.srv.RevokeRefreshTokens(f.adele)
	status, body := postToken(t, f.srv, "organizations", refreshForm(tok["refresh_token"].(string), "User.Read"))
	tokenError(t, status, body, 400, "invalid_grant", 50173)
	if body["suberror"] != "bad_token" {
		t.Errorf("suberror = %v", body["suberror"])
	}
	// The access token lives on until it expires.
	if status, _ := getBearer(t, f.srv.HTTPClient(), "https://graph.microsoft.com/v1.0/me", tok["access_token"].(string)); status != 200 {
		t.Errorf("access token after revocation: %d", status)
	}
}

func TestConsentEnforced(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	mail := map[string]string{"scope": "openid offline_access Mail.Read", "login_hint": "adele@contoso.com"}

	// Nobody granted Mail.Read and users may not consent: an interactive
	// sign-in stops at Entra's "Need admin approval" page, and the app
	// hears nothing.
	if req, err := f.srv.Browse(t.Context(), authURL("organizations", mail)); err == nil || !strings.Contains(err.Error(), "Need admin approval") || !strings.Contains(err.Error(), "AADSTS90094") {
		t.Fatalf("interactive sign-in: Browse = %v, %v; want the Need admin approval page (AADSTS90094)", req, err)
	}
	// Only a silent one (prompt=none) comes back, with consent_required.
	mail["prompt"] = "none"
	cb := browseCallback(t, f.srv, authURL("organizations", mail))
	if cb.Get("error") != "consent_required" || !strings.HasPrefix(cb.Get("error_description"), "AADSTS65001:") {
		t.Fatalf("prompt=none: callback = %v", cb)
	}
	delete(mail, "prompt")

	// With user consent allowed Adele consents for herself only.
	f.tenant.AllowUserConsent(true)
	cb = browseCallback(t, f.srv, authURL("organizations", mail))
	if cb.Get("code") == "" {
		t.Fatalf("callback = %v", cb)
	}
	if slices.Contains(f.tenant.Granted(appClientID), "Mail.Read") {
		t.Error("a user's consent became a tenant-wide grant")
	}
	form := tokenForm(cb.Get("code"))
	form.Set("scope", "Mail.Read openid offline_access")
	if status, body := postToken(t, f.srv, "organizations", form); status != 200 {
		t.Fatalf("redeem after user consent: %d %v", status, body)
	}

	// An admin-only permission still needs an administrator: the page
	// again, or consent_required for prompt=none.
	adminOnly := map[string]string{"scope": "openid User.Read.All", "login_hint": "adele@contoso.com"}
	if req, err := f.srv.Browse(t.Context(), authURL("organizations", adminOnly)); err == nil || !strings.Contains(err.Error(), "Need admin approval") || !strings.Contains(err.Error(), "AADSTS90094") {
		t.Errorf("admin-only scope: Browse = %v, %v; want the Need admin approval page", req, err)
	}
	adminOnly["prompt"] = "none"
	cb = browseCallback(t, f.srv, authURL("organizations", adminOnly))
	if cb.Get("error") != "consent_required" || !strings.HasPrefix(cb.Get("error_description"), "AADSTS65001:") {
		t.Errorf("admin-only scope, prompt=none: callback = %v", cb)
	}
}

func TestAdminPromptConsentGrantsTenant(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	cb := browseCallback(t, f.srv, authURL("organizations", map[string]string{"scope": "openid Mail.Read", "login_hint": "megan@contoso.com", "prompt": "consent"}))
	if cb.Get("code") == "" {
		t.Fatalf("callback = %v", cb)
	}
	if !slices.Contains(f.tenant.Granted(appClientID), "Mail.Read") {
		t.Errorf("granted = %v, want Mail.Read for the tenant", f.tenant.Granted(appClientID))
	}
}

func TestRefreshAfterRevokedConsent(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	rt := signInAs(t, f.srv, "adele@contoso.com")["refresh_token"].(string)
	f.tenant.Revoke(appClientID, "Calendars.Read")
	status, body := postToken(t, f.srv, "organizations", refreshForm(rt, "Calendars.Read openid offline_access"))
	tokenError(t, status, body, 400, "invalid_grant", 65001)
	if body["suberror"] != "consent_required" {
		t.Errorf("suberror = %v", body["suberror"])
	}
	// The failed refresh did not use the token up: after a new grant it works.
	f.tenant.Grant(appClientID, "Calendars.Read")
	if status, body := postToken(t, f.srv, "organizations", refreshForm(rt, "Calendars.Read openid offline_access")); status != 200 {
		t.Errorf("refresh after re-consent: %d %v", status, body)
	}
}

func consentURL(authority string, extra map[string]string) string {
	q := url.Values{"client_id": {appClientID}, "redirect_uri": {appRedirect}, "state": {"c-1"},
		"scope": {"https://graph.microsoft.com/Mail.Read https://graph.microsoft.com/Calendars.ReadWrite openid"}}
	for k, v := range extra {
		q.Set(k, v)
	}
	return "https://" + LoginHost + "/" + authority + "/v2.0/adminconsent?" + q.Encode()
}

func TestAdminConsent(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	cb := browseCallback(t, f.srv, consentURL("organizations", nil))
	want := url.Values{
		"admin_consent": {"True"}, "tenant": {f.tenant.ID}, "state": {"c-1"},
		"scope": {"https://graph.microsoft.com/Mail.Read https://graph.microsoft.com/Calendars.ReadWrite openid"},
	}
	if diff := cmp.Diff(want, cb); diff != "" {
		t.Errorf("callback (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"User.Read", "Calendars.Read", "Mail.Read", "Calendars.ReadWrite"}, f.tenant.Granted(appClientID)); diff != "" {
		t.Errorf("granted (-want +got):\n%s", diff)
	}
}

func TestAdminConsentDefaultScope(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	f.srv.AddApp(App{ClientID: "app-2", RedirectURIs: []string{appRedirect}, Scopes: []string{"User.Read", "Chat.Read"}})
	cb := browseCallback(t, f.srv, consentURL(f.tenant.ID, map[string]string{"client_id": "app-2", "scope": "https://graph.microsoft.com/.default"}))
	if cb.Get("scope") != "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Chat.Read" {
		t.Errorf("scope = %q", cb.Get("scope"))
	}
}

func TestAdminConsentRefused(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	f.srv.DeclineNextConsent()
	cb := browseCallback(t, f.srv, consentURL("organizations", nil))
	if cb.Get("error") != "access_denied" || !strings.HasPrefix(cb.Get("error_description"), "AADSTS65004: User declined to consent") || cb.Get("state") != "c-1" || cb.Get("admin_consent") != "True" {
		t.Errorf("declined: callback = %v", cb)
	}
	if slices.Contains(f.tenant.Granted(appClientID), "Mail.Read") {
		t.Error("a declined consent was recorded")
	}
	cb = browseCallback(t, f.srv, consentURL("organizations", map[string]string{"login_hint": "adele@contoso.com"}))
	if cb.Get("error") != "access_denied" {
		t.Errorf("non-admin: callback = %v", cb)
	}
	// The decline was one-shot.
	if cb := browseCallback(t, f.srv, consentURL("organizations", nil)); cb.Get("admin_consent") != "True" || cb.Has("error") {
		t.Errorf("after decline: callback = %v", cb)
	}
}

func TestInjectedTokenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		e        EntraError
		status   int
		error    string
		code     int
		suberror string
	}{
		{"revoked", ErrRevoked(), 400, "invalid_grant", 50173, "bad_token"},
		{"mfa", ErrInteractionRequired(`{"access_token":{"capolids":{"essential":true,"values":["1"]}}}`), 400, "interaction_required", 50076, ""},
		{"consent", ErrConsentRequired("Mail.Read"), 400, "invalid_grant", 65001, "consent_required"},
		{"refresh expired", ErrRefreshExpired(), 400, "invalid_grant", 700082, ""},
		{"secret expired", ErrSecretExpired(), 401, "invalid_client", 7000222, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newEntraFixture(t)
			rt := signInAs(t, f.srv, "adele@contoso.com")["refresh_token"].(string)
			f.srv.FailNextToken(tt.e)
			status, body := postToken(t, f.srv, "organizations", refreshForm(rt, "User.Read"))
			tokenError(t, status, body, tt.status, tt.error, tt.code)
			if got, _ := body["suberror"].(string); got != tt.suberror {
				t.Errorf("suberror = %q, want %q", got, tt.suberror)
			}
			if got, _ := body["claims"].(string); got != tt.e.Claims {
				t.Errorf("claims = %q, want %q", got, tt.e.Claims)
			}
			// One-shot: the same refresh token works next.
			if status, _ := postToken(t, f.srv, "organizations", refreshForm(rt, "User.Read")); status != 200 {
				t.Errorf("after the fault: %d", status)
			}
			if got := f.srv.TokenCalls(); got != 3 {
				t.Errorf("TokenCalls = %d, want 3", got)
			}
		})
	}
}

func TestFailNextToken5xx(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	f.srv.FailNextToken5xx()
	cb := browseCallback(t, f.srv, authURL("organizations", nil))
	status, body := postToken(t, f.srv, "organizations", tokenForm(cb.Get("code")))
	tokenError(t, status, body, 503, "temporarily_unavailable", 50000)
	// The failed request never reached the code: it is still redeemable.
	if status, _ := postToken(t, f.srv, "organizations", tokenForm(cb.Get("code"))); status != 200 {
		t.Errorf("redeem after 5xx: %d", status)
	}
}

func TestIDTokenFaults(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	f.srv.NextIDToken(func(c map[string]any) { c["aud"] = "someone-else"; c["tid"] = PersonalTenantID })
	f.srv.BadSignatureNext()
	idt := signInAs(t, f.srv, "adele@contoso.com")["id_token"].(string)
	if c := claimsOf(t, idt); c["aud"] != "someone-else" || c["tid"] != PersonalTenantID {
		t.Errorf("claims = %v", c)
	}
	if err := verifyIDToken(t, f.srv, idt); err == nil {
		t.Error("BadSignatureNext: signature verified")
	}
	// Both were one-shot.
	idt = signInAs(t, f.srv, "adele@contoso.com")["id_token"].(string)
	if c := claimsOf(t, idt); c["aud"] != appClientID {
		t.Errorf("second token aud = %v", c["aud"])
	}
	if err := verifyIDToken(t, f.srv, idt); err != nil {
		t.Errorf("second token signature: %v", err)
	}
}

func TestBasicAuthClientSecret(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	cb := browseCallback(t, f.srv, authURL("organizations", nil))
	form := tokenForm(cb.Get("code"))
	form.Del("client_secret")
	form.Del("client_id")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://"+LoginHost+"/organizations/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(appClientID, appSecret)
	resp, err := f.srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
}

// The ID token carries what the scopes ask for, as Entra's ID token
// reference says: name, preferred_username and oid with profile, email
// with email (a guest has email by default). The token response's scope
// names each OpenID Connect scope once, bare, even when the grant came
// from /.default over the whole catalog (which lists them too).
func TestIDTokenClaimsFollowScopes(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	guest := f.tenant.AddUser("gina@fabrikam.com", "Gina Guest", AsGuest("https://sts.windows.net/"+newID()+"/"))
	for _, tt := range []struct {
		name, user, scope string
		want, absent      []string
	}{
		{"openid only", "adele@contoso.com", "openid offline_access User.Read", nil, []string{"name", "preferred_username", "oid", "email"}},
		{"profile", "adele@contoso.com", "openid profile User.Read", []string{"name", "preferred_username", "oid"}, []string{"email"}},
		{"email", "adele@contoso.com", "openid email User.Read", []string{"email"}, []string{"name", "preferred_username", "oid"}},
		{"all", "adele@contoso.com", "openid profile email User.Read", []string{"name", "preferred_username", "oid", "email"}, nil},
		{"guest without email scope", guest.UserPrincipalName, "openid profile User.Read", []string{"email"}, nil},
	} {
		cb := browseCallback(t, f.srv, authURL("organizations", map[string]string{"login_hint": tt.user, "scope": tt.scope}))
		form := tokenForm(cb.Get("code"))
		form.Set("scope", tt.scope)
		status, tok := postToken(t, f.srv, "organizations", form)
		if status != 200 {
			t.Fatalf("%s: token %d %v", tt.name, status, tok)
		}
		c := claimsOf(t, tok["id_token"].(string))
		for _, k := range tt.want {
			if _, ok := c[k]; !ok {
				t.Errorf("%s: claim %s missing", tt.name, k)
			}
		}
		for _, k := range tt.absent {
			if v, ok := c[k]; ok {
				t.Errorf("%s: claim %s = %v, not asked for", tt.name, k, v)
			}
		}
	}

	// An app whose grant is the whole catalog, openid and friends included.
	f.srv.AddApp(App{ClientID: "catalog-app", ClientSecret: appSecret, RedirectURIs: []string{appRedirect}})
	for _, p := range scopes.Catalog() {
		f.tenant.Grant("catalog-app", p.Name)
	}
	q := map[string]string{"client_id": "catalog-app", "login_hint": "adele@contoso.com", "scope": "openid profile email offline_access https://graph.microsoft.com/.default"}
	cb := browseCallback(t, f.srv, authURL("organizations", q))
	form := tokenForm(cb.Get("code"))
	form.Set("client_id", "catalog-app")
	form.Set("scope", q["scope"])
	status, tok := postToken(t, f.srv, "organizations", form)
	if status != 200 {
		t.Fatalf("catalog app: token %d %v", status, tok)
	}
	seen := map[string]int{}
	for _, sc := range strings.Fields(tok["scope"].(string)) {
		seen[strings.ToLower(strings.TrimPrefix(sc, "https://graph.microsoft.com/"))]++
	}
	for _, o := range []string{"openid", "profile", "email", "offline_access"} {
		if seen[o] != 1 {
			t.Errorf("scope %q lists %s %d times, want once", tok["scope"], o, seen[o])
		}
	}
	if strings.Contains(tok["scope"].(string), "graph.microsoft.com/openid") {
		t.Errorf("scope %q qualifies openid with Graph's URI", tok["scope"])
	}
}
