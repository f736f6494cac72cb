package main

// Step 3 of the administrator's guide, "Verify the integration is
// working", made live. After consent the success page offers "Verify now:
// sign in with Microsoft": the administrator (or a colleague) signs in
// through auth.App, asking for the features the consent granted, with
// state, nonce and PKCE, the pending sign-in sealed in a cookie between the
// redirect and Microsoft's form post. The verification page then runs
// consent.Verify with that user's Graph client: one live Microsoft Graph
// call per feature, and for each feature that fails, consent.Diagnose's
// explanation of why and who fixes it.
//
//	GET  /verify/start?tenant=ID   the button: to Microsoft's sign-in
//	POST /verify/callback          auth.App's redirect URL (form_post)
//	GET  /verify                   the live checks; reload to check again
//	POST /verify/signout           forget the signed-in user and their tokens

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/consent"
	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/scopes"
)

// verifyCallbackPath is the verification sign-in's redirect URI path, on
// the consent callback's host: register it on the app registration too
// (Authentication > Web > Redirect URIs).
const verifyCallbackPath = "/verify/callback"

// verifyCookie names the cookie of a signed-in verification.
const verifyCookie = "verification"

// liveCheck is the state of the verification sign-ins; server embeds it.
type liveCheck struct {
	app       *auth.App
	cookieKey []byte       // seals the pending sign-in cookie
	graphHC   *http.Client // Graph's HTTP client: the demo's; nil against Microsoft
	secure    bool         // cookies only over https

	// verifications are the signed-in users by session ID; a real app
	// keeps them in its session store.
	verifications map[string]*auth.User
}

// verifyRedirectURL returns the verification sign-in's redirect URL: the
// consent callback's scheme and host with verifyCallbackPath.
func verifyRedirectURL(consentRedirect string) (string, error) {
	u, err := url.Parse(consentRedirect)
	if err != nil {
		return "", err
	}
	if u.Path == verifyCallbackPath {
		return "", errors.New("the redirect URL's path " + verifyCallbackPath + " is the verification sign-in's; use another, such as /callback")
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: verifyCallbackPath}).String(), nil
}

// setUpLiveCheck builds the verification's auth.App (cfg nil: the demo
// app, whose registration gains the verification's redirect URI) and adds
// its routes to mux. direct says the browser reaches the demo's authority
// itself.
func (s *server) setUpLiveCheck(mux *http.ServeMux, cfg *setup.Config, consentRedirect string, direct bool) error {
	redirect, err := verifyRedirectURL(consentRedirect)
	if err != nil {
		return err
	}
	// The signed-in user's tokens live in memory for the checks: sealed,
	// as auth requires, with a key of this process.
	s.cookieKey = make([]byte, 32)
	storeKey := make([]byte, 32)
	if _, err := rand.Read(s.cookieKey); err != nil {
		return err
	}
	if _, err := rand.Read(storeKey); err != nil {
		return err
	}
	store, err := auth.Sealed(auth.NewMemoryStore(), storeKey)
	if err != nil {
		return err
	}
	var ac auth.Config
	if cfg != nil {
		ac = auth.Config{ClientID: cfg.ClientID, Credential: cfg.Credential}
	} else {
		ac = s.demo.AppConfig()
		reg := s.demo.Demo.App
		if !slices.Contains(reg.RedirectURIs, redirect) {
			reg.RedirectURIs = append(slices.Clone(reg.RedirectURIs), redirect)
			s.demo.Server.AddApp(reg)
		}
		s.graphHC = s.demo.Server.HTTPClient()
	}
	ac.RedirectURL, ac.Store = redirect, store
	// Only an organisation that granted consent here can verify.
	ac.AllowTenant = func(tenantID string) bool {
		_, ok := s.grantOf(tenantID)
		return ok
	}
	if s.app, err = auth.New(ac); err != nil {
		return err
	}
	s.secure = strings.HasPrefix(redirect, "https:")
	s.verifications = map[string]*auth.User{}

	// The start is ours, not HandlerConfig's: it asks for the features
	// this tenant granted. The callback is auth's.
	_, callback, err := s.app.Handlers(auth.HandlerConfig{CookieKey: s.cookieKey, SignedIn: s.verifySignedIn, Failed: s.verifyFailed})
	if err != nil {
		return err
	}
	var start http.Handler = http.HandlerFunc(s.verifyStart)
	if s.demo != nil && !direct {
		start = s.demoSignIn(start)
	}
	mux.Handle("GET /verify/start", start)
	mux.Handle("POST "+verifyCallbackPath, callback)
	mux.HandleFunc("GET "+verifyCallbackPath, s.verifyCallbackAgain)
	mux.HandleFunc("GET /verify", s.verifyPage)
	mux.Handle("POST /verify/signout", sameOrigin(http.HandlerFunc(s.verifySignOut)))
	return nil
}

