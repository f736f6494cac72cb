package graphtest

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/m365kit/m365kit/scopes"
)

// writeEntraError writes e in Entra's token-endpoint error body.
func (s *Server) writeEntraError(w http.ResponseWriter, r *http.Request, e EntraError) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	corr := r.Header.Get("client-request-id")
	if corr == "" {
		corr = newID()
	}
	trace := newID()
	ts := s.now().UTC().Format("2006-01-02 15:04:05Z")
	codes := e.Codes
	if codes == nil {
		codes = []int{}
	}
	body := map[string]any{
		"error":             e.Error,
		"error_description": fmt.Sprintf("%s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", e.Description, trace, corr, ts),
		"error_codes":       codes,
		"timestamp":         ts,
		"trace_id":          trace,
		"correlation_id":    corr,
	}
	if len(codes) > 0 {
		body["error_uri"] = fmt.Sprintf("https://%s/error?code=%d", LoginHost, codes[0])
	}
	if e.SubError != "" {
		body["suberror"] = e.SubError
	}
	if e.Claims != "" {
		body["claims"] = e.Claims
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// tokenRequest is a parsed token request.
type tokenRequest struct {
	auth  authority
	app   *App
	form  func(string) string
	scope string
}

// handleToken is the token endpoint: authorization_code and refresh_token
// grants for confidential clients.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.entra.mu.Lock()
	s.entra.tokenCalls++
	var injected *EntraError
	switch {
	case s.entra.fail5xx > 0:
		s.entra.fail5xx--
		injected = &EntraError{Status: http.StatusServiceUnavailable, Error: "temporarily_unavailable", Codes: []int{50000},
			Description: "AADSTS50000: There was an error issuing a token or an issue with our sign-in service."}
	case len(s.entra.failNext) > 0:
		injected = &s.entra.failNext[0]
		s.entra.failNext = s.entra.failNext[1:]
	}
	s.entra.mu.Unlock()
	if injected != nil {
		s.writeEntraError(w, r, *injected)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.writeEntraError(w, r, EntraError{Error: "invalid_request", Codes: []int{9002313}, Description: "AADSTS9002313: Invalid request. Request is malformed or invalid."})
		return
	}
	a, err := s.resolveAuthority(r.PathValue("tenant"))
	if err != nil {
		s.writeEntraError(w, r, EntraError{Error: "invalid_request", Codes: []int{90002}, Description: err.Error()})
		return
	}
	app, e := s.authenticateClient(r, a)
	if e != nil {
		s.writeEntraError(w, r, *e)
		return
	}
	tr := tokenRequest{auth: a, app: app, form: r.PostForm.Get, scope: r.PostForm.Get("scope")}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		s.redeemCode(w, r, tr)
	case "refresh_token":
		s.redeemRefresh(w, r, tr)
	case "":
		s.writeEntraError(w, r, EntraError{Error: "invalid_request", Codes: []int{900144}, Description: "AADSTS900144: The request body must contain the following parameter: 'grant_type'."})
	default:
		s.writeEntraError(w, r, EntraError{Error: "unsupported_grant_type", Codes: []int{70003}, Description: fmt.Sprintf("AADSTS70003: The app requested an unsupported grant type '%s'.", gt)})
	}
}

