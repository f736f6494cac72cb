// Signin-web is "Sign in with Microsoft" on net/http: a sign-in button, the
// callback (auth.App.Handlers, which keep the pending sign-in in a sealed,
// HttpOnly cookie between the redirect and Microsoft's form post), a page
// showing the signed-in user with their profile read from Microsoft Graph on
// their behalf, and a sign-out that deletes their stored tokens.
//
// Against the demo tenant (nothing configured) the server also plays
// Microsoft's sign-in page, so it works in a local browser:
//
//	go run ./examples/signin-web                 # then open http://localhost:8080
//
// Against Microsoft (the app registration's Web redirect URI pointing here):
//
//	export M365KIT_CLIENT_ID=... M365KIT_CLIENT_SECRET=... M365KIT_REDIRECT_URL=http://localhost:8400/callback
//	go run ./examples/signin-web
//
// Tokens are stored as the quickstart stores them: sealed files under
// os.UserConfigDir()/m365kit. Flags: -addr to listen on (default: the
// redirect URL's host and port).
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/consent"
	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/scopes"
)

func main() { setup.Main("signin-web", runEnv) }

// runEnv is the program (a setup.Program): main without the process
// around it, so tests call it with a shared demo tenant.
// It serves until ctx is done.
func runEnv(ctx context.Context, args []string, stdout, stderr io.Writer, env setup.Env) error {
	fs := flag.NewFlagSet("signin-web", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "address to listen on (default: the redirect URL's host and port)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; flags only", fs.Arg(0))
	}
	s, err := newServer(env)
	if err != nil {
		return err
	}
	defer s.close()
	return setup.Serve(ctx, *addr, s.redirect, s.handler, func(a net.Addr) {
		fmt.Fprintf(stdout, "sign-in server on http://%s (Microsoft posts back to %s)\n", a, s.redirect)
	})
}

// session is a signed-in browser.
type session struct {
	user *auth.User
}

type server struct {
	app      *auth.App
	demo     *m365test.Sandbox // nil against Microsoft
	hc       *http.Client
	redirect string
	secure   bool // cookies only over https
	handler  http.Handler
	close    func()

	mu       sync.Mutex
	sessions map[string]session // by session ID; a real app uses its session store
}

const sessionCookie = "session"

// features are what a sign-in asks for: sign-in only; the app asks for more
// when a user turns a feature on.
var features = []scopes.Feature{scopes.SignIn}

func newServer(env setup.Env) (*server, error) {
	cfg, err := setup.Load(env.Getenv)
	if err != nil {
		return nil, err
	}
	s := &server{sessions: map[string]session{}, close: func() {}}
	if cfg != nil {
		store, err := cfg.Store()
		if err != nil {
			return nil, err
		}
		if s.app, err = cfg.App(store, nil); err != nil {
			return nil, err
		}
		s.redirect = cfg.RedirectURL
	} else {
		s.demo = env.Demo
		if s.demo == nil {
			if s.demo, err = m365test.Start(); err != nil {
				return nil, err
			}
			s.close = s.demo.Close
		}
		s.app, s.redirect, s.hc = s.demo.App, s.demo.Demo.App.RedirectURIs[0], s.demo.Server.HTTPClient()
	}
	u, _ := url.Parse(s.redirect)
	s.secure = u.Scheme == "https"
	// The cookie key seals pending sign-ins. A real deployment loads it from
	// its secret store, the same on every instance.
	cookieKey := make([]byte, 32)
	if _, err := rand.Read(cookieKey); err != nil {
		s.close()
		return nil, err
	}
	start, callback, err := s.app.Handlers(auth.HandlerConfig{CookieKey: cookieKey, Features: features, SignedIn: s.signedIn, Failed: s.failed})
	if err != nil {
		s.close()
		return nil, err
	}
	if s.demo != nil && !env.BrowserReachesDemo {
		start = s.demoAuthority(start)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.Handle("GET /signin", start)
	mux.Handle("POST "+u.Path, callback)
	mux.HandleFunc("GET "+u.Path, s.callbackAgain)                       // guard.go
	mux.Handle("POST /signout", sameOrigin(http.HandlerFunc(s.signOut))) // guard.go
	s.handler = mux
	return s, nil
}

// demoAuthority plays Microsoft's sign-in page in the demo: it follows the
// start handler's redirect with graphtest's browser and answers with the
// self-posting form Microsoft sends for response_mode=form_post.
func (s *server) demoAuthority(start http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		start.ServeHTTP(rec, r)
		for _, c := range rec.Result().Cookies() {
			http.SetCookie(w, c)
		}
		if rec.Code != http.StatusFound {
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		cb, err := s.demo.Server.Browse(r.Context(), rec.Header().Get("Location"))
		if err != nil {
			http.Error(w, "demo authority: "+err.Error(), http.StatusBadGateway)
			return
		}
		if err := cb.ParseForm(); err != nil {
			http.Error(w, "demo authority: "+err.Error(), http.StatusBadGateway)
			return
		}
		render(w, http.StatusOK, "formpost", map[string]any{"Action": cb.URL.Path, "Fields": cb.PostForm})
	})
}