// grantOf returns a copy of the consent recorded for the tenant, if any.
func (s *server) grantOf(tenantID string) (consent.Grant, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.tenants[strings.ToLower(strings.TrimSpace(tenantID))]
	if !ok {
		return consent.Grant{}, false
	}
	return *g, true
}

// checked are the features the verification checks: all the app offers
// (the home page's list), granted or not, so a feature left out shows as
// not ready.
var checked = scopes.AllRecommended().Features

// signInFeatures are the features a verification sign-in asks for: those
// whose permissions the tenant's consent granted. Asking for more would
// show the administrator a consent prompt for themselves alone.
func signInFeatures(g consent.Grant) []scopes.Feature {
	var out []scopes.Feature
	for _, f := range checked {
		if len(scopes.Missing(g.Scopes, f)) == 0 {
			out = append(out, f)
		}
	}
	return out
}

// verifyStart sends the browser to Microsoft's sign-in for the tenant in
// the query (login_hint is passed on), keeping the pending sign-in
// (state, nonce, PKCE verifier) in a sealed, HttpOnly cookie.
func (s *server) verifyStart(w http.ResponseWriter, r *http.Request) {
	g, ok := s.grantOf(r.URL.Query().Get("tenant"))
	if !ok {
		renderVerify(w, http.StatusNotFound, "verify-nothing", nil)
		return
	}
	u, p, err := s.app.SignInURL(auth.SignInRequest{
		Features:   signInFeatures(g),
		DomainHint: g.TenantID,
		LoginHint:  r.URL.Query().Get("login_hint"),
	})
	if err != nil {
		s.verifyFailed(w, r, err)
		return
	}
	c, err := auth.PendingCookie(s.cookieKey, p)
	if err != nil {
		s.verifyFailed(w, r, err)
		return
	}
	http.SetCookie(w, c)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusFound)
}

// demoSignIn plays Microsoft's sign-in page in the demo: it follows the
// start's redirect with graphtest's browser and answers with the
// self-posting form Microsoft sends for response_mode=form_post.
func (s *server) demoSignIn(start http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		start.ServeHTTP(rec, r)
		for _, c := range rec.Result().Cookies() {
			http.SetCookie(w, c)
		}
		if rec.Code != http.StatusFound {
			w.Header().Set("Content-Type", rec.Header().Get("Content-Type"))
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		cb, err := s.demo.Server.Browse(r.Context(), rec.Header().Get("Location"))
		if err == nil {
			err = cb.ParseForm()
		}
		if err != nil {
			http.Error(w, "demo authority: "+err.Error(), http.StatusBadGateway)
			return
		}
		renderVerify(w, http.StatusOK, "formpost", map[string]any{"Action": cb.URL.Path, "Fields": cb.PostForm})
	})
}

// verifySignedIn starts the verification session of the user who signed
// in and confirms the tenant's consent: a user of the tenant signed in.
func (s *server) verifySignedIn(w http.ResponseWriter, r *http.Request, u *auth.User, _ auth.Pending) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		http.Error(w, "session: "+err.Error(), http.StatusInternalServerError)
		return
	}
	id := base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	if g := s.tenants[strings.ToLower(u.TenantID)]; g != nil {
		_ = g.Confirm(u.TenantID) // AllowTenant let in only tenants with a grant
	}
	s.verifications[id] = u
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: verifyCookie, Value: id, Path: "/verify", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/verify", http.StatusSeeOther)
}

// verifyFailed explains a verification sign-in that did not complete.
func (s *server) verifyFailed(w http.ResponseWriter, r *http.Request, err error) {
	status, kind := http.StatusBadRequest, "The sign-in did not complete."
	switch {
	case errors.Is(err, auth.ErrInvalidState):
		if _, ok := s.verification(r); ok { // the form posted again after it succeeded
			http.Redirect(w, r, "/verify", http.StatusSeeOther)
			return
		}
		kind = "The sign-in expired or was started in another browser. Start it again from the page you were on."
	case errors.Is(err, auth.ErrAccountNotAllowed):
		status = http.StatusForbidden
		kind = "This account belongs to an organisation that has not granted consent here. Sign in with an account of the organisation that did, or grant consent for this one first."
	case errors.Is(err, auth.ErrConsentRequired):
		kind = "Your organisation has not granted the permissions the sign-in asks for."
	case errors.Is(err, auth.ErrInvalidIDToken):
		kind = "Microsoft's answer did not pass the ID-token checks."
	}
	data := map[string]any{"Kind": kind}
	if d, ok := consent.Diagnose(err); ok {
		data["Diagnosis"] = d
	}
	renderVerify(w, status, "verify-failed", data)
}

