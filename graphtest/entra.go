package graphtest

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/m365kit/m365kit/scopes"
)

// codeLifetime is how long an authorization code may be redeemed.
const codeLifetime = 10 * time.Minute

// entraState is the authority's memory: codes, refresh tokens, consents
// users gave for themselves and the faults queued for the token endpoint.
// Its own mutex guards it; never hold Server.mu while taking it.
type entraState struct {
	mu           sync.Mutex
	key          func() (*signingKey, error)
	codes        map[string]*authCode
	refresh      map[string]*refreshGrant
	userGrants   map[string][]string // user ID + " " + client ID -> scopes
	failNext     []EntraError
	fail5xx      int
	badSig       int
	idMutators   []func(map[string]any)
	declineNext  int
	tokenCalls   int
	reuseRefresh bool
}

// authCode is an issued authorization code.
type authCode struct {
	user        *User
	clientID    string
	redirectURI string
	authority   string // the {tenant} segment of the authorize request
	challenge   string
	nonce       string
	expires     time.Time
	used        bool
}

// refreshGrant is an issued refresh token.
type refreshGrant struct {
	user     *User
	clientID string
	used     bool
	revoked  bool
}

// WithRefreshTokenReuse keeps refresh tokens valid after they are redeemed,
// as Entra does. By default the fake invalidates a refresh token once it
// has been exchanged (the response carries its replacement), so a test
// proves the rotated token was stored.
func WithRefreshTokenReuse() Option {
	return func(s *Server) { s.entra.reuseRefresh = true }
}

// routesEntra registers the authority's routes on the login host.
func (s *Server) routesEntra() {
	s.entra.key = sync.OnceValues(parseSigningKey)
	s.entra.codes = map[string]*authCode{}
	s.entra.refresh = map[string]*refreshGrant{}
	s.entra.userGrants = map[string][]string{}

	s.login.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.handleMetadata)
	s.login.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.handleKeys)
	s.login.HandleFunc("GET /common/discovery/instance", s.handleInstance)
	s.login.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", s.handleAuthorize)
	s.login.HandleFunc("GET /{tenant}/v2.0/adminconsent", s.handleAdminConsent)
	s.login.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.handleToken)
	s.login.HandleFunc("GET /{tenant}/oauth2/v2.0/logout", s.handleLogout)
}

// handleLogout is the end-session endpoint: it redirects to
// post_logout_redirect_uri (with state) when given, else shows a page.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	target := q.Get("post_logout_redirect_uri")
	if target == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!DOCTYPE html><html><head><title>Sign out</title></head><body>You signed out of your account.</body></html>\n")
		return
	}
	p := url.Values{}
	if st := q.Get("state"); st != "" {
		p.Set("state", st)
	}
	redirectBack(w, target, "query", p)
}

// authority is a resolved {tenant} path segment.
type authority struct {
	segment string  // as requested: organizations, common, consumers, a GUID or domain
	tenant  *Tenant // nil for organizations and common
}

// tenantNotFound is Entra's description of an unknown tenant.
type tenantNotFound string

func (e tenantNotFound) Error() string {
	return fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud", string(e))
}

// resolveAuthority resolves the {tenant} segment; an unknown tenant is a
// tenantNotFound error carrying Entra's AADSTS90002 text.
func (s *Server) resolveAuthority(segment string) (authority, error) {
	switch strings.ToLower(segment) {
	case "organizations", "common":
		return authority{segment: strings.ToLower(segment)}, nil
	case "consumers":
		return authority{segment: "consumers", tenant: s.PersonalTenant()}, nil
	}
	t := s.Tenant(segment)
	if t == nil {
		return authority{}, tenantNotFound(segment)
	}
	return authority{segment: segment, tenant: t}, nil
}

// issuerTemplate is the issuer a metadata document announces.
func (a authority) issuer() string {
	if a.tenant == nil {
		return "https://" + LoginHost + "/{tenantid}/v2.0"
	}
	return "https://" + LoginHost + "/" + a.tenant.ID + "/v2.0"
}

// issuerFor is the iss claim of tokens for users of tenantID.
func issuerFor(tenantID string) string { return "https://" + LoginHost + "/" + tenantID + "/v2.0" }

