package consent

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/m365kit/m365kit/scopes"
)

// Grant is a completed admin consent, as Microsoft's redirect reports it.
//
// The tenant is a claim, not proof. Anyone can call the redirect URL with
// any tenant ID, and the state only proves that this backend issued the
// consent link. Record the tenant as onboarded only once a user of that
// tenant has signed in (an ID token whose tid equals TenantID was
// validated); then call Confirm. Never authorize anyone on TenantID alone.
//
// A Grant is a plain value; Confirm changes it, so do not call Confirm
// while other goroutines read the Grant.
type Grant struct {
	// TenantID is the tenant (a GUID) Microsoft's redirect names, lower case.
	// Unverified: see TenantVerified.
	TenantID string
	// TenantVerified is false when Complete returns: TenantID is what the
	// redirect claims. It becomes true only through Confirm, after a user
	// of the tenant signed in.
	TenantVerified bool
	// Scopes are the scopes Microsoft reports granted, without the Graph
	// resource prefix ("Mail.Read"), in the order reported.
	Scopes []string
	// Requested are the scopes the consent URL asked for, unqualified.
	Requested []string
	// Features are the features the consent URL asked for (from Features or
	// Choice); nil when it asked for explicit Scopes.
	Features []scopes.Feature
	// Missing are the requested permissions the grant does not cover; empty
	// when everything asked for was granted.
	Missing []scopes.Permission
	// ReturnTo is the Request's ReturnTo: a relative path on the vendor's
	// site, safe to redirect to, or empty.
	ReturnTo string
	// Nonce identifies this consent attempt. The state is valid for
	// Config.StateTTL and may be replayed within it; a caller that wants
	// each link used once records the nonces it has completed.
	Nonce string
	// Issued is when the consent URL was made.
	Issued time.Time
}

// Confirm marks the grant's tenant verified after a user of tenantID has
// signed in (tenantID is the tid of a validated ID token). It is an error
// when the tenants differ: the admin consented for one tenant and someone
// from another signed in.
func (g *Grant) Confirm(tenantID string) error {
	if !strings.EqualFold(strings.TrimSpace(tenantID), g.TenantID) || g.TenantID == "" {
		return fmt.Errorf("consent: signed-in tenant %q is not the consented tenant %q", tenantID, g.TenantID)
	}
	g.TenantVerified = true
	return nil
}

// maxQuery bounds the callback query Complete parses.
const maxQuery = 16 << 10

// Complete handles Microsoft's redirect to Config.RedirectURL. It first
// verifies the state (signature, then expiry): a missing, forged, tampered
// or expired state is an error matching ErrInvalidState, and nothing else
// in the request is trusted. Then:
//
//   - when the redirect carries error, Complete returns a *Error with the
//     OAuth error, the description, the AADSTS code and the trace and
//     correlation IDs (Diagnose explains it);
//   - otherwise it returns the Grant: the tenant ID, the granted scopes and
//     what was requested, still unverified (see Grant).
//
// The redirect arrives as a GET with a query; a POSTed form is read too.
func (f *Flow) Complete(r *http.Request) (*Grant, error) {
	g, _, err := f.complete(r)
	return g, err
}

// complete is Complete that also returns the verified state (nil when the
// state did not verify).
func (f *Flow) complete(r *http.Request) (*Grant, *verifiedState, error) {
	if r == nil || r.URL == nil {
		return nil, nil, errors.New("consent: Complete: nil request")
	}
	q, err := callbackParams(r)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.verify(q.Get("state"))
	if err != nil {
		return nil, nil, err
	}
	g, err := grantFrom(q, st)
	return g, st, err
}

// grantFrom reads the redirect's result once the state verified.
func grantFrom(q url.Values, st *verifiedState) (*Grant, error) {
	tenant := strings.ToLower(strings.TrimSpace(q.Get("tenant")))
	if code := q.Get("error"); code != "" || q.Has("error_description") {
		if code == "" {
			code = "unknown_error"
		}
		e := newError(code, q.Get("error_description"))
		e.ReturnTo = st.returnTo
		if isGUID(tenant) {
			e.Tenant = tenant
		}
		return nil, e
	}
	if !strings.EqualFold(q.Get("admin_consent"), "true") {
		return nil, errors.New("consent: callback has neither admin_consent=True nor an error; is RedirectURL shared with another flow?")
	}
	if !isGUID(tenant) {
		return nil, fmt.Errorf("consent: callback tenant %q is not a tenant ID", clean(tenant, 64))
	}
	if isGUID(st.tenant) && st.tenant != tenant {
		return nil, fmt.Errorf("consent: callback tenant %s is not the tenant %s the consent link was made for", tenant, st.tenant)
	}
	var granted []string
	for _, s := range strings.Fields(q.Get("scope")) {
		n := scopes.Normalize(s)
		if !slices.ContainsFunc(granted, func(g string) bool { return strings.EqualFold(g, n) }) {
			granted = append(granted, n)
		}
	}
	g := &Grant{
		TenantID:  tenant,
		Scopes:    granted,
		Requested: st.requested(),
		Features:  st.features,
		ReturnTo:  st.returnTo,
		Nonce:     st.nonce,
		Issued:    st.issued,
	}
	g.Missing = missing(granted, st)
	return g, nil
}

// callbackParams returns the redirect's parameters: the query, and for a
// POST also the form body.
func callbackParams(r *http.Request) (url.Values, error) {
	if len(r.URL.RawQuery) > maxQuery {
		return nil, fmt.Errorf("consent: callback query is %d bytes, more than %d", len(r.URL.RawQuery), maxQuery)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("consent: callback query is malformed: %w", err)
	}
	if r.Method == http.MethodPost && r.Body != nil {
		r.Body = http.MaxBytesReader(nil, r.Body, maxQuery)
		if err := r.ParseForm(); err != nil {
			return nil, fmt.Errorf("consent: callback form is malformed: %w", err)
		}
		for k, vs := range r.PostForm {
			if !q.Has(k) {
				q[k] = vs
			}
		}
	}
	return q, nil
}

// missing returns the requested permissions granted does not cover.
func missing(granted []string, st *verifiedState) []scopes.Permission {
	if len(st.explicit) == 0 {
		return scopes.Missing(granted, st.features...)
	}
	var out []scopes.Permission
	for _, name := range st.explicit {
		if name == ".default" {
			continue // "everything configured": nothing to compare with
		}
		p, known := scopes.ByName(name)
		if !known {
			if !slices.ContainsFunc(granted, func(g string) bool { return strings.EqualFold(g, name) }) {
				out = append(out, scopes.Permission{Name: name})
			}
			continue
		}
		if slices.ContainsFunc(scopes.Missing(granted, p.Feature), func(m scopes.Permission) bool { return m.Name == p.Name }) {
			out = append(out, p)
		}
	}
	return out
}