// verification returns the user of the request's verification session.
func (s *server) verification(r *http.Request) (*auth.User, bool) {
	c, err := r.Cookie(verifyCookie)
	if err != nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.verifications[c.Value]
	return u, ok
}

// verifyCallbackAgain answers a GET of the callback address (a reload
// after the form post, the back button): the checks when signed in, else
// a page saying so.
func (s *server) verifyCallbackAgain(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.verification(r); ok {
		http.Redirect(w, r, "/verify", http.StatusSeeOther)
		return
	}
	renderVerify(w, http.StatusBadRequest, "verify-nothing", nil)
}

// liveRow is one feature of the live verification table.
type liveRow struct {
	Title     string
	Means     string // what works for users when it is ready (guide step 3)
	Ready     bool
	Call      string // the Graph call made, "GET /me"; empty when none was
	Result    string // what it found, or how it failed
	Missing   []string
	Diagnosis *consent.Diagnosis // why it is not ready, who fixes it; nil when ready
}

// means says, per feature, what a ready check means for users, in the
// words of step 3 of the guide.
var means = map[scopes.Feature]string{
	scopes.SignIn:   `Users can sign in (or register) with "Sign in with Microsoft".`,
	scopes.Calendar: "Users' Outlook calendars and events appear; the notetaker finds their meetings.",
	scopes.Teams:    "Users can share clips to Teams channels and chats.",
	scopes.Mail:     "Recent emails sync once a user turns on email sync in their profile (read-only).",
}

// verifyPage runs the live checks for the signed-in user: consent.Verify
// with their Graph client, on every load.
func (s *server) verifyPage(w http.ResponseWriter, r *http.Request) {
	u, ok := s.verification(r)
	if !ok {
		renderVerify(w, http.StatusOK, "verify-nothing", nil)
		return
	}
	// The token source asks only for what the tokens carry; a feature the
	// grant lacks is reported by Verify without a call.
	var features []scopes.Feature
	for _, f := range checked {
		if len(scopes.Missing(u.GrantedScopes, f)) == 0 {
			features = append(features, f)
		}
	}
	var opts []graphclient.Option
	if s.graphHC != nil {
		opts = append(opts, graphclient.WithHTTPClient(s.graphHC))
	}
	gc, err := graphclient.New(s.app.TokenSource(u.AccountID, features...), opts...)
	if err != nil {
		http.Error(w, "graph client: "+err.Error(), http.StatusInternalServerError)
		return
	}
	report := consent.Verify(r.Context(), gc, u.GrantedScopes, checked...)

	data := map[string]any{"User": u, "AllReady": report.Ready()}
	if g, ok := s.grantOf(u.TenantID); ok {
		data["Grant"] = g
	}
	var rows []liveRow
	var off []string // titles of the features not granted
	ready, failing := 0, 0
	for _, c := range report.Checks {
		row := liveRow{Title: c.Feature.Title(), Means: means[c.Feature], Ready: c.Ready, Result: c.Detail}
		if c.Probe != "" {
			row.Call = strings.Replace(c.Probe, " ", " /", 1) // "GET me" -> "GET /me"
		}
		for _, p := range c.Missing {
			row.Missing = append(row.Missing, p.Name)
		}
		if !c.Ready && c.Diagnosis.Fix != "" {
			d := c.Diagnosis
			if len(c.Missing) > 0 {
				d.Meaning = "" // the Result column lists what is not granted
			}
			row.Diagnosis = &d
		}
		switch {
		case c.Ready:
			ready++
		case len(c.Missing) > 0:
			off = append(off, row.Title)
		default:
			failing++
		}
		rows = append(rows, row)
	}
	data["Rows"], data["ReadyCount"], data["Failing"], data["Off"] = rows, ready, failing, strings.Join(off, ", ")
	renderVerify(w, http.StatusOK, "verify", data)
}

// verifySignOut ends the verification: the session and the user's stored
// tokens.
func (s *server) verifySignOut(w http.ResponseWriter, r *http.Request) {
	if u, ok := s.verification(r); ok {
		if err := s.app.SignOut(r.Context(), u.AccountID); err != nil {
			http.Error(w, "sign-out failed; try again", http.StatusInternalServerError)
			return
		}
		c, _ := r.Cookie(verifyCookie)
		s.mu.Lock()
		delete(s.verifications, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: verifyCookie, Path: "/verify", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// sameOrigin refuses a cross-site request (a form another site posts in
// the administrator's browser) with 403, by the browser's Sec-Fetch-Site
// and Origin headers (http.CrossOriginProtection), as signin-web guards
// its sign-out. The callback is not wrapped: Microsoft posts it from its
// own site by design.
func sameOrigin(h http.Handler) http.Handler {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		renderVerify(w, http.StatusForbidden, "refused", nil)
	}))
	return p.Handler(h)
}