// handleMetadata serves the OpenID Connect discovery document.
func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request) {
	a, err := s.resolveAuthority(r.PathValue("tenant"))
	if err != nil {
		s.writeEntraError(w, r, EntraError{Status: http.StatusBadRequest, Error: "invalid_tenant", Description: err.Error(), Codes: []int{90002}})
		return
	}
	seg := a.segment
	if a.tenant != nil {
		seg = a.tenant.ID
	}
	base := "https://" + LoginHost + "/" + seg
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                a.issuer(),
		"request_uri_parameter_supported":       false,
		"userinfo_endpoint":                     "https://" + GraphHost + "/oidc/userinfo",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"claims_supported": []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
			"cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce",
			"preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"},
		"tenant_region_scope":     nil,
		"cloud_instance_name":     "microsoftonline.com",
		"cloud_graph_host_name":   "graph.windows.net",
		"msgraph_host":            GraphHost,
		"rbac_url":                "https://pas.windows.net",
		"kerberos_endpoint":       base + "/kerberos",
		"tenant_region_sub_scope": nil,
		"admin_consent_endpoint":  base + "/v2.0/adminconsent",
	})
}

// handleKeys serves the JSON Web Key Set ID tokens are signed with.
func (s *Server) handleKeys(w http.ResponseWriter, r *http.Request) {
	a, err := s.resolveAuthority(r.PathValue("tenant"))
	if err != nil {
		s.writeEntraError(w, r, EntraError{Status: http.StatusBadRequest, Error: "invalid_tenant", Description: err.Error(), Codes: []int{90002}})
		return
	}
	k, err := s.entra.key()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": []jwk{k.jwk(a.issuer())}})
}

// handleInstance serves MSAL's instance discovery.
func (s *Server) handleInstance(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": "https://" + LoginHost + "/{tenant}/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": LoginHost,
			"preferred_cache":   "login.windows.net",
			"aliases":           []string{LoginHost, "login.windows.net", "login.microsoft.com", "sts.windows.net"},
		}},
	})
}

// app returns the registered app, or nil.
func (s *Server) app(clientID string) *App {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apps[clientID]
}

// errorPage is what Entra shows in the browser when it cannot redirect back
// to the app (unknown client, unregistered redirect URI, unknown user).
func errorPage(w http.ResponseWriter, status int, desc string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body><div id=\"error\">%s</div></body></html>\n", html.EscapeString(desc))
}

// redirectBack answers the browser with the app's redirect URI and params:
// a 302 for response_mode=query, an auto-posting form for form_post.
func redirectBack(w http.ResponseWriter, redirectURI, mode string, params url.Values) {
	if mode == "form_post" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		var b strings.Builder
		fmt.Fprintf(&b, "<html><head><title>Working...</title></head><body><form method=\"POST\" name=\"hiddenform\" action=\"%s\">", html.EscapeString(redirectURI))
		keys := make([]string, 0, len(params))
		for k := range params {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "<input type=\"hidden\" name=\"%s\" value=\"%s\" />", html.EscapeString(k), html.EscapeString(params.Get(k)))
		}
		b.WriteString("<noscript><p>Script is disabled. Click Submit to continue.</p><input type=\"submit\" value=\"Submit\" /></noscript></form><script language=\"javascript\">document.forms[0].submit();</script></body></html>\n")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, b.String())
		return
	}
	u, err := url.Parse(redirectURI)
	if err != nil {
		errorPage(w, http.StatusBadRequest, "AADSTS50011: The redirect URI is not a valid URL.")
		return
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Location", u.String())
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusFound)
}

// withTrace appends the trace lines Entra adds to every error description.
func (s *Server) withTrace(desc string) string {
	return fmt.Sprintf("%s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", desc, newID(), newID(), s.now().UTC().Format("2006-01-02 15:04:05Z"))
}

// requestedScopes splits an OAuth scope parameter into Graph scopes
// (normalized, "/.default" expanded to the app's configured permissions)
// and the OpenID Connect scopes. A scope of another resource is returned
// in other.
func requestedScopes(app *App, param string) (graph, oidc, other []string) {
	for _, f := range strings.Fields(param) {
		n := scopes.Normalize(f)
		switch {
		case isOIDCScope(n):
			oidc = append(oidc, strings.ToLower(n))
		case n == ".default":
			def := app.Scopes
			if len(def) == 0 {
				for _, p := range scopes.Catalog() {
					def = append(def, p.Name)
				}
			}
			for _, d := range def {
				if d = scopes.Normalize(d); !containsFold(graph, d) {
					graph = append(graph, d)
				}
			}
		case strings.Contains(n, "://"):
			other = append(other, f)
		default:
			if !containsFold(graph, n) {
				graph = append(graph, n)
			}
		}
	}
	return graph, oidc, other
}

