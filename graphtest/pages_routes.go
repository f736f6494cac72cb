package graphtest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// The pages' side of the authorize and admin-consent endpoints (see
// pages.go). A browser first GETs the endpoint and sees the sign-in page;
// the page POSTs the chosen account back to the same URL (query intact),
// which answers with the consent prompt when consent is needed, whose
// Accept or Cancel POSTs again. The OAuth parameters always travel in the
// URL's query, as in the first request.

// signInFailure is what the sign-in page says when the account is unknown.
const signInFailure = "This username may be incorrect. Make sure you typed it correctly. Otherwise, contact your admin."

// postedLogin returns the account the sign-in page posted: the typed
// address when there is one, else the picked account.
func postedLogin(r *http.Request) string {
	if typed := strings.TrimSpace(r.PostForm.Get("login_other")); typed != "" {
		return typed
	}
	return strings.TrimSpace(r.PostForm.Get("login"))
}

// showSignIn renders the sign-in page for the authority's users, the one
// hint names picked, with errMsg (empty for none).
func (s *Server) showSignIn(w http.ResponseWriter, r *http.Request, a authority, app *App, admin bool, hint, errMsg string) {
	v := signInView{App: viewApp(app), Admin: admin, Action: r.URL.RequestURI(), Error: errMsg}
	ts := []*Tenant{a.tenant}
	switch dh := s.Tenant(r.URL.Query().Get("domain_hint")); {
	case a.tenant != nil:
	case dh != nil: // domain_hint narrows organizations and common to one tenant, as for Browse
		ts = []*Tenant{dh}
	default:
		ts = slices.DeleteFunc(s.Tenants(), func(t *Tenant) bool { return t.ID == PersonalTenantID })
	}
	picked := false
	for _, t := range ts {
		for _, u := range t.Users() {
			c := hint != "" && (strings.EqualFold(hint, u.UserPrincipalName) || strings.EqualFold(hint, u.Mail))
			picked = picked || c
			v.Accounts = append(v.Accounts, accountView{DisplayName: u.DisplayName, UserPrincipalName: u.UserPrincipalName, Admin: u.Admin, Checked: c})
		}
	}
	if !picked {
		v.Typed = hint
	}
	status := http.StatusOK
	if errMsg != "" {
		status = http.StatusBadRequest
	}
	renderPage(w, status, "signin", v)
}

// chosenUser reads the account a browser chose on the sign-in page. On a
// GET, or when the account is unknown, it shows the sign-in page and ok is
// false.
func (s *Server) chosenUser(w http.ResponseWriter, r *http.Request, a authority, app *App, admin bool) (u *User, ok bool) {
	hint := r.URL.Query().Get("login_hint")
	if r.Method != http.MethodPost {
		s.showSignIn(w, r, a, app, admin, hint, "")
		return nil, false
	}
	if err := r.ParseForm(); err != nil {
		s.showSignIn(w, r, a, app, admin, hint, "The form could not be read; try again.")
		return nil, false
	}
	login := postedLogin(r)
	if login == "" {
		s.showSignIn(w, r, a, app, admin, hint, "Enter an email address, or pick an account.")
		return nil, false
	}
	if u = s.pickUser(a, login, ""); u == nil {
		s.showSignIn(w, r, a, app, admin, login, signInFailure)
		return nil, false
	}
	return u, true
}

// mayConsent reports whether u may consent to missing for themselves: an
// administrator may, a user only when the tenant allows user consent and
// no permission needs an administrator.
func mayConsent(u *User, missing []string) bool {
	t := u.tenant
	t.srv.mu.Lock()
	userConsent := t.userConsent
	t.srv.mu.Unlock()
	return u.Admin || (userConsent && !slices.ContainsFunc(missing, needsAdmin))
}

// signInPage is authorize for a browser: the sign-in page, then the consent
// prompt when the user is missing permissions they may grant (or an
// administrator asked with prompt=consent). It returns the user once they
// signed in and, where the prompt was shown, pressed Accept; the caller
// goes on as for Browse (recording the consent, issuing the code). Cancel
// sends Entra's access_denied (AADSTS65004) through fail. When ok is false
// the response is written.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request, a authority, app *App, graph, oidc []string, fail func(code, desc string)) (u *User, ok bool) {
	if u, ok = s.chosenUser(w, r, a, app, false); !ok {
		return nil, false
	}
	prompt := r.URL.Query().Get("prompt")
	missing := s.ungranted(u, app.ClientID, graph)
	forOrg := prompt == "consent" && u.Admin
	if prompt == "none" || (len(missing) == 0 && !forOrg) || !mayConsent(u, missing) {
		return u, true // nothing to ask, or Entra's refusal, which the caller makes
	}
	switch r.PostForm.Get("consent") {
	case "accept":
		return u, true
	case "cancel":
		fail("access_denied", "AADSTS65004: User declined to consent to access the app.")
		return nil, false
	}
	ask := missing
	if forOrg {
		ask = graph
	}
	renderPage(w, http.StatusOK, "consent", consentView{App: viewApp(app), User: u, Action: r.URL.RequestURI(),
		ForOrganization: forOrg, Permissions: permissionViews(ask, oidc)})
	return nil, false
}

// adminConsentPage is the admin-consent endpoint for a browser: the
// sign-in page asking for an administrator, then the consent prompt for
// the whole organization. It returns the administrator once they pressed
// Accept; the caller grants as for Browse. A personal account gets Entra's
// AADSTS500200 error page, a user who is not an administrator the "Need
// admin approval" page (AADSTS90094), and Cancel sends access_denied
// (AADSTS65004) through fail. When ok is false the response is written.
func (s *Server) adminConsentPage(w http.ResponseWriter, r *http.Request, a authority, app *App, redirectURI string, graph, oidc []string, fail func(code, desc string)) (admin *User, ok bool) {
	u, ok := s.chosenUser(w, r, a, app, true)
	if !ok {
		return nil, false
	}
	if u.TenantID == PersonalTenantID {
		errorPage(w, http.StatusBadRequest, s.withTrace(fmt.Sprintf("AADSTS500200: User account '%s' is a personal Microsoft account. Personal Microsoft accounts are not supported for this application unless explicitly invited to an organization. Try signing out and signing back in with an organizational account.", u.UserPrincipalName)))
		return nil, false
	}
	if !u.Admin {
		q := r.URL.Query()
		s.needAdminApproval(w, app, redirectURI, "query", q.Get("state"), r.URL.RequestURI(),
			s.withTrace("AADSTS90094: The grant requires admin permission. The signed-in user is not an administrator of the tenant."),
			map[string][]string{"admin_consent": {"True"}})
		return nil, false
	}
	switch r.PostForm.Get("consent") {
	case "accept":
		return u, true
	case "cancel":
		fail("access_denied", "AADSTS65004: User declined to consent to access the app.")
		return nil, false
	}
	renderPage(w, http.StatusOK, "consent", consentView{App: viewApp(app), User: u, Action: r.URL.RequestURI(),
		ForOrganization: true, Permissions: permissionViews(graph, oidc)})
	return nil, false
}
