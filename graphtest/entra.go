package graphtest

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
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

// init makes the authority's empty state.
func (e *entraState) init() {
	e.key = sync.OnceValues(parseSigningKey)
	e.codes = map[string]*authCode{}
	e.refresh = map[string]*refreshGrant{}
	e.userGrants = map[string][]string{}
}

// authCode is an issued authorization code.
type authCode struct {
	user        *User
	clientID    string
	redirectURI string
	authority   string // the {tenant} segment of the authorize request
	challenge   string
	nonce       string
	scope       string // the scope of the authorize request
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

// app returns the registered app, or nil.
func (s *Server) app(clientID string) *App {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apps[clientID]
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
// redirecting (unknown client, unregistered redirect URI, unknown user, a
// user who may not consent to what an interactive sign-in asks: Entra's
// "Need admin approval" page) Browse returns an error holding the page's
// AADSTS text.
func (s *Server) Browse(ctx context.Context, rawURL string) (*http.Request, error) {
	return Browse(ctx, s.HTTPClient(), rawURL)
}

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