// authenticateClient checks the client's credential: a secret (form or
// HTTP Basic) or a JWT-bearer client assertion.
func (s *Server) authenticateClient(r *http.Request, a authority) (*App, *EntraError) {
	clientID, secret, basic := r.BasicAuth()
	if !basic {
		clientID, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	app := s.app(clientID)
	if app == nil {
		return nil, &EntraError{Error: "unauthorized_client", Codes: []int{700016},
			Description: fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", clientID, a.segment)}
	}
	if assertion := r.PostForm.Get("client_assertion"); assertion != "" {
		return app, s.checkAssertion(r, a, app, assertion)
	}
	if secret == "" {
		return nil, &EntraError{Status: http.StatusUnauthorized, Error: "invalid_client", Codes: []int{7000218},
			Description: "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
	}
	if app.ClientSecret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(app.ClientSecret)) != 1 {
		return nil, &EntraError{Status: http.StatusUnauthorized, Error: "invalid_client", Codes: []int{7000215},
			Description: fmt.Sprintf("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID)}
	}
	return app, nil
}

// checkAssertion validates a client assertion: RS256, iss and sub the
// client ID, aud the token endpoint, unexpired, and signed by the app's
// certificate when it has one.
func (s *Server) checkAssertion(r *http.Request, a authority, app *App, assertion string) *EntraError {
	bad := func(code int, msg string) *EntraError {
		return &EntraError{Status: http.StatusUnauthorized, Error: "invalid_client", Codes: []int{code}, Description: fmt.Sprintf("AADSTS%d: %s", code, msg)}
	}
	if t := r.PostForm.Get("client_assertion_type"); t != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return bad(50027, fmt.Sprintf("Invalid client_assertion_type '%s'.", t))
	}
	p, err := parseJWT(assertion)
	if err != nil {
		return bad(50027, "JWT token is invalid or malformed: "+err.Error()+".")
	}
	if alg, _ := p.header["alg"].(string); alg != "RS256" && alg != "PS256" {
		return bad(50027, fmt.Sprintf("JWT token is invalid or malformed: alg '%s' is not supported.", alg))
	}
	iss, _ := p.claims["iss"].(string)
	sub, _ := p.claims["sub"].(string)
	if iss != app.ClientID || sub != app.ClientID {
		return bad(50027, "JWT token is invalid or malformed: iss and sub must be the client ID.")
	}
	aud, _ := p.claims["aud"].(string)
	okAud := false
	for _, seg := range []string{a.segment, "organizations", "common"} {
		if strings.EqualFold(aud, "https://"+LoginHost+"/"+seg+"/oauth2/v2.0/token") {
			okAud = true
		}
	}
	if a.tenant != nil && strings.EqualFold(aud, "https://"+LoginHost+"/"+a.tenant.ID+"/oauth2/v2.0/token") {
		okAud = true
	}
	if !okAud {
		return bad(700021, fmt.Sprintf("Client assertion audience claim does not match Realm issuer. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials (aud '%s').", aud))
	}
	exp, _ := p.claims["exp"].(float64)
	if exp == 0 || s.now().After(time.Unix(int64(exp), 0).Add(5*time.Minute)) {
		return bad(700024, "Client assertion is not within its valid time range.")
	}
	if app.Certificate != nil {
		pub, ok := app.Certificate.PublicKey.(*rsa.PublicKey)
		if !ok || p.verify(pub) != nil {
			return bad(700027, "Client assertion failed signature validation.")
		}
	}
	return nil
}

// grantedResponseScopes returns the scope value of a token response: the
// requested Graph scopes as the client spelled them (MSAL reports any
// requested scope missing from the response as declined), the other
// scopes the client holds, qualified, and the requested OpenID scopes.
func grantedResponseScopes(requested string, granted []string) string {
	var out []string
	var seen []string
	for _, f := range strings.Fields(requested) {
		n := scopes.Normalize(f)
		if isOIDCScope(n) || n == ".default" || containsFold(seen, n) {
			continue
		}
		seen = append(seen, n)
		out = append(out, f)
	}
	for _, g := range granted {
		if !isOIDCScope(g) && !containsFold(seen, g) {
			seen = append(seen, g)
			out = append(out, "https://"+GraphHost+"/"+g)
		}
	}
	for _, f := range strings.Fields(requested) {
		if isOIDCScope(f) && f != "offline_access" {
			out = append(out, strings.ToLower(f))
		}
	}
	if strings.Contains(" "+requested+" ", " offline_access ") {
		out = append(out, "offline_access")
	}
	return strings.Join(out, " ")
}

// redeemCode serves grant_type=authorization_code.
func (s *Server) redeemCode(w http.ResponseWriter, r *http.Request, tr tokenRequest) {
	codeValue := tr.form("code")
	s.entra.mu.Lock()
	c := s.entra.codes[codeValue]
	used := c != nil && c.used
	if c != nil {
		c.used = true // a code is burnt by its first redemption attempt
	}
	s.entra.mu.Unlock()
	if c != nil {
		logUser(w, c.user) // serve.go
	}
	invalid := func(code int, desc string) {
		s.writeEntraError(w, r, EntraError{Error: "invalid_grant", Codes: []int{code}, Description: fmt.Sprintf("AADSTS%d: %s", code, desc)})
	}
	switch {
	case c == nil:
		invalid(9002313, "Invalid request. Request is malformed or invalid. The provided value for the 'code' parameter is not valid.")
	case used:
		invalid(54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	case !s.now().Before(c.expires):
		invalid(70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	case c.clientID != tr.app.ClientID:
		invalid(70000, "The provided value for the 'code' parameter is not valid. The code was issued to another client.")
	case tr.form("redirect_uri") != c.redirectURI:
		invalid(50011, fmt.Sprintf("The redirect URI '%s' specified in the request does not match the redirect URI used in the authorization request.", tr.form("redirect_uri")))
	case !pkceMatches(tr.form("code_verifier"), c.challenge):
		invalid(501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
	case !strings.EqualFold(tr.auth.segment, c.authority) && (tr.auth.tenant == nil || tr.auth.tenant.ID != c.user.TenantID):
		invalid(700005, "Provided Authorization Code is intended to use against other tenant, thus rejected.")
	default:
		s.issue(w, r, tr, c.user, c.nonce, c.scope, nil)
	}
}

// pkceMatches reports whether verifier hashes (S256) to challenge.
func pkceMatches(verifier, challenge string) bool {
	if verifier == "" {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(b64.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// redeemRefresh serves grant_type=refresh_token, rotating the token.
func (s *Server) redeemRefresh(w http.ResponseWriter, r *http.Request, tr tokenRequest) {
	s.entra.mu.Lock()
	g := s.entra.refresh[tr.form("refresh_token")]
	var fail *EntraError
	switch {
	case g == nil || g.clientID != tr.app.ClientID:
		fail = &EntraError{Error: "invalid_grant", Codes: []int{9002313},
			Description: "AADSTS9002313: Invalid request. Request is malformed or invalid. The refresh token is not one this authority issued to the client."}
	case g.revoked:
		e := ErrRevoked()
		fail = &e
	case g.used && !s.entra.reuseRefresh:
		e := usedRefresh
		fail = &e
	case tr.auth.tenant != nil && tr.auth.tenant.ID != g.user.TenantID:
		fail = &EntraError{Error: "invalid_grant", Codes: []int{50020},
			Description: fmt.Sprintf("AADSTS50020: User account '%s' from identity provider does not exist in tenant '%s' and cannot access the application in that tenant.", g.user.UserPrincipalName, tr.auth.tenant.Domain)}
	}
	s.entra.mu.Unlock()
	if g != nil {
		logUser(w, g.user) // serve.go
	}
	if fail != nil {
		s.writeEntraError(w, r, *fail)
		return
	}
	s.issue(w, r, tr, g.user, "", "", g)
}

// usedRefresh is the error for a refresh token redeemed before.
var usedRefresh = EntraError{Error: "invalid_grant", Codes: []int{70000},
	Description: "AADSTS70000: Provided grant is invalid or malformed. graphtest: this refresh token was already redeemed and replaced by the one in that response; store the rotated token (or start the server WithRefreshTokenReuse)."}

// issue checks consent for the requested Graph scopes and writes a token
// response for u: an access token with every scope the client holds, an ID
// token when openid is asked, a new refresh token with offline_access.
// A refresh token being redeemed (old) is used up only when the response
// succeeds, so a failed refresh leaves it valid, as Entra does.
//
// The ID token carries the profile claims (name, preferred_username, oid)
// only when profile was asked for, and email only when email was (or for
// a guest, who has it by default), in the authorize request behind the
// code (authorized) or the token request itself.
func (s *Server) issue(w http.ResponseWriter, r *http.Request, tr tokenRequest, u *User, nonce, authorized string, old *refreshGrant) {
	graph, oidc, other := requestedScopes(tr.app, tr.scope)
	if len(other) > 0 {
		s.writeEntraError(w, r, EntraError{Error: "invalid_scope", Codes: []int{70011},
			Description: fmt.Sprintf("AADSTS70011: The provided request must include a 'scope' input parameter. graphtest serves only Microsoft Graph, not '%s'.", other[0])})
		return
	}
	if missing := s.ungranted(u, tr.app.ClientID, graph); len(missing) > 0 {
		e := ErrConsentRequired(missing...)
		e.Description = fmt.Sprintf("AADSTS65001: The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.", tr.app.ClientID, tr.app.ClientID)
		s.writeEntraError(w, r, e)
		return
	}
	if old != nil {
		s.entra.mu.Lock()
		reused := old.used && !s.entra.reuseRefresh
		old.used = true
		s.entra.mu.Unlock()
		if reused { // a concurrent refresh won the race
			s.writeEntraError(w, r, usedRefresh)
			return
		}
	}
	granted := s.granted(u, tr.app.ClientID)
	at := s.IssueToken(u, tr.app.ClientID, granted...)
	resp := map[string]any{
		"token_type":     "Bearer",
		"scope":          grantedResponseScopes(tr.scope, granted),
		"expires_in":     int(s.tokenLifetime.Seconds()),
		"ext_expires_in": int(s.tokenLifetime.Seconds()),
		"access_token":   at,
	}
	if containsFold(oidc, "offline_access") {
		rt := "1.A" + randomToken(64)
		s.entra.mu.Lock()
		s.entra.refresh[rt] = &refreshGrant{user: u, clientID: tr.app.ClientID}
		s.entra.mu.Unlock()
		resp["refresh_token"] = rt
	}
	if containsFold(oidc, "openid") {
		_, asked, _ := requestedScopes(tr.app, authorized+" "+tr.scope)
		idt, err := s.idToken(u, tr.app.ClientID, nonce, containsFold(asked, "profile"), containsFold(asked, "email"))
		if err != nil {
			s.writeEntraError(w, r, EntraError{Status: http.StatusInternalServerError, Error: "server_error", Codes: []int{50000}, Description: "AADSTS50000: " + err.Error()})
			return
		}
		resp["id_token"] = idt
	}
	if tr.form("client_info") == "1" {
		ci, _ := json.Marshal(map[string]string{"uid": u.ID, "utid": u.TenantID})
		resp["client_info"] = b64.EncodeToString(ci)
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(resp)
}

// idToken builds and signs a v2.0 ID token for u, applying the queued
// claim changes and signature damage. As Entra's ID token reference
// says, name, preferred_username and oid need the profile scope, and
// email the email scope, except for a guest, who gets it by default.
func (s *Server) idToken(u *User, clientID, nonce string, profile, email bool) (string, error) {
	now := s.now()
	sub := sha256.Sum256([]byte(clientID + "|" + u.TenantID + "|" + u.ID))
	claims := map[string]any{
		"aud": clientID,
		"iss": issuerFor(u.TenantID),
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
		"sub": b64.EncodeToString(sub[:]),
		"tid": u.TenantID,
		"uti": randomToken(11),
		"ver": "2.0",
	}
	if profile {
		claims["name"] = u.DisplayName
		claims["oid"] = u.ID
		claims["preferred_username"] = u.UserPrincipalName
	}
	if u.Mail != "" && (email || u.Guest) {
		claims["email"] = u.Mail
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if u.Guest && u.IDP != "" {
		claims["idp"] = u.IDP
	}
	s.entra.mu.Lock()
	var mutate func(map[string]any)
	if len(s.entra.idMutators) > 0 {
		mutate = s.entra.idMutators[0]
		s.entra.idMutators = s.entra.idMutators[1:]
	}
	corrupt := s.entra.badSig > 0
	if corrupt {
		s.entra.badSig--
	}
	s.entra.mu.Unlock()
	if mutate != nil {
		mutate(claims)
	}
	k, err := s.entra.key()
	if err != nil {
		return "", err
	}
	return k.sign(maps.Clone(claims), corrupt)
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

// redirectBack answers the browser with the app's redirect URI and params:
// a 302 for response_mode=query, an auto-posting form for form_post.
func redirectBack(w http.ResponseWriter, redirectURI, mode string, params url.Values) {
	if mode == "form_post" {
		writeFormPost(w, redirectURI, params) // pages.go
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
	graph, oidc, other := requestedScopes(app, q.Get("scope"))
	if len(other) > 0 {
		fail("invalid_scope", fmt.Sprintf("AADSTS70011: The provided value for the input parameter 'scope' is not valid. graphtest serves only Microsoft Graph, not '%s'.", other[0]))
		return
	}
	var u *User
	if wantsPage(r) { // a person's browser: the sign-in page and consent prompt (pages_routes.go)
		if u, ok = s.signInPage(w, r, a, app, graph, oidc, fail); !ok {
			return
		}
	} else {
		u = s.pickUser(a, q.Get("login_hint"), q.Get("domain_hint"))
	}
	if u == nil {
		errorPage(w, http.StatusBadRequest, s.withTrace(fmt.Sprintf("AADSTS50034: The user account %s does not exist in the '%s' directory. To sign into this application, the account must be added to the directory.", q.Get("login_hint"), a.segment)))
		return
	}
	prompt := q.Get("prompt")
	if missing := s.ungranted(u, clientID, graph); len(missing) > 0 || (prompt == "consent" && u.Admin) {
		if err := s.consentAtSignIn(u, app, prompt, graph, missing); err != "" {
			if prompt == "none" {
				fail("consent_required", err)
				return
			}
			// Interactive: Entra shows its own "Need admin approval"
			// page and sends nothing to the app.
			errorPage(w, http.StatusOK, s.withTrace("Need admin approval. "+err))
			return
		}
	}
	code := "0.A" + randomToken(48)
	s.entra.mu.Lock()
	s.entra.codes[code] = &authCode{
		user: u, clientID: clientID, redirectURI: redirectURI, authority: a.segment,
		challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), expires: s.now().Add(codeLifetime),
		scope: q.Get("scope"),
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
	case prompt == "none":
		return fmt.Sprintf("AADSTS65001: The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.", app.ClientID, app.ClientID)
	default:
		return fmt.Sprintf("AADSTS90094: The grant requires admin permission. User consent is turned off in this tenant: an administrator must consent to '%s' for application '%s'.", strings.Join(missing, " "), app.ClientID)
	}
	return ""
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
	if wantsPage(r) { // a person's browser: sign-in page and consent prompt (pages_routes.go)
		if admin, ok = s.adminConsentPage(w, r, a, app, redirectURI, graph, oidc, fail); !ok {
			return
		}
	} else if hint := q.Get("login_hint"); hint != "" {
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
