package graphtest

import (
	"crypto/x509"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/m365kit/m365kit/scopes"
)

// The authority's pages for people. A browser asks for a page (its Accept
// header names text/html) and gets what Entra shows: a sign-in page
// (choose or type a user of the tenant; there are no passwords), the
// consent prompt with Accept and Cancel, the self-submitting form of
// response_mode=form_post and error pages carrying the AADSTS code. A
// client that does not ask for HTML (Server.Browse, MSAL, a test's own
// requests) gets Entra's decision at once, the user chosen by login_hint.
// The handlers that use these pages are in pages_routes.go.

//go:embed pages/pages.html
var pageFiles embed.FS

// pages are the authority's HTML templates.
var pages = template.Must(template.ParseFS(pageFiles, "pages/pages.html"))

// Certificate returns the certificate the fake serves for
// login.microsoftonline.com, graph.microsoft.com and the loopback
// addresses: what a real browser or another process must trust to reach
// it (Chromium: --ignore-certificate-errors-spki-list with the base64
// SHA-256 of its RawSubjectPublicKeyInfo, and --host-resolver-rules
// mapping both host names to URL's host and port).
func (s *Server) Certificate() *x509.Certificate { return s.ts.Certificate() }

// wantsPage reports whether r comes from a browser showing pages to a
// person: browsers ask for text/html on every navigation and form
// submission, Go's HTTP client and MSAL do not.
func wantsPage(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// renderPage writes the template name with data as an HTML page that is
// never cached.
func renderPage(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, name, data)
}

// appView is how a page names the application.
type appView struct {
	Name, ClientID, Initial string
}

// viewApp returns how the pages show app: its display name, else its
// client ID.
func viewApp(app *App) appView {
	name := app.DisplayName
	if name == "" {
		name = app.ClientID
	}
	initial := "A"
	if name != "" {
		initial = strings.ToUpper(name[:1])
	}
	return appView{Name: name, ClientID: app.ClientID, Initial: initial}
}

// field is one hidden form field.
type field struct{ Name, Value string }

// fields returns params as hidden fields, sorted by name.
func fields(params url.Values) []field {
	var out []field
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range params {
			if !yield(k) {
				return
			}
		}
	}) {
		out = append(out, field{Name: k, Value: params.Get(k)})
	}
	return out
}

// writeFormPost answers with the page of response_mode=form_post: a form
// that posts params to redirectURI, submitted by script at once, with a
// Continue button for a browser without JavaScript.
func writeFormPost(w http.ResponseWriter, redirectURI string, params url.Values) {
	renderPage(w, http.StatusOK, "formpost", map[string]any{"Action": redirectURI, "Fields": fields(params)})
}

// backForm is the "Return to the application" button of an error page:
// the error sent to the app's redirect URI as the response mode sends it.
type backForm struct {
	Method, Action string
	Fields         []field
}

// errorView is the data of an error page.
type errorView struct {
	Title, Lead string
	App         *appView
	// Message is the description's first line, "AADSTSnnnnn: ...".
	Message string
	// Code is the AADSTS number, 0 when the message has none.
	Code                              int
	TraceID, CorrelationID, Timestamp string
	Back                              *backForm
	Other                             string // the sign-in page again, for another account
}

// aadsts finds the code of an AADSTS message.
var aadsts = regexp.MustCompile(`AADSTS(\d+)`)

// adminApprovalCodes are the errors Entra shows as "Need admin approval".
var adminApprovalCodes = []int{65001, 90094, 90095}