// verifyPages are the verification's pages, in the style of the others.
var verifyPages = template.Must(template.Must(pages.Clone()).Parse(`
{{define "verify"}}{{template "top" "Step 3: verify the integration"}}
<h1>Step 3: is the integration working?</h1>
<p role="status">{{if .AllReady}}<span class="yes">Everything works.</span>
{{else if .Failing}}<span class="no">{{.ReadyCount}} of {{len .Rows}} features work.</span> The rows marked No say why, who can fix it and how.
{{else}}<span class="yes">Everything your organisation granted works.</span> Not granted, so turned off: {{.Off}}.{{end}}</p>
<p>Signed in as {{.User.Name}} ({{.User.Username}}){{with .Grant}}{{if .TenantVerified}}, a user of the organisation that granted consent
(tenant <code>{{.TenantID}}</code>), so its onboarding is confirmed{{end}}{{end}}.</p>
<p>Each row is one live Microsoft Graph call made just now on this user's behalf. The checks only read; nothing was changed.</p>
<table id="verification"><tr><th>Feature</th><th>Ready</th><th>Graph call</th><th>Result</th></tr>
{{range .Rows}}<tr><td><b>{{.Title}}</b>{{if .Ready}}<br><small>{{.Means}}</small>{{end}}</td>
<td>{{if .Ready}}<span class="yes">Yes</span>{{else}}<span class="no">No</span>{{end}}</td>
<td class="call">{{with .Call}}<code>{{.}}</code>{{else}}not made{{end}}</td>
<td>{{if .Missing}}Not granted: {{range .Missing}}<code>{{.}}</code> {{end}}{{else}}{{.Result}}{{end}}
{{with .Diagnosis}}<br><small>{{with .Meaning}}{{.}} {{end}}<b>Who fixes it:</b> {{.Fixer}}. <b>How:</b> {{.Fix}}</small>{{end}}</td></tr>
{{end}}</table>
{{if .Off}}{{with .Grant}}<p>To turn on the features marked <i>Not granted</i>, a tenant administrator grants access again:
<a href="/consent/start?choice=all&amp;tenant={{.TenantID}}">Grant access to all recommended resources</a>.</p>{{end}}{{end}}
<p><a class="button" href="/verify" id="verify-again">Check again</a></p>
<form method="post" action="/verify/signout"><p><button class="link" id="verify-signout">Sign out</button> (forgets this user's tokens here)
· <a href="/troubleshooting">Troubleshooting</a> · <a href="/">Back to the start</a></p></form>
</body></html>{{end}}
{{define "verify-nothing"}}{{template "top" "Verify the integration"}}
<h1>Nothing to verify yet</h1>
<p>The check of step 3 starts from the page shown after your organisation grants consent: its "Verify now" button signs you in with Microsoft.
This server keeps consents in memory only; if it restarted, grant consent again.</p>
<p><a class="button" href="/">Back to the start</a></p></body></html>{{end}}
{{define "verify-failed"}}{{template "top" "Verification sign-in failed"}}
<h1>The verification sign-in did not complete</h1><p>{{.Kind}}</p>
{{with .Diagnosis}}<p><b>{{if .Code}}AADSTS{{.Code}}{{else}}{{.GraphCode}}{{end}} {{.Name}}</b>: {{.Meaning}}</p>
<p><b>Who fixes it:</b> {{.Fixer}}. <b>How:</b> {{.Fix}}</p>{{end}}
<p><a href="/">Back to the start</a> · <a href="/troubleshooting">Troubleshooting</a></p></body></html>{{end}}
{{define "refused"}}{{template "top" "Request refused"}}
<h1>Request refused</h1>
<p>The request came from another website, so it was refused: a page elsewhere cannot sign you out here.</p>
<p><a href="/verify">Continue to the verification</a></p></body></html>{{end}}
{{define "formpost"}}{{template "top" "Signing in"}}
<form method="post" action="{{.Action}}" id="f">{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}
<noscript><button>Continue</button></noscript></form><script>document.getElementById("f").submit()</script></body></html>{{end}}
`))

func renderVerify(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = verifyPages.ExecuteTemplate(w, name, data)
}