func isOIDCScope(n string) bool {
	switch strings.ToLower(n) {
	case "openid", "profile", "email", "offline_access":
		return true
	}
	return false
}

// granted returns the scopes the client may use for u: the tenant's admin
// grants plus what u consented to alone.
func (s *Server) granted(u *User, clientID string) []string {
	g := u.tenant.Granted(clientID)
	s.entra.mu.Lock()
	defer s.entra.mu.Unlock()
	for _, x := range s.entra.userGrants[u.ID+" "+clientID] {
		if !containsFold(g, x) {
			g = append(g, x)
		}
	}
	return g
}

// ungranted returns the scopes of want the client may not use for u.
func (s *Server) ungranted(u *User, clientID string, want []string) []string {
	have := s.granted(u, clientID)
	var out []string
	for _, w := range want {
		if !containsFold(have, w) {
			out = append(out, w)
		}
	}
	return out
}

// pickUser chooses who signs in: the user login_hint names (by UPN or
// mail) or, without a hint, the first user of the tenant the authority or
// domain_hint names, else the first user of the first work tenant.
func (s *Server) pickUser(a authority, hint, domainHint string) *User {
	var tenants []*Tenant
	switch {
	case a.tenant != nil:
		tenants = []*Tenant{a.tenant}
	case domainHint != "" && s.Tenant(domainHint) != nil:
		tenants = []*Tenant{s.Tenant(domainHint)}
	default:
		tenants = s.Tenants()
	}
	for _, t := range tenants {
		for _, u := range t.Users() {
			if hint == "" {
				if t.ID == PersonalTenantID && a.tenant == nil {
					break // personal accounts sign in only when named
				}
				return u
			}
			if strings.EqualFold(u.UserPrincipalName, hint) || (u.Mail != "" && strings.EqualFold(u.Mail, hint)) {
				return u
			}
		}
	}
	return nil
}

// checkClient makes the checks Entra makes before it will redirect back
// at all: a known authority, a registered client and one of its redirect
// URIs. A failure is an error page (no redirect), and ok is false.
func (s *Server) checkClient(w http.ResponseWriter, r *http.Request) (a authority, app *App, redirectURI string, ok bool) {
	q := r.URL.Query()
	a, err := s.resolveAuthority(r.PathValue("tenant"))
	if err != nil {
		errorPage(w, http.StatusBadRequest, s.withTrace(err.Error()))
		return a, nil, "", false
	}
	clientID := q.Get("client_id")
	if app = s.app(clientID); app == nil {
		errorPage(w, http.StatusBadRequest, s.withTrace(fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, a.segment)))
		return a, nil, "", false
	}
	redirectURI = q.Get("redirect_uri")
	if !slices.Contains(app.RedirectURIs, redirectURI) {
		errorPage(w, http.StatusBadRequest, s.withTrace(fmt.Sprintf("AADSTS50011: The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.", redirectURI, clientID)))
		return a, nil, "", false
	}
	return a, app, redirectURI, true
}

