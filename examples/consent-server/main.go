// Consent-server is the onboarding page of a SaaS app for Microsoft 365
// administrators: an "Add to Microsoft 365" button that starts admin consent
// (step 1 of the admin guide), the consent callback, and troubleshooting pages
// that explain every AADSTS error with consent.Diagnose: what it means, who
// fixes it (the tenant admin, the user or the vendor) and how. After consent
// the administrator verifies the integration live (step 3, verifynow.go):
// they sign in with Microsoft and the app makes one Microsoft Graph call per
// feature on their behalf.
//
// Against the demo tenant (nothing configured) the server plays Microsoft's
// consent page itself, so the whole round trip works in a local browser:
//
//	go run ./examples/consent-server            # then open http://localhost:8080
//
// Against Microsoft, with the app registration's redirect URIs pointing at
// this server: the consent callback (for example
// http://localhost:8400/callback) and, on the same host, the verification
// sign-in's /verify/callback (http://localhost:8400/verify/callback), both as
// Web redirect URIs:
//
//	export M365KIT_CLIENT_ID=... M365KIT_CLIENT_SECRET=... M365KIT_REDIRECT_URL=http://localhost:8400/callback
//	go run ./examples/consent-server
//
// Pages: / (the button; choice=all or mailbox, optional tenant), /consent/start,
// the redirect URL's path (the callback), /verify/start?tenant=ID (Verify
// now), /verify/callback, /verify (the live checks), /troubleshooting and
// /troubleshooting?code=65004. Flags: -addr to listen on (default: the
// redirect URL's host and port).
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/m365kit/m365kit/consent"
	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/scopes"
)

func main() { setup.Main("consent-server", runEnv) }

