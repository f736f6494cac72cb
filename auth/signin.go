package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"golang.org/x/oauth2"

	"github.com/m365kit/m365kit/internal/urlcheck"
	"github.com/m365kit/m365kit/scopes"
)

// SignInRequest is what a sign-in asks for.
type SignInRequest struct {
	// Features are the features to request consent for; SignIn is always
	// included.
	Features []scopes.Feature
	// LoginHint pre-fills the username (login_hint).
	LoginHint string
	// DomainHint skips home-realm discovery (domain_hint): a verified
	// domain or the tenant ID of an earlier sign-in.
	DomainHint string
	// Prompt is "", "login", "none", "consent" or "select_account". Empty
	// means select_account, unless LoginHint is set (the two cannot be
	// combined), then no prompt.
	Prompt string
	// Claims is the claims challenge of an ErrReauthRequired error, to
	// satisfy Conditional Access on this sign-in.
	Claims string
	// ReturnTo is a path on the application's own site to go to after
	// sign-in ("/meetings?week=2"), kept in the Pending for the
	// application's use. SignInURL refuses anything else (a URL with a
	// scheme or host, "//host", backslashes, control characters), so a
	// value taken from a request cannot become an open redirect.
	ReturnTo string
}

// User is a user who signed in, as the validated ID token names them.
type User struct {
	// AccountID is the key of the user's tokens: ObjectID.TenantID.
	AccountID string
	// TenantID is the user's tenant (tid).
	TenantID string
	// ObjectID is the user's immutable ID in the tenant (oid), equal to
	// Graph's user id.
	ObjectID string
	// Name is the display name.
	Name string
	// Username is the sign-in name (preferred_username); for display only,
	// never for authorization.
	Username string
	// Email is the email claim, if the tenant sends one.
	Email string
	// GrantedScopes are the Graph scopes the tokens carry.
	GrantedScopes []string
}

// SignInURL returns the authorize URL to send the user's browser to, and
// the Pending the callback needs: keep it server-side or in PendingCookie.
// The URL carries a fresh state, nonce and S256 PKCE challenge, the
// features' scopes and response_mode=form_post. It does no I/O, so it
// takes no context, like consent's AdminConsentURL.
func (a *App) SignInURL(req SignInRequest) (string, Pending, error) {
	for _, f := range req.Features {
		if !f.Valid() {
			return "", Pending{}, fmt.Errorf("auth: SignInRequest.Features: unknown feature %q", f)
		}
	}
	prompt := req.Prompt
	switch prompt {
	case "":
		if req.LoginHint == "" {
			prompt = "select_account"
		}
	case "login", "none", "consent", "select_account":
	default:
		return "", Pending{}, fmt.Errorf("auth: SignInRequest.Prompt %q is not login, none, consent or select_account", req.Prompt)
	}
	if err := checkReturnTo(req.ReturnTo); err != nil {
		return "", Pending{}, err
	}
	if prompt == "select_account" && req.LoginHint != "" {
		return "", Pending{}, errors.New("auth: SignInRequest.Prompt select_account cannot be combined with LoginHint")
	}
	p := Pending{
		State:    randomString(24),
		Nonce:    randomString(24),
		Verifier: oauth2.GenerateVerifier(),
		Features: slices.Clone(req.Features),
		Expires:  a.now().Add(a.signInTTL).UTC(),
		ReturnTo: req.ReturnTo,
	}
	q := url.Values{
		"client_id":             {a.clientID},
		"response_type":         {"code"},
		"redirect_uri":          {a.redirectURL},
		"response_mode":         {"form_post"},
		"scope":                 {strings.Join(scopes.For(req.Features...), " ")},
		"state":                 {p.State},
		"nonce":                 {p.Nonce},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(p.Verifier)},
		"code_challenge_method": {"S256"},
	}
	if prompt != "" {
		q.Set("prompt", prompt)
	}
	if req.LoginHint != "" {
		q.Set("login_hint", req.LoginHint)
	}
	if req.DomainHint != "" {
		q.Set("domain_hint", req.DomainHint)
	}
	if req.Claims != "" {
		q.Set("claims", req.Claims)
	}
	return a.authority + "/oauth2/v2.0/authorize?" + q.Encode(), p, nil
}