// handleAuthorize is the sign-in page: it checks the request as Entra does,
// signs in the chosen user, enforces consent and redirects back with a code.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, app, redirectURI, ok := s.checkClient(w, r)
	if !ok {
		return
	}
	clientID := app.ClientID
	mode := q.Get("response_mode")
	if mode == "" {
		mode = "query"
	}
	state := q.Get("state")
	fail := func(code, desc string) {
		p := url.Values{"error": {code}, "error_description": {s.withTrace(desc)}}
		if state != "" {
			p.Set("state", state)
		}
		redirectBack(w, redirectURI, mode, p)
	}
	switch {
	case mode != "query" && mode != "form_post":
		mode = "query"
		fail("invalid_request", fmt.Sprintf("AADSTS90000: graphtest serves response_mode query and form_post, not '%s'.", q.Get("response_mode")))
		return
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", fmt.Sprintf("AADSTS700054: response_type '%s' is not enabled for the application.", q.Get("response_type")))
		return
	case strings.TrimSpace(q.Get("scope")) == "":
		fail("invalid_request", "AADSTS900144: The request body must contain the following parameter: 'scope'.")
		return
	case q.Get("code_challenge") == "":
		fail("invalid_request", "AADSTS9002325: Proof Key for Code Exchange is required: send code_challenge and code_challenge_method=S256.")
		return
	case q.Get("code_challenge_method") != "S256":
		fail("invalid_request", fmt.Sprintf("AADSTS9002325: graphtest requires code_challenge_method=S256, not '%s'.", q.Get("code_challenge_method")))
		return
	}
	graph, _, other := requestedScopes(app, q.Get("scope"))
	if len(other) > 0 {
		fail("invalid_scope", fmt.Sprintf("AADSTS70011: The provided value for the input parameter 'scope' is not valid. graphtest serves only Microsoft Graph, not '%s'.", other[0]))
		return
	}
	u := s.pickUser(a, q.Get("login_hint"), q.Get("domain_hint"))
	if u == nil {
		errorPage(w, http.StatusBadRequest, s.withTrace(fmt.Sprintf("AADSTS50034: The user account %s does not exist in the '%s' directory. To sign into this application, the account must be added to the directory.", q.Get("login_hint"), a.segment)))
		return
	}
	prompt := q.Get("prompt")
	if missing := s.ungranted(u, clientID, graph); len(missing) > 0 || (prompt == "consent" && u.Admin) {
		if err := s.consentAtSignIn(u, app, prompt, graph, missing); err != "" {
			fail("consent_required", err)
			return
		}
	}
	code := "0.A" + randomToken(48)
	s.entra.mu.Lock()
	s.entra.codes[code] = &authCode{
		user: u, clientID: clientID, redirectURI: redirectURI, authority: a.segment,
		challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), expires: s.now().Add(codeLifetime),
	}
	s.entra.mu.Unlock()
	p := url.Values{"code": {code}, "session_state": {newID()}}
	if state != "" {
		p.Set("state", state)
	}
	redirectBack(w, redirectURI, mode, p)
}

// consentAtSignIn lets u consent to the missing scopes where Entra would
// show the consent page, recording the grant; it returns the AADSTS
// description of the refusal otherwise. An administrator with
// prompt=consent consents for the whole tenant.
func (s *Server) consentAtSignIn(u *User, app *App, prompt string, graph, missing []string) string {
	t := u.tenant
	t.srv.mu.Lock()
	userConsent := t.userConsent
	t.srv.mu.Unlock()
	adminOnly := slices.ContainsFunc(missing, needsAdmin)
	switch {
	case prompt == "none" && len(missing) > 0:
		return fmt.Sprintf("AADSTS65001: The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.", app.ClientID, app.ClientID)
	case u.Admin && prompt == "consent":
		t.Grant(app.ClientID, graph...)
	case u.Admin || (userConsent && !adminOnly):
		s.entra.mu.Lock()
		k := u.ID + " " + app.ClientID
		for _, m := range missing {
			if !containsFold(s.entra.userGrants[k], m) {
				s.entra.userGrants[k] = append(s.entra.userGrants[k], m)
			}
		}
		s.entra.mu.Unlock()
	case userConsent && adminOnly:
		return fmt.Sprintf("AADSTS90094: The grant requires admin permission. An administrator must consent to '%s' for application '%s' in this tenant.", strings.Join(missing, " "), app.ClientID)
	default:
		return fmt.Sprintf("AADSTS65001: The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.", app.ClientID, app.ClientID)
	}
	return ""
}

// adminOnlyScopes are delegated Graph permissions outside the scopes
// catalog that only an administrator may consent to.
var adminOnlyScopes = []string{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All",
	"Directory.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All", "ChannelMessage.Read.All"}

// needsAdmin reports whether only an administrator may consent to scope.
func needsAdmin(scope string) bool {
	if p, ok := scopes.ByName(scope); ok {
		return p.AdminConsentRequired
	}
	return containsFold(adminOnlyScopes, scope)
}

// DeclineNextConsent makes the administrator decline the next admin-consent
// request: it redirects back as Entra does when the administrator cancels,
// with error=access_denied, AADSTS65004 ("User declined to consent to access
// the app.") and admin_consent=True.
func (s *Server) DeclineNextConsent() {
	s.entra.mu.Lock()
	defer s.entra.mu.Unlock()
	s.entra.declineNext++
}