func (s *server) signedIn(w http.ResponseWriter, r *http.Request, u *auth.User, _ auth.Pending) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		http.Error(w, "session: "+err.Error(), http.StatusInternalServerError)
		return
	}
	id := base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.sessions[id] = session{user: u}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *server) failed(w http.ResponseWriter, r *http.Request, err error) {
	data := map[string]any{"Kind": "The sign-in did not complete."}
	switch {
	case errors.Is(err, auth.ErrAccountNotAllowed):
		data["Kind"] = "This account cannot sign in here: use a work or school account."
	case errors.Is(err, auth.ErrConsentRequired):
		data["Kind"] = "Your organisation has not granted this app the permissions it needs."
	case errors.Is(err, auth.ErrInvalidState):
		if _, _, ok := s.current(r); ok { // the callback posted again after it succeeded
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		data["Kind"] = "The sign-in expired or was started in another browser."
	case errors.Is(err, auth.ErrInvalidIDToken):
		data["Kind"] = "Microsoft's answer did not pass the ID-token checks."
	}
	if d, ok := consent.Diagnose(err); ok {
		data["Diagnosis"] = d
	}
	render(w, http.StatusBadRequest, "failed", data)
}

func (s *server) current(r *http.Request) (string, session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", session{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[c.Value]
	return c.Value, sess, ok
}

// profile is what GET /me says about the user, read with their token.
type profile struct {
	DisplayName       string `json:"displayName"`
	JobTitle          string `json:"jobTitle"`
	Mail              string `json:"mail"`
	UserPrincipalName string `json:"userPrincipalName"`
}

func (s *server) home(w http.ResponseWriter, r *http.Request) {
	_, sess, ok := s.current(r)
	if !ok {
		data := map[string]any{}
		if s.demo != nil {
			data["DemoUsers"] = s.demo.Demo.Users
		}
		render(w, http.StatusOK, "signin", data)
		return
	}
	data := map[string]any{"User": sess.user}
	gc, err := s.graph(sess.user.AccountID)
	if err == nil {
		var me profile
		var req *http.Request
		if req, err = gc.NewRequest(r.Context(), "GET", "me?$select=displayName,jobTitle,mail,userPrincipalName", nil); err == nil {
			_, err = gc.Do(req, &me)
		}
		data["Me"] = me
	}
	if err != nil {
		data["GraphError"] = err.Error()
	}
	render(w, http.StatusOK, "user", data)
}

// graph returns a Graph client acting for the account: over the demo's
// HTTP client, or graphclient's default against Microsoft (s.hc nil).
func (s *server) graph(accountID string) (*graphclient.Client, error) {
	var opts []graphclient.Option
	if s.hc != nil {
		opts = append(opts, graphclient.WithHTTPClient(s.hc))
	}
	return graphclient.New(s.app.TokenSource(accountID, features...), opts...)
}

func (s *server) signOut(w http.ResponseWriter, r *http.Request) {
	id, sess, ok := s.current(r)
	if ok {
		if err := s.app.SignOut(r.Context(), sess.user.AccountID); err != nil {
			http.Error(w, "sign-out failed; try again", http.StatusInternalServerError)
			return
		}
		s.mu.Lock()
		delete(s.sessions, id)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

var pages = template.Must(template.New("").Parse(`
{{define "top"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{.}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;line-height:1.5}
.button{background:#2f2f2f;color:#fff;padding:.6rem 1rem;border:0;border-radius:4px;text-decoration:none;font-family:inherit;font-size:1rem;cursor:pointer}
code{background:#f3f3f3;padding:0 .2rem}</style></head><body>{{end}}
{{define "signin"}}{{template "top" "Sign in"}}
<h1>Welcome</h1>
<p><a class="button" href="/signin">Sign in with Microsoft</a></p>
<p>Work or school accounts only; personal Microsoft accounts are refused.</p>
{{with .DemoUsers}}<p><small>Demo tenant: sign in as {{range $i, $u := .}}{{if $i}} · {{end}}<a href="/signin?login_hint={{$u.UserPrincipalName}}">{{$u.DisplayName}}</a>{{end}}</small></p>{{end}}
</body></html>{{end}}
{{define "user"}}{{template "top" "Signed in"}}
<h1>Hello, {{.User.Name}}</h1>
<p>Signed in as <code>{{.User.Username}}</code> from tenant <code>{{.User.TenantID}}</code>.<br>
Account ID (the key of the user's tokens): <code>{{.User.AccountID}}</code><br>
Granted: {{range .User.GrantedScopes}}<code>{{.}}</code> {{end}}</p>
{{with .Me}}<p>From Microsoft Graph (<code>GET /me</code>, on the user's behalf): {{.DisplayName}}{{with .JobTitle}}, {{.}}{{end}}, {{if .Mail}}{{.Mail}}{{else}}{{.UserPrincipalName}}{{end}}</p>{{end}}
{{with .GraphError}}<p>Microsoft Graph: {{.}}</p>{{end}}
<form method="post" action="/signout"><button class="button">Sign out</button></form>
</body></html>{{end}}
{{define "failed"}}{{template "top" "Sign-in failed"}}
<h1>Sign-in failed</h1><p>{{.Kind}}</p>
{{with .Diagnosis}}<p><b>AADSTS{{.Code}} {{.Name}}</b>: {{.Meaning}}<br><b>Who fixes it:</b> {{.Fixer}}. <b>How:</b> {{.Fix}}</p>{{end}}
<p><a href="/">Try again</a></p></body></html>{{end}}
{{define "formpost"}}{{template "top" "Signing in"}}
<form method="post" action="{{.Action}}" id="f">{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}
<noscript><button>Continue</button></noscript></form><script>document.getElementById("f").submit()</script></body></html>{{end}}
`))

func render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, name, data)
}
