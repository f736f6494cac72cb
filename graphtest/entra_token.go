package graphtest

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/m365kit/m365kit/scopes"
)

// EntraError is an error the token endpoint answers with, in Entra's JSON
// body: {"error", "error_description", "error_codes", "timestamp",
// "trace_id", "correlation_id", "error_uri", "suberror", "claims"}.
type EntraError struct {
	// Status is the HTTP status; 0 means 400.
	Status int
	// Error is the OAuth error code, such as "invalid_grant".
	Error string
	// SubError is Entra's suberror, such as "bad_token"; empty omits it.
	SubError string
	// Description is the error_description, starting with "AADSTSnnnnn:".
	// Entra's trace, correlation and timestamp lines are appended.
	Description string
	// Codes are the AADSTS numbers of error_codes.
	Codes []int
	// Claims is a claims challenge (JSON); empty omits it.
	Claims string
}

// ErrRevoked is the error for a refresh token whose grant was revoked
// (password reset, "revoke sessions"): invalid_grant, suberror bad_token,
// AADSTS50173.
func ErrRevoked() EntraError {
	return EntraError{Status: http.StatusBadRequest, Error: "invalid_grant", SubError: "bad_token", Codes: []int{50173},
		Description: "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password."}
}

// ErrInteractionRequired is the error Conditional Access gives when the
// user must complete multi-factor authentication: interaction_required,
// AADSTS50076, with the claims challenge claims (JSON, may be empty).
func ErrInteractionRequired(claims string) EntraError {
	return EntraError{Status: http.StatusBadRequest, Error: "interaction_required", Codes: []int{50076}, Claims: claims,
		Description: "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '00000003-0000-0000-c000-000000000000'."}
}

// ErrConsentRequired is the error for a token request that asks for scopes
// nobody consented to: invalid_grant, suberror consent_required, AADSTS65001.
func ErrConsentRequired(scopes ...string) EntraError {
	d := "AADSTS65001: The user or administrator has not consented to use the application. Send an interactive authorization request for this user and resource."
	if len(scopes) > 0 {
		d += " Missing: " + strings.Join(scopes, " ") + "."
	}
	return EntraError{Status: http.StatusBadRequest, Error: "invalid_grant", SubError: "consent_required", Codes: []int{65001}, Description: d}
}

// ErrRefreshExpired is the error for a refresh token that expired through
// inactivity: invalid_grant, AADSTS700082.
func ErrRefreshExpired() EntraError {
	return EntraError{Status: http.StatusBadRequest, Error: "invalid_grant", Codes: []int{700082},
		Description: "AADSTS700082: The refresh token has expired due to inactivity. The token was issued on 2024-01-01T00:00:00Z and was inactive for 90.00:00:00."}
}

// ErrSecretExpired is the error for an expired client secret:
// invalid_client, AADSTS7000222, HTTP 401.
func ErrSecretExpired() EntraError {
	return EntraError{Status: http.StatusUnauthorized, Error: "invalid_client", Codes: []int{7000222},
		Description: "AADSTS7000222: The provided client secret keys for app are expired. Visit the Azure portal to create new keys for your app."}
}

// FailNextToken makes the next token request fail with e. Calls queue up:
// two calls fail the next two requests.
func (s *Server) FailNextToken(e EntraError) {
	s.entra.mu.Lock()
	defer s.entra.mu.Unlock()
	s.entra.failNext = append(s.entra.failNext, e)
}

// FailNextToken5xx makes the next token request fail with 503
// temporarily_unavailable, once.
func (s *Server) FailNextToken5xx() {
	s.entra.mu.Lock()
	defer s.entra.mu.Unlock()
	s.entra.fail5xx++
}

// BadSignatureNext makes the next ID token carry a signature that does not
// verify against the keys endpoint.
func (s *Server) BadSignatureNext() {
	s.entra.mu.Lock()
	defer s.entra.mu.Unlock()
	s.entra.badSig++
}

// NextIDToken lets f change the claims of the next ID token before it is
// signed: a wrong aud, an expired exp, another nonce, the personal tenant's
// tid. Calls queue up, one per token.
func (s *Server) NextIDToken(f func(claims map[string]any)) {
	s.entra.mu.Lock()
	defer s.entra.mu.Unlock()
	s.entra.idMutators = append(s.entra.idMutators, f)
}

// TokenCalls returns how many requests reached the token endpoint,
// failed ones included.
func (s *Server) TokenCalls() int {
	s.entra.mu.Lock()
	defer s.entra.mu.Unlock()
	return s.entra.tokenCalls
}

// RevokeRefreshTokens revokes every refresh token issued to u, as an
// administrator's "revoke sessions" does: the next refresh fails with
// ErrRevoked's error. Access tokens stay valid until they expire.
func (s *Server) RevokeRefreshTokens(u *User) {
	s.entra.mu.Lock()
	defer s.entra.mu.Unlock()
	for _, g := range s.entra.refresh {
		if g.user == u {
			g.revoked = true
		}
	}
}

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
		if !containsFold(seen, g) {
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
		s.issue(w, r, tr, c.user, c.nonce, nil)
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
	if fail != nil {
		s.writeEntraError(w, r, *fail)
		return
	}
	s.issue(w, r, tr, g.user, "", g)
}

// usedRefresh is the error for a refresh token redeemed before.
var usedRefresh = EntraError{Error: "invalid_grant", Codes: []int{70000},
	Description: "AADSTS70000: Provided grant is invalid or malformed. graphtest: this refresh token was already redeemed and replaced by the one in that response; store the rotated token (or start the server WithRefreshTokenReuse)."}

// issue checks consent for the requested Graph scopes and writes a token
// response for u: an access token with every scope the client holds, an ID
// token when openid is asked, a new refresh token with offline_access.
// A refresh token being redeemed (old) is used up only when the response
// succeeds, so a failed refresh leaves it valid, as Entra does.
func (s *Server) issue(w http.ResponseWriter, r *http.Request, tr tokenRequest, u *User, nonce string, old *refreshGrant) {
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
		idt, err := s.idToken(u, tr.app.ClientID, nonce)
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
// claim changes and signature damage.
func (s *Server) idToken(u *User, clientID, nonce string) (string, error) {
	now := s.now()
	sub := sha256.Sum256([]byte(clientID + "|" + u.TenantID + "|" + u.ID))
	claims := map[string]any{
		"aud":                clientID,
		"iss":                issuerFor(u.TenantID),
		"iat":                now.Unix(),
		"nbf":                now.Unix(),
		"exp":                now.Add(time.Hour).Unix(),
		"name":               u.DisplayName,
		"oid":                u.ID,
		"preferred_username": u.UserPrincipalName,
		"sub":                b64.EncodeToString(sub[:]),
		"tid":                u.TenantID,
		"uti":                randomToken(11),
		"ver":                "2.0",
	}
	if u.Mail != "" {
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
