package consent

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/m365kit/m365kit/scopes"

	"github.com/m365kit/m365kit/internal/urlcheck"
)

// DefaultAuthority is the Entra ID authority of Microsoft's global cloud.
const DefaultAuthority = "https://login.microsoftonline.com"

// DefaultStateTTL is how long a consent URL stays valid when
// Config.StateTTL is zero.
const DefaultStateTTL = 15 * time.Minute

// minStateKey is the shortest state key New accepts, in bytes: an HMAC-SHA256
// key shorter than the hash adds no strength and is usually a typo.
const minStateKey = 32

// personalTenantID is the tenant every personal Microsoft account belongs
// to; it cannot give admin consent.
const personalTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"

// Config is the plain configuration of a consent Flow. New copies what it
// needs; changing a Config afterwards changes nothing.
type Config struct {
	// ClientID is the Application (client) ID of the vendor's multi-tenant
	// app registration, a GUID.
	ClientID string
	// RedirectURL is where Microsoft sends the administrator back. It must
	// exactly match a redirect URI registered on the app. It is an absolute
	// https URL; http is accepted only on a loopback host (localhost,
	// 127.0.0.1, [::1]) for development.
	RedirectURL string
	// StateKey signs the state parameter: at least 32 random bytes, kept
	// secret. Every instance of the backend that may receive the callback
	// needs the same key.
	StateKey []byte
	// Authority is the Entra ID authority, by default
	// https://login.microsoftonline.com. A national cloud's authority, such
	// as https://login.microsoftonline.us, may be used instead.
	Authority string
	// StateTTL is how long a consent URL stays valid, by default 15
	// minutes. A callback that arrives later is refused.
	StateTTL time.Duration
}

// Flow builds admin-consent URLs and completes their callbacks. It holds
// no per-request state: the state parameter carries everything the
// callback needs, signed. A Flow is safe for concurrent use.
type Flow struct {
	clientID  string
	redirect  string
	key       []byte
	authority string // without a trailing slash
	ttl       time.Duration
	now       func() time.Time
}

// New validates cfg and returns a Flow. An invalid field is an error that
// names it.
func New(cfg Config) (*Flow, error) {
	id := strings.TrimSpace(cfg.ClientID)
	if id == "" {
		return nil, errors.New("consent: Config.ClientID is empty")
	}
	if !isGUID(id) {
		return nil, fmt.Errorf("consent: Config.ClientID %q is not a GUID (the app registration's Application (client) ID)", id)
	}
	if err := checkRedirectURL(cfg.RedirectURL); err != nil {
		return nil, err
	}
	if len(cfg.StateKey) < minStateKey {
		return nil, fmt.Errorf("consent: Config.StateKey is %d bytes, want at least %d random bytes", len(cfg.StateKey), minStateKey)
	}
	authority, err := checkAuthority(cfg.Authority)
	if err != nil {
		return nil, err
	}
	ttl := cfg.StateTTL
	switch {
	case ttl == 0:
		ttl = DefaultStateTTL
	case ttl < 0:
		return nil, fmt.Errorf("consent: Config.StateTTL %v is negative", ttl)
	}
	return &Flow{
		clientID:  id,
		redirect:  cfg.RedirectURL,
		key:       slices.Clone(cfg.StateKey),
		authority: authority,
		ttl:       ttl,
		now:       time.Now,
	}, nil
}

func checkRedirectURL(raw string) error {
	if raw == "" {
		return errors.New("consent: Config.RedirectURL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("consent: Config.RedirectURL is not a URL")
	}
	if !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("consent: Config.RedirectURL %q is not an absolute URL", urlcheck.Shown(raw))
	}
	if u.User != nil {
		return fmt.Errorf("consent: Config.RedirectURL %q carries user info", urlcheck.Shown(raw))
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("consent: Config.RedirectURL %q has a fragment, which Entra does not allow", urlcheck.Shown(raw))
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if urlcheck.IsLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("consent: Config.RedirectURL %q uses http on a non-loopback host; use https (http is only for localhost)", urlcheck.Shown(raw))
	}
	return fmt.Errorf("consent: Config.RedirectURL %q has scheme %q, want https", urlcheck.Shown(raw), u.Scheme)
}