// CompleteSignIn finishes a sign-in from the authority's callback request
// r (a form POST or a query GET) and the sign-in's Pending. It checks the
// state, redeems the code exactly once, validates the ID token (RS256
// signature against the tenant's keys, issuer, audience, lifetime, nonce),
// refuses personal accounts and tenants Config.AllowTenant refuses, and
// only then stores the user's tokens.
//
// Errors are *Error: ErrInvalidState, ErrSignInFailed, ErrInvalidIDToken,
// ErrAccountNotAllowed, ErrConsentRequired or ErrTransient.
func (a *App) CompleteSignIn(ctx context.Context, r *http.Request, p Pending) (*User, error) {
	fail := func(kind error, reason string) (*User, error) {
		return nil, &Error{Op: "sign in", Kind: kind, Reason: reason}
	}
	if p.State == "" || p.Nonce == "" || p.Verifier == "" {
		return fail(ErrInvalidState, "no pending sign-in")
	}
	if !a.now().Before(p.Expires) {
		return fail(ErrInvalidState, "the pending sign-in expired")
	}
	if r.Body != nil {
		// A callback form holds a code, a state and a session ID.
		r.Body = http.MaxBytesReader(nil, r.Body, maxCallbackBody)
	}
	if err := r.ParseForm(); err != nil {
		return fail(ErrInvalidState, "the callback request is malformed or too large")
	}
	state := r.Form.Get("state")
	if subtle.ConstantTimeCompare([]byte(state), []byte(p.State)) != 1 {
		return fail(ErrInvalidState, "the callback's state is not the pending sign-in's")
	}
	if code := r.Form.Get("error"); code != "" {
		e := &Error{Op: "sign in", Kind: ErrSignInFailed, Code: code, Description: firstLine(r.Form.Get("error_description"))}
		if n := e.AADSTS(); n != 0 {
			e.Codes = []int{n}
		}
		if code == "consent_required" || e.AADSTS() == 65001 {
			e.Kind = ErrConsentRequired
		}
		return nil, e
	}
	code := r.Form.Get("code")
	if code == "" {
		return fail(ErrSignInFailed, "the callback carries neither code nor error")
	}
	sc := graphScopes(p.Features)
	ad := &cacheAdapter{store: a.store, capture: true}
	c, err := a.client(ad)
	if err != nil {
		return nil, &Error{Op: "sign in", Err: err}
	}
	res, err := c.AcquireTokenByAuthCode(ctx, code, a.redirectURL, sc, confidential.WithChallenge(p.Verifier))
	if err != nil {
		e := classify("sign in", "", err, sc, nil)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		switch {
		case !isCallErr(err) && e.Err != nil:
			// The network failed before Entra answered (the code may
			// still be unspent): ErrTransient, as documented.
			e.Kind = ErrTransient
			explainUnreachable(e, a.host, err)
		case e.Kind != ErrConsentRequired:
			// Entra answered (an error, or a 200 that does not decode):
			// the code is spent by its first redemption attempt, so
			// nothing about it is transient or a re-authentication of a
			// stored account.
			e.Kind = ErrSignInFailed
		}
		return nil, e
	}
	check := idTokenCheck{
		clientID: a.clientID, nonce: p.Nonce, host: a.host, now: a.now(),
		allowPersonalGuests: a.allowGuests, allowTenant: a.allowTenant, keys: a.jwks.key,
	}
	cl, err := check.validate(ctx, res.IDToken.RawToken)
	if err != nil {
		return nil, err
	}
	// The account ID is MSAL's home account ID (client_info uid.utid),
	// which keys its cache entries; it must name the ID token's user.
	accountID := res.Account.HomeAccountID
	if !strings.EqualFold(accountID, cl.Oid+"."+cl.Tid) || ad.capturedKey != accountID {
		return fail(ErrInvalidIDToken, "client_info does not name the ID token's user")
	}
	unlock, err := a.lock(ctx, accountID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	a.forget(accountID)
	// Version 0: a sign-in replaces whatever is stored. It is the user's
	// newest grant; a refresh that started from older tokens and saves
	// after it keeps this refresh token (see cacheAdapter.Export).
	if err := a.store.Save(ctx, accountID, ad.captured, 0); err != nil {
		return nil, &Error{Op: "sign in", AccountID: accountID, Kind: ErrTransient, Reason: "token store failed", Err: err}
	}
	a.remember(accountID, strings.ToLower(strings.Join(sc, " ")), res.AccessToken, res.ExpiresOn)
	username := cl.PreferredUsername
	if username == "" {
		username = cl.UPN
	}
	var granted []string
	for _, g := range res.GrantedScopes {
		n := scopes.Normalize(g)
		if isOIDC(n) {
			continue
		}
		if n != "" && !slices.ContainsFunc(granted, func(s string) bool { return strings.EqualFold(s, n) }) {
			granted = append(granted, n)
		}
	}
	return &User{
		AccountID: accountID, TenantID: strings.ToLower(cl.Tid), ObjectID: strings.ToLower(cl.Oid),
		Name: cl.Name, Username: username, Email: cl.Email, GrantedScopes: granted,
	}, nil
}

// maxCallbackBody bounds the sign-in callback's form body.
const maxCallbackBody = 64 << 10

// checkReturnTo accepts an empty ReturnTo or a path on the same site.
func checkReturnTo(p string) error {
	if err := urlcheck.LocalPath(p); err != nil {
		return fmt.Errorf("auth: SignInRequest.ReturnTo: %w", err)
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// HandlerConfig configures the sign-in handlers Handlers returns.
type HandlerConfig struct {
	// CookieKey seals the pending-sign-in cookie (32 bytes).
	CookieKey []byte
	// Features are requested on every sign-in.
	Features []scopes.Feature
	// SignedIn is called after a successful sign-in; it typically starts
	// the application's session and redirects.
	SignedIn func(w http.ResponseWriter, r *http.Request, u *User, p Pending)
	// Failed is called when the sign-in fails (default: a plain 400 or
	// 403 page naming the kind of failure, never its details).
	Failed func(w http.ResponseWriter, r *http.Request, err error)
}

// Handlers returns the two HTTP handlers of "Sign in with Microsoft":
// start redirects to the authority (with login_hint and domain_hint taken
// from its query), keeping the Pending in a sealed cookie; callback, at
// Config.RedirectURL's path, completes the sign-in.
func (a *App) Handlers(hc HandlerConfig) (start, callback http.Handler, err error) {
	if len(hc.CookieKey) != 32 {
		return nil, nil, fmt.Errorf("auth: HandlerConfig.CookieKey is %d bytes, want 32", len(hc.CookieKey))
	}
	if hc.SignedIn == nil {
		return nil, nil, errors.New("auth: HandlerConfig.SignedIn is nil")
	}
	failed := hc.Failed
	if failed == nil {
		failed = defaultFailed
	}
	key := slices.Clone(hc.CookieKey)
	start = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, err := a.SignInURL(SignInRequest{
			Features: hc.Features, LoginHint: r.URL.Query().Get("login_hint"), DomainHint: r.URL.Query().Get("domain_hint"),
		})
		if err != nil {
			failed(w, r, err)
			return
		}
		c, err := PendingCookie(key, p)
		if err != nil {
			failed(w, r, err)
			return
		}
		http.SetCookie(w, c)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, u, http.StatusFound)
	})
	callback = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, ClearPendingCookie())
		p, err := ReadPendingCookie(r, key)
		if err != nil {
			failed(w, r, err)
			return
		}
		u, err := a.CompleteSignIn(r.Context(), r, p)
		if err != nil {
			failed(w, r, err)
			return
		}
		hc.SignedIn(w, r, u, p)
	})
	return start, callback, nil
}

func defaultFailed(w http.ResponseWriter, _ *http.Request, err error) {
	status := http.StatusBadRequest
	msg := "Sign-in failed."
	switch {
	case errors.Is(err, ErrAccountNotAllowed):
		status, msg = http.StatusForbidden, "This account cannot sign in here. Use a work or school account of an allowed organisation."
	case errors.Is(err, ErrConsentRequired):
		status, msg = http.StatusForbidden, "Your organisation has not granted this app the permissions it needs. Ask an administrator."
	case errors.Is(err, ErrInvalidState):
		msg = "The sign-in expired or was started in another browser. Please try again."
	case errors.Is(err, ErrTransient):
		status, msg = http.StatusServiceUnavailable, "Microsoft sign-in is temporarily unavailable. Please try again."
	}
	var e *Error
	if errors.As(err, &e) && e.AADSTS() != 0 {
		msg += " (AADSTS" + strconv.Itoa(e.AADSTS()) + ")"
	}
	http.Error(w, msg, status)
}
