package main

import (
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/examples/internal/programtest"
	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/m365test"
)

// browser is a TLS test server for the app and a client with a cookie jar
// (the pending sign-in cookie is Secure, so the test speaks https).
type browser struct {
	s  *server
	t  *testing.T
	ts *httptest.Server
	c  *http.Client
}

func newBrowser(t *testing.T, d *m365test.Sandbox) *browser {
	t.Helper()
	s, err := newServer(setup.Env{Getenv: programtest.NoEnv, Demo: d})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	ts := httptest.NewTLSServer(s.handler)
	t.Cleanup(ts.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := ts.Client()
	c.Jar = jar
	return &browser{s: s, t: t, ts: ts, c: c}
}

func (b *browser) do(req *http.Request) (int, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func (b *browser) get(path string) (int, string) {
	req, _ := http.NewRequestWithContext(b.t.Context(), http.MethodGet, b.ts.URL+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) (int, string) {
	req, _ := http.NewRequestWithContext(b.t.Context(), http.MethodPost, b.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	formInput  = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// signIn clicks "Sign in with Microsoft" and submits the authority's
// self-posting form, as a browser would.
func (b *browser) signIn(hint string) (int, string) {
	b.t.Helper()
	code, page := b.get("/signin?login_hint=" + url.QueryEscape(hint))
	m := formAction.FindStringSubmatch(page)
	if code != http.StatusOK || m == nil {
		b.t.Fatalf("sign-in start: %d\n%s", code, page)
	}
	form := url.Values{}
	for _, in := range formInput.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	if form.Get("code") == "" || form.Get("state") == "" {
		b.t.Fatalf("the authority's form carries no code or state: %v", form)
	}
	return b.post(html.UnescapeString(m[1]), form)
}

func TestSignInShowsUserAndSignsOut(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	b := newBrowser(t, d)

	code, page := b.get("/")
	if code != http.StatusOK || !strings.Contains(page, `href="/signin">Sign in with Microsoft</a>`) {
		t.Fatalf("home: %d\n%s", code, page)
	}
	code, page = b.signIn("alex@contoso.com")
	if code != http.StatusOK {
		t.Fatalf("after sign-in: %d\n%s", code, page)
	}
	for _, want := range []string{"Hello, Alex Wilber", "alex@contoso.com", d.Demo.Alex.AccountID(), "User.Read", "GET /me", "Sign out"} {
		if !strings.Contains(page, want) {
			t.Errorf("the user page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "Microsoft Graph: ") {
		t.Errorf("the Graph call failed:\n%s", page)
	}

	code, page = b.post("/signout", nil)
	if code != http.StatusOK || !strings.Contains(page, "Sign in with Microsoft") || strings.Contains(page, "Hello, Alex") {
		t.Fatalf("after sign-out: %d\n%s", code, page)
	}
	// Sign-out deleted the stored tokens, not just the session.
	if _, err := b.s.app.TokenSource(d.Demo.Alex.AccountID(), features...).Token(t.Context()); !errors.Is(err, auth.ErrNotSignedIn) {
		t.Errorf("token after sign-out: %v, want ErrNotSignedIn", err)
	}
}

// A callback without the pending sign-in's cookie (another browser, a forged
// post) is refused.
func TestCallbackWithoutPendingCookie(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	b := newBrowser(t, d)
	code, page := b.post("/auth/callback", url.Values{"code": {"stolen"}, "state": {"forged"}})
	if code != http.StatusBadRequest || !strings.Contains(page, "Sign-in failed") {
		t.Fatalf("forged callback: %d\n%s", code, page)
	}
	if code, page := b.get("/"); code != http.StatusOK || strings.Contains(page, "Hello") {
		t.Errorf("a forged callback signed someone in:\n%s", page)
	}
}

// An ID token for another audience fails the checks, and the page says so.
func TestBadIDTokenRefused(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	b := newBrowser(t, d)
	d.Server.NextIDToken(func(c map[string]any) { c["aud"] = "another-app" })
	code, page := b.signIn("adele@contoso.com")
	if code != http.StatusBadRequest || !strings.Contains(page, "ID-token checks") {
		t.Fatalf("bad ID token: %d\n%s", code, page)
	}
}

func TestRunServesUntilStopped(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	env := setup.Env{Getenv: programtest.NoEnv, Demo: d}
	programtest.ServesUntilStopped(t, runEnv, env, "sign-in server on", "-addr", "127.0.0.1:0")
}

// Against Microsoft there is no demo HTTP client: the Graph client for the
// signed-in user must then use graphclient's default, not fail.
func TestGraphClientAgainstMicrosoft(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		setup.EnvClientID:     "00001111-aaaa-2222-bbbb-3333cccc4444",
		setup.EnvClientSecret: "not-a-real-secret-value",
		setup.EnvRedirectURL:  "http://localhost:8400/callback",
		setup.EnvConfigDir:    t.TempDir(),
		setup.EnvStoreKey:     strings.Repeat("ab", 32),
	}
	s, err := newServer(setup.Env{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	if s.demo != nil || s.hc != nil {
		t.Fatalf("configured server runs the demo (demo %v, hc %v)", s.demo != nil, s.hc != nil)
	}
	if _, err := s.graph("oid.tid"); err != nil {
		t.Errorf("Graph client against Microsoft: %v", err)
	}
}