// newErrorView parses desc, an error description with the trace lines
// withTrace adds, into an error page in Entra's manner: "Need admin
// approval" for the consent an administrator must give, "Sign in" with
// "Sorry, but we're having trouble signing you in." for the rest.
func newErrorView(desc string) errorView {
	v := errorView{Title: "Sign in", Lead: "Sorry, but we’re having trouble signing you in."}
	lines := strings.Split(desc, "\r\n")
	v.Message = strings.TrimSpace(lines[0])
	for _, l := range lines[1:] {
		k, val, _ := strings.Cut(l, ": ")
		switch k {
		case "Trace ID":
			v.TraceID = val
		case "Correlation ID":
			v.CorrelationID = val
		case "Timestamp":
			v.Timestamp = val
		}
	}
	if m := aadsts.FindStringSubmatch(v.Message); m != nil {
		v.Code, _ = strconv.Atoi(m[1])
	}
	if slices.Contains(adminApprovalCodes, v.Code) {
		v.Title = "Need admin approval"
		v.Lead = "This app needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it."
	}
	return v
}

// errorPage is what Entra shows in the browser when it cannot or will not
// redirect back to the app: desc is the description (with withTrace's
// lines). It is the one function the authorize and admin-consent handlers
// call for an error page; Server.Browse reads the message back from the
// element with id "error".
func errorPage(w http.ResponseWriter, status int, desc string) {
	renderPage(w, status, "error", newErrorView(desc))
}

// needAdminApproval shows Entra's "Need admin approval" page for app: the
// user cannot consent to what the app asks (desc, with its AADSTS code).
// "Return to the application without granting consent" sends
// error=access_denied with desc to redirectURI as mode (query or
// form_post) sends it, with state; "Have an admin account?" goes back to
// the sign-in page at signIn.
func (s *Server) needAdminApproval(w http.ResponseWriter, app *App, redirectURI, mode, state, signIn, desc string, extra url.Values) {
	v := newErrorView(desc)
	av := viewApp(app)
	v.App = &av
	v.Title = "Need admin approval"
	v.Lead = av.Name + " needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it."
	p := url.Values{"error": {"access_denied"}, "error_description": {desc}}
	for k, vs := range extra {
		p[k] = vs
	}
	if state != "" {
		p.Set("state", state)
	}
	back := &backForm{Method: "post", Action: redirectURI}
	if mode != "form_post" {
		back.Method = "get"
		if u, err := url.Parse(redirectURI); err == nil {
			for k, vs := range u.Query() {
				p[k] = vs
			}
			u.RawQuery = ""
			back.Action = u.String()
		}
	}
	back.Fields = fields(p)
	v.Back = back
	v.Other = signIn
	renderPage(w, http.StatusOK, "error", v)
}

// accountView is one account on the sign-in page.
type accountView struct {
	DisplayName, UserPrincipalName string
	Admin, Checked                 bool
}

// signInView is the data of the sign-in page.
type signInView struct {
	App      appView
	Admin    bool // an administrator is asked for (admin consent)
	Action   string
	Accounts []accountView
	Typed    string
	Error    string
}

// permissionView is one line of the consent prompt.
type permissionView struct {
	Name, Description    string
	AdminConsentRequired bool
}

// consentView is the data of the consent prompt.
type consentView struct {
	App             appView
	User            *User
	Action          string
	ForOrganization bool
	Permissions     []permissionView
}

// permissionViews describes the requested scopes for the consent prompt:
// Graph permissions by the catalog's descriptions, then the OpenID
// Connect scopes as Entra words them.
func permissionViews(graph, oidc []string) []permissionView {
	var out []permissionView
	for _, g := range graph {
		pv := permissionView{Name: g, Description: g, AdminConsentRequired: needsAdmin(g)}
		if p, ok := scopes.ByName(g); ok && p.Description != "" {
			pv.Description = p.Description
		}
		out = append(out, pv)
	}
	// Entra's wording for the OpenID Connect scopes.
	words := map[string]string{
		"openid":         "Sign you in",
		"profile":        "View your basic profile",
		"email":          "View your email address",
		"offline_access": "Maintain access to data you have given it access to",
	}
	for _, o := range []string{"openid", "profile", "email", "offline_access"} {
		if containsFold(oidc, o) {
			out = append(out, permissionView{Name: o, Description: words[o]})
		}
	}
	return out
}