// runEnv is the program (a setup.Program): main without the process
// around it, so tests call it with a shared demo tenant.
// It serves until ctx is done.
func runEnv(ctx context.Context, args []string, stdout, stderr io.Writer, env setup.Env) error {
	fs := flag.NewFlagSet("consent-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "address to listen on (default: the redirect URL's host and port)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; flags only", fs.Arg(0))
	}
	h, redirect, closeFn, err := newHandler(env)
	if err != nil {
		return err
	}
	defer closeFn()
	return setup.Serve(ctx, *addr, redirect, h, func(a net.Addr) {
		fmt.Fprintf(stdout, "consent server on http://%s (Microsoft redirects to %s)\n", a, redirect)
	})
}

// newHandler returns the app's handler and its redirect URL: for the
// configured app, or for the demo tenant (env.Demo, or a new one the
// returned function closes).
func newHandler(env setup.Env) (http.Handler, string, func(), error) {
	cfg, err := setup.Load(env.Getenv)
	if err != nil {
		return nil, "", nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, "", nil, err
	}
	s := &server{direct: env.BrowserReachesDemo, completed: map[string]*consent.Grant{}, tenants: map[string]*consent.Grant{}}
	closeFn := func() {}
	clientID, redirect := "", ""
	if cfg != nil {
		clientID, redirect = cfg.ClientID, cfg.RedirectURL
	} else {
		s.demo = env.Demo
		if s.demo == nil {
			if s.demo, err = m365test.Start(); err != nil {
				return nil, "", nil, err
			}
			closeFn = s.demo.Close
		}
		clientID, redirect = s.demo.Demo.App.ClientID, s.demo.Demo.App.RedirectURIs[0]
		// The demo tenant comes pre-consented; withdraw that so the button
		// really grants something.
		if g := s.demo.Demo.Tenant.Granted(clientID); len(g) > 0 {
			s.demo.Demo.Tenant.Revoke(clientID, g...)
		}
	}
	// A real deployment loads StateKey from its secret store, the same on
	// every instance; one process can make its own.
	s.flow, err = consent.New(consent.Config{ClientID: clientID, RedirectURL: redirect, StateKey: key})
	if err != nil {
		closeFn()
		return nil, "", nil, err
	}
	u, _ := url.Parse(redirect)
	callbackPath := u.Path
	if callbackPath == "" {
		callbackPath = "/"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.Handle("GET /consent/start", s.start())
	mux.Handle("GET "+callbackPath, s.flow.CallbackHandler(s.done))
	mux.HandleFunc("GET /troubleshooting", s.troubleshooting)
	if err := s.setUpLiveCheck(mux, cfg, redirect, env.BrowserReachesDemo); err != nil { // verifynow.go
		closeFn()
		return nil, "", nil, err
	}
	return mux, redirect, closeFn, nil
}

type server struct {
	flow   *consent.Flow
	demo   *m365test.Sandbox // nil against Microsoft
	direct bool              // the browser reaches the demo's authority itself

	liveCheck // the verification sign-in (verifynow.go)

	mu        sync.Mutex
	completed map[string]*consent.Grant // by Grant.Nonce, for reloads of the callback
	tenants   map[string]*consent.Grant // the latest by Grant.TenantID; a real app records them in its database
}

// start is the button's target: consent.Flow.StartHandler. In the demo the
// server also plays Microsoft's consent page (graphtest's browser) and sends
// the browser straight on to the callback, as Microsoft would.
func (s *server) start() http.Handler {
	start := s.flow.StartHandler(nil)
	if s.demo == nil || s.direct {
		return start
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("demo") == "decline" {
			s.demo.Server.DeclineNextConsent()
		}
		rec := httptest.NewRecorder()
		start.ServeHTTP(rec, r)
		if rec.Code != http.StatusFound {
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		cb, err := s.demo.Server.Browse(r.Context(), rec.Header().Get("Location"))
		if err != nil {
			http.Error(w, "demo authority: "+err.Error(), http.StatusBadGateway)
			return
		}
		for _, c := range rec.Result().Cookies() {
			http.SetCookie(w, c)
		}
		http.Redirect(w, r, cb.URL.RequestURI(), http.StatusSeeOther)
	})
}

var pages = template.Must(template.New("").Parse(`
{{define "top"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{.}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;line-height:1.5}
.button{display:inline-block;background:#2f2f2f;color:#fff;padding:.6rem 1rem;border-radius:4px;text-decoration:none}
code{background:#f3f3f3;padding:0 .2rem}td,th{text-align:left;padding:.2rem .6rem;vertical-align:top}
table{border-collapse:collapse}tr{border-bottom:1px solid #ddd}.yes{color:#107c10;font-weight:600}.no{color:#a4262c;font-weight:600}.codes td:last-child,.codes th:last-child{white-space:nowrap}
.call{white-space:nowrap}small{color:#444}
button.link{background:none;border:0;padding:0;color:#0645ad;text-decoration:underline;cursor:pointer;font:inherit}</style></head><body>{{end}}
{{define "home"}}{{template "top" "Add to Microsoft 365"}}
<h1>Connect your Microsoft 365 organisation</h1>
<p>A Global, Cloud Application or Application Administrator grants consent once for everyone in the organisation.
The app uses delegated permissions only: it acts for signed-in users and sees no more than they can.</p>
<p><a class="button" href="/consent/start?choice=all">Add to Microsoft 365</a> — calendar, Teams and email (all recommended resources)</p>
<p><a href="/consent/start?choice=mailbox">Grant access to the mailbox only</a> (email sync)</p>
{{if .Demo}}<p><small>Demo tenant: <a href="/consent/start?choice=all&amp;demo=decline">try a declined consent</a>.</small></p>{{end}}
<h2>What the app may do</h2>
<table><tr><th>Permission category</th><th>What the app can do</th><th>Required?</th><th>Permissions</th></tr>
{{range .Features}}<tr><td>{{.Title}}</td><td>{{.Summary}}</td><td>{{.Required}}</td><td>{{range .Scopes}}<code>{{.}}</code> {{end}}</td></tr>{{end}}</table>
<p><a href="/troubleshooting">Troubleshooting sign-in and consent errors</a></p></body></html>{{end}}
{{define "granted"}}{{template "top" "Consent granted"}}
<h1>Consent granted</h1>
{{if .Reloaded}}<p role="status"><b>This consent was already recorded.</b> Reloading this page changes nothing; continue with step 3 below.</p>{{end}}
<p>Your organisation (tenant <code>{{.Grant.TenantID}}</code>) granted the app these permissions.
{{if .Grant.Missing}}Some were not granted: the features that need them stay off.{{end}}</p>
<table id="granted"><tr><th>Feature</th><th>Permissions</th><th>Granted</th></tr>
{{range .Rows}}<tr><td>{{.Title}}</td><td>{{range .Scopes}}<code>{{.}}</code> {{end}}</td>
<td>{{if .Missing}}<span class="no">Not granted:</span> {{range .Missing}}<code>{{.}}</code> {{end}}{{else}}<span class="yes">Yes</span>{{end}}</td></tr>
{{end}}</table>
<h2>Step 3: verify the integration is working</h2>
<p>Sign in with a Microsoft 365 account of your organisation, yours or a colleague's.
The app then makes one live Microsoft Graph call per feature on that account's behalf
(its profile, its calendars, the teams it joined, its inbox) and shows what each found, or why it failed and who can fix it.
It only reads; nothing is changed.</p>
<p><a class="button" id="verify-now" href="/verify/start?tenant={{.Grant.TenantID}}">Verify now: sign in with Microsoft</a></p>
<p><a href="/troubleshooting">Troubleshooting</a> · <a href="/">Back</a></p></body></html>{{end}}
{{define "failed"}}{{template "top" "Consent did not complete"}}
<h1>Consent did not complete</h1>
{{with .Diagnosis}}<p><b>{{if .Code}}AADSTS{{.Code}}{{else}}{{.GraphCode}}{{end}} {{.Name}}</b>: {{.Meaning}}</p>
<p><b>Who fixes it:</b> {{.Fixer}}. <b>How:</b> {{.Fix}}</p>{{if .Link}}<p><a href="{{.Link}}">Microsoft's page about this error</a></p>{{end}}
{{else}}<p>{{.Message}}</p>{{end}}
{{if .TraceID}}<p>For Microsoft support: trace ID <code>{{.TraceID}}</code>, correlation ID <code>{{.CorrelationID}}</code>.</p>{{end}}
<p><a href="/">Try again</a> · <a href="/troubleshooting">Troubleshooting</a></p></body></html>{{end}}
{{define "troubleshooting"}}{{template "top" "Troubleshooting"}}
<h1>Troubleshooting Microsoft 365 sign-in and consent</h1>
{{with .One}}<h2>AADSTS{{.Code}} {{.Name}}</h2><p>{{.Meaning}}</p><p><b>Who fixes it:</b> {{.Fixer}}. <b>How:</b> {{.Fix}}</p>
<p><a href="{{.Link}}">Microsoft's page about this error</a></p>{{end}}
<p>Error pages from Microsoft and from this app show a code that starts with AADSTS. Find it below and open it to see what it means, who can fix it (the tenant admin, the user or the vendor) and how.</p>
<h2>Common errors</h2><table class="codes"><tr><th>Code</th><th>What it means</th><th>Who fixes it</th></tr>
{{range .All}}<tr><td><a href="/troubleshooting?code={{.Code}}">AADSTS{{.Code}}</a></td><td>{{with .Name}}{{.}}: {{end}}{{.Meaning}}</td><td>{{.Fixer}}</td></tr>{{end}}</table>
<p><a href="/">Back</a></p></body></html>{{end}}
`))

type featureRow struct {
	Title, Summary, Required string
	Scopes                   []string
}

func (s *server) home(w http.ResponseWriter, r *http.Request) {
	var rows []featureRow
	summaries := map[scopes.Feature]string{
		scopes.SignIn:   "Sign users in; read their basic profile (name, email)",
		scopes.Calendar: "Read and update calendar events; read online meeting details",
		scopes.Teams:    "Read team and channel names; post messages to channels and chats as the user",
		scopes.Mail:     "Read email messages (read-only: cannot send, modify or delete)",
	}
	for _, f := range scopes.AllRecommended().Features {
		var names []string
		for _, p := range scopes.Permissions(f) {
			if p.Feature == f {
				names = append(names, p.Name)
			}
		}
		rows = append(rows, featureRow{Title: f.Title(), Summary: summaries[f], Required: required[f], Scopes: names})
	}
	// The declined-consent shortcut needs the played authority; a browser that
	// reaches it has a Cancel button.
	render(w, http.StatusOK, "home", map[string]any{"Demo": s.demo != nil && !s.direct, "Features": rows})
}

// done answers the consent callback: the grant, or the error explained.
func (s *server) done(w http.ResponseWriter, r *http.Request, g *consent.Grant, err error) {
	if err == nil {
		// A real app records g.TenantID as "consented, unverified" here, and
		// as onboarded once a user of the tenant has signed in (g.Confirm,
		// which the verification's sign-in calls).
		s.mu.Lock()
		s.completed[g.Nonce] = g
		s.tenants[g.TenantID] = g
		s.mu.Unlock()
		render(w, http.StatusOK, "granted", grantedPage(g, false))
		return
	}
	if g := s.reloaded(r, err); g != nil {
		render(w, http.StatusOK, "granted", grantedPage(g, true))
		return
	}
	data := map[string]any{"Message": "The consent link expired or was not started here. Start again."}
	if d, ok := consent.Diagnose(err); ok {
		data["Diagnosis"] = d
	}
	var ce *consent.Error
	if errors.As(err, &ce) {
		data["TraceID"], data["CorrelationID"] = ce.TraceID, ce.CorrelationID
	}
	render(w, http.StatusBadRequest, "failed", data)
}

// commonCodes are the AADSTS codes administrators and users meet most while
// onboarding and signing in.
var commonCodes = []int{65001, 65004, 90094, 90095, 50105, 700016, 50011, 7000215, 7000222, 50076, 53003, 700082, 50173, 90072}

func (s *server) troubleshooting(w http.ResponseWriter, r *http.Request) {
	data := map[string]any{}
	if q := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(r.URL.Query().Get("code"))), "AADSTS"); q != "" {
		code, err := strconv.Atoi(q)
		if err != nil || code <= 0 {
			http.Error(w, "code: want an AADSTS number such as 65004", http.StatusBadRequest)
			return
		}
		d, _ := consent.DiagnoseCode(code) // unknown codes still get Microsoft's lookup link
		data["One"] = d
	}
	var all []consent.Diagnosis
	for _, c := range commonCodes {
		if d, ok := consent.DiagnoseCode(c); ok {
			all = append(all, d)
		}
	}
	data["All"] = all
	render(w, http.StatusOK, "troubleshooting", data)
}

func render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, name, data)
}