// handleAdminConsent is the v2 admin-consent page. The administrator is the
// one login_hint names, else the first administrator of the tenant in the
// path, else the first administrator of any tenant.
func (s *Server) handleAdminConsent(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, app, redirectURI, ok := s.checkClient(w, r)
	if !ok {
		return
	}
	clientID := app.ClientID
	state := q.Get("state")
	fail := func(code, desc string) {
		p := url.Values{"error": {code}, "error_description": {s.withTrace(desc)}, "admin_consent": {"True"}}
		if state != "" {
			p.Set("state", state)
		}
		redirectBack(w, redirectURI, "query", p)
	}
	if a.segment == "consumers" {
		fail("invalid_request", "AADSTS9002332: Application is configured for use by Microsoft Entra users only. Please do not use the /consumers endpoint to serve this request.")
		return
	}
	graph, oidc, other := requestedScopes(app, q.Get("scope"))
	if len(other) > 0 || strings.TrimSpace(q.Get("scope")) == "" {
		fail("invalid_request", "AADSTS70011: The provided value for the input parameter 'scope' is not valid.")
		return
	}
	var admin *User
	if hint := q.Get("login_hint"); hint != "" {
		admin = s.pickUser(a, hint, "")
	} else {
		ts := s.Tenants()
		if a.tenant != nil {
			ts = []*Tenant{a.tenant}
		}
		for _, t := range ts {
			if as := t.Admins(); len(as) > 0 {
				admin = as[0]
				break
			}
		}
	}
	if admin == nil || !admin.Admin {
		fail("access_denied", "AADSTS90094: The grant requires admin permission. The signed-in user is not an administrator of the tenant.")
		return
	}
	s.entra.mu.Lock()
	decline := s.entra.declineNext > 0
	if decline {
		s.entra.declineNext--
	}
	s.entra.mu.Unlock()
	if decline {
		fail("access_denied", "AADSTS65004: User declined to consent to access the app.")
		return
	}
	admin.tenant.Grant(clientID, graph...)
	out := append(scopes.Qualified(graph), oidc...)
	p := url.Values{"admin_consent": {"True"}, "tenant": {admin.TenantID}, "scope": {strings.Join(out, " ")}}
	if state != "" {
		p.Set("state", state)
	}
	redirectBack(w, redirectURI, "query", p)
}

// formInput matches the hidden inputs of the form_post page.
var formInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)" />`)

// formAction matches the action of the form_post page.
var formAction = regexp.MustCompile(`<form method="POST" name="hiddenform" action="([^"]*)">`)

// Browse plays the user's browser on an authorize or admin-consent URL
// (with the production host): it loads the page, the user signs in and
// consents, and it returns the request the browser then sends to the app's
// redirect URI — a GET carrying the query for response_mode=query, a POST
// form for form_post. Pass it to the app's callback handler, or send it
// with any client. When the authority shows an error page instead of
// redirecting (unknown client, unregistered redirect URI, unknown user)
// Browse returns an error holding the page's AADSTS text.
func (s *Server) Browse(ctx context.Context, rawURL string) (*http.Request, error) {
	hc := s.HTTPClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("graphtest: browse: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("graphtest: browse: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("graphtest: browse: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusFound:
		return http.NewRequestWithContext(ctx, http.MethodGet, resp.Header.Get("Location"), nil)
	case resp.StatusCode == http.StatusOK && formAction.Match(body):
		action := html.UnescapeString(string(formAction.FindSubmatch(body)[1]))
		form := url.Values{}
		for _, m := range formInput.FindAllSubmatch(body, -1) {
			form.Set(html.UnescapeString(string(m[1])), html.UnescapeString(string(m[2])))
		}
		cb, err := http.NewRequestWithContext(ctx, http.MethodPost, action, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, fmt.Errorf("graphtest: browse: %w", err)
		}
		cb.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return cb, nil
	}
	msg := string(body)
	if m := regexp.MustCompile(`<div id="error">([^<]*)</div>`).FindStringSubmatch(msg); m != nil {
		msg = html.UnescapeString(m[1])
	}
	if i := strings.Index(msg, "\r\n"); i >= 0 {
		msg = msg[:i]
	}
	return nil, errors.New("graphtest: browse: the authority answered " + resp.Status + ": " + strings.TrimSpace(msg))
}