func checkAuthority(raw string) (string, error) {
	if raw == "" {
		return DefaultAuthority, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("consent: Config.Authority is not a URL")
	}
	if u.Scheme != "https" || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("consent: Config.Authority %q is not an absolute https URL", urlcheck.Shown(raw))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("consent: Config.Authority %q must not carry user info, a query or a fragment", urlcheck.Shown(raw))
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

// Request describes one admin-consent request: plain data, read once by
// AdminConsentURL. Exactly one of Features, Choice and Scopes says what to
// ask for.
type Request struct {
	// Tenant is the customer's tenant: its ID (a GUID), a verified domain
	// such as contoso.com, or "organizations" (any work or school tenant;
	// the administrator's sign-in decides). Empty means "organizations".
	// "common" and "consumers" are refused: personal Microsoft accounts
	// cannot give admin consent.
	Tenant string
	// Features asks for the scopes the features need (scopes.For).
	Features []scopes.Feature
	// Choice asks for a named consent choice, such as
	// scopes.MailboxAccess() ("Grant access to Mailbox") or
	// scopes.AllRecommended().
	Choice scopes.Choice
	// Scopes asks for explicit scope names, with or without the Graph
	// resource prefix. []string{".default"} asks for every permission
	// configured on the app registration.
	Scopes []string
	// ReturnTo is a path on the vendor's own site (such as
	// "/settings/microsoft") that the callback hands back in the Grant, so
	// the caller can send the administrator on. It must be a relative path
	// starting with a single "/"; empty is allowed.
	ReturnTo string
}

// request is a validated Request.
type request struct {
	tenant    string
	features  []scopes.Feature // nil when explicit scopes were asked for
	explicit  []string         // explicit scope names, unqualified; nil with features
	requested []string         // unqualified scope names to ask for
	returnTo  string
}

func (f *Flow) validate(req Request) (request, error) {
	var r request
	tenant, err := normalizeTenant(req.Tenant)
	if err != nil {
		return r, err
	}
	r.tenant = tenant
	if err := checkReturnTo(req.ReturnTo); err != nil {
		return r, err
	}
	r.returnTo = req.ReturnTo

	set := 0
	for _, n := range []int{len(req.Features), len(req.Choice.Features), len(req.Scopes)} {
		if n > 0 {
			set++
		}
	}
	switch {
	case set == 0:
		return r, errors.New("consent: Request asks for nothing: set Features, Choice or Scopes")
	case set > 1:
		return r, errors.New("consent: Request sets more than one of Features, Choice and Scopes; set exactly one")
	}

	switch {
	case len(req.Scopes) > 0:
		for i, s := range req.Scopes {
			n := scopes.Normalize(s)
			if n == "" {
				return r, fmt.Errorf("consent: Request.Scopes[%d] is empty", i)
			}
			if strings.IndexFunc(n, func(c rune) bool { return c <= ' ' || c == 0x7f || c > 0x7e }) >= 0 {
				return r, fmt.Errorf("consent: Request.Scopes[%d] %q contains a space or a character not allowed in a scope", i, s)
			}
			if !slices.ContainsFunc(r.explicit, func(e string) bool { return strings.EqualFold(e, n) }) {
				r.explicit = append(r.explicit, n)
			}
		}
		r.requested = r.explicit
	default:
		fs := req.Features
		field := "Features"
		if len(fs) == 0 {
			fs, field = req.Choice.Features, "Choice.Features"
		}
		for i, ft := range fs {
			if !ft.Valid() {
				return r, fmt.Errorf("consent: Request.%s[%d] %q is not a feature scopes knows", field, i, string(ft))
			}
			if !slices.Contains(r.features, ft) {
				r.features = append(r.features, ft)
			}
		}
		r.requested = scopes.For(r.features...)
	}
	return r, nil
}

// qualify returns the scope names as the v2 admin-consent endpoint wants
// them: Graph scopes with the Graph resource prefix, OpenID Connect scopes
// bare, scopes of other resources (those holding "://") unchanged.
func qualify(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		if strings.Contains(n, "://") {
			out[i] = n
			continue
		}
		out[i] = scopes.Qualified([]string{n})[0]
	}
	return out
}

// AdminConsentURL returns the URL to send a tenant administrator to:
// Microsoft's v2 admin-consent endpoint,
// {authority}/{tenant}/v2.0/adminconsent, with client_id, redirect_uri,
// a signed state and scope (the requested scopes, space-separated, Graph
// scopes qualified as https://graph.microsoft.com/Name).
//
// The URL is valid for Config.StateTTL. An invalid request is an error
// naming the field.
func (f *Flow) AdminConsentURL(req Request) (string, error) {
	u, _, err := f.consentURL(req)
	return u, err
}

// consentURL returns the admin-consent URL and the nonce its state carries.
func (f *Flow) consentURL(req Request) (string, string, error) {
	r, err := f.validate(req)
	if err != nil {
		return "", "", err
	}
	st, nonce, err := f.sign(r)
	if err != nil {
		return "", "", err
	}
	q := url.Values{}
	q.Set("client_id", f.clientID)
	q.Set("redirect_uri", f.redirect)
	q.Set("scope", strings.Join(qualify(r.requested), " "))
	q.Set("state", st)
	return f.authority + "/" + url.PathEscape(r.tenant) + "/v2.0/adminconsent?" + q.Encode(), nonce, nil
}

// normalizeTenant returns the tenant segment for a request, refusing the
// ones that cannot give admin consent.
func normalizeTenant(t string) (string, error) {
	lower := strings.ToLower(strings.TrimSpace(t))
	switch {
	case lower == "" || lower == "organizations":
		return "organizations", nil
	case lower == "common":
		return "", errors.New(`consent: Request.Tenant "common" is refused: it admits personal Microsoft accounts, which cannot give admin consent; use "organizations" or the customer's tenant ID or domain`)
	case lower == "consumers" || lower == personalTenantID:
		return "", fmt.Errorf("consent: Request.Tenant %q is refused: it is the personal-account tenant, which has no administrator to give consent; use \"organizations\" or the customer's tenant ID or domain", t)
	case isGUID(lower), isDomain(lower):
		return lower, nil
	}
	return "", fmt.Errorf(`consent: Request.Tenant %q is not a tenant ID (GUID), a domain such as contoso.com, or "organizations"`, t)
}

// isGUID reports whether s is a GUID in the 8-4-4-4-12 hex form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isDomain reports whether s (lower case) is a DNS name with at least two
// labels and a non-numeric top-level label.
func isDomain(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := range len(l) {
			c := l[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	return strings.ContainsFunc(tld, func(r rune) bool { return 'a' <= r && r <= 'z' })
}

// checkReturnTo refuses anything but a path on the same site (see
// urlcheck.LocalPath).
func checkReturnTo(p string) error {
	if err := urlcheck.LocalPath(p); err != nil {
		return fmt.Errorf("consent: Request.ReturnTo: %w", err)
	}
	return nil
}
