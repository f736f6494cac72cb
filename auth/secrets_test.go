package auth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/scopes"
)

// answer rewrites the token endpoint's real answer (status and body) into
// the one the App receives; a non-nil error replaces the answer with a
// transport failure.
type answer func(status int, body []byte) (int, []byte, error)

// tamper is a transport that lets a test change the token endpoint's
// answers while armed, and records every secret that crossed it: the
// request's client secret, refresh token, code and PKCE verifier, and the
// tokens of every real answer, so a test can look for them in errors.
type tamper struct {
	next http.RoundTripper

	mu      sync.Mutex
	answer  answer
	secrets map[string]bool
}

func (m *tamper) arm(a answer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.answer = a
}

func (m *tamper) keep(s string) {
	if len(s) >= 8 { // short values ("1", "Bearer") are not secrets
		m.secrets[s] = true
	}
}

// Secrets returns what the test must never find in an error.
func (m *tamper) Secrets() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for s := range m.secrets {
		out = append(out, s)
	}
	return out
}

func (m *tamper) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, "/oauth2/v2.0/token") {
		return m.next.RoundTrip(req)
	}
	b, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	form, _ := url.ParseQuery(string(b))
	m.mu.Lock()
	for _, k := range []string{"client_secret", "client_assertion", "refresh_token", "code", "code_verifier"} {
		m.keep(form.Get(k))
	}
	a := m.answer
	m.mu.Unlock()
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(b))
	resp, err := m.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var tokens map[string]any
	if json.Unmarshal(body, &tokens) == nil {
		m.mu.Lock()
		for _, k := range []string{"access_token", "refresh_token", "id_token"} {
			if s, ok := tokens[k].(string); ok {
				m.keep(s)
			}
		}
		m.mu.Unlock()
	}
	status := resp.StatusCode
	if a != nil {
		if status, body, err = a(status, body); err != nil {
			return nil, err
		}
	}
	resp.StatusCode, resp.Status = status, fmt.Sprintf("%d %s", status, http.StatusText(status))
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// editJSON returns an answer that keeps the status and changes the JSON
// body with f.
func editJSON(f func(m map[string]any)) answer {
	return func(status int, body []byte) (int, []byte, error) {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return 0, nil, err
		}
		f(m)
		out, err := json.Marshal(m)
		return status, out, err
	}
}

// tokenAnswers are the kinds of token-endpoint answer an App can get,
// other than a good one. Entra's own errors come from graphtest; answers
// graphtest cannot give (bodies that do not decode, a proxy's pages)
// come from tamper.
var tokenAnswers = []struct {
	name   string
	entra  []graphtest.EntraError // injected with FailNextToken, in order
	answer answer
	// kind is the sentinel a refresh fails with (nil: none of them).
	kind error
	// undecoded says the answer was a 200 whose tokens cannot be read.
	undecoded bool
}{
	{name: "revoked", entra: []graphtest.EntraError{graphtest.ErrRevoked()}, kind: auth.ErrReauthRequired},
	{name: "MFA required", entra: []graphtest.EntraError{graphtest.ErrInteractionRequired(`{"access_token":{"capolids":{"essential":true}}}`)}, kind: auth.ErrReauthRequired},
	{name: "consent required", entra: []graphtest.EntraError{graphtest.ErrConsentRequired("Calendars.ReadWrite")}, kind: auth.ErrConsentRequired},
	{name: "inactive", entra: []graphtest.EntraError{graphtest.ErrRefreshExpired()}, kind: auth.ErrReauthRequired},
	{name: "secret expired", entra: []graphtest.EntraError{graphtest.ErrSecretExpired()}, kind: nil},
	{name: "unavailable", kind: auth.ErrTransient, entra: []graphtest.EntraError{
		{Status: 503, Error: "temporarily_unavailable", Codes: []int{50000}, Description: "AADSTS50000: down"},
		{Status: 503, Error: "temporarily_unavailable", Codes: []int{50000}, Description: "AADSTS50000: down"},
		{Status: 503, Error: "temporarily_unavailable", Codes: []int{50000}, Description: "AADSTS50000: down"},
		{Status: 503, Error: "temporarily_unavailable", Codes: []int{50000}, Description: "AADSTS50000: down"},
	}},
	{name: "proxy page echoing the request", kind: nil, answer: func(_ int, body []byte) (int, []byte, error) {
		return http.StatusForbidden, append([]byte("<html><body>Blocked. Your request was:<pre>"), append(body, "</pre></body></html>"...)...), nil
	}},
	{name: "non-integer ext_expires_in", kind: auth.ErrTransient, undecoded: true, answer: editJSON(func(m map[string]any) { m["ext_expires_in"] = "3599.5s" })},
	{name: "truncated body", kind: auth.ErrTransient, undecoded: true, answer: func(status int, body []byte) (int, []byte, error) {
		return status, body[:len(body)*3/4], nil
	}},
	{name: "HTML quoting the tokens", kind: auth.ErrTransient, undecoded: true, answer: func(status int, body []byte) (int, []byte, error) {
		return status, append([]byte("<html><pre>"), append(body, "</pre></html>"...)...), nil
	}},
	{name: "ID token not a JWT", kind: auth.ErrTransient, undecoded: true, answer: editJSON(func(m map[string]any) {
		m["id_token"] = "eyJhbGciOiJub25lIn0.!!!.sig"
	})},
	{name: "no access token", kind: auth.ErrTransient, undecoded: true, answer: editJSON(func(m map[string]any) { delete(m, "access_token") })},
	{name: "no expiry", kind: auth.ErrTransient, undecoded: true, answer: editJSON(func(m map[string]any) { delete(m, "expires_in") })},
	{name: "network", kind: auth.ErrTransient, answer: func(int, []byte) (int, []byte, error) {
		return 0, nil, errors.New("read: connection reset by peer")
	}},
}

// TestRefreshErrorsHoldNoSecrets: whatever the token endpoint answers a
// refresh, the error holds no token, code or secret, in its text or
// anywhere in its chain, and an answer whose tokens cannot be read leaves
// the stored tokens as they were, for the next call to use.
func TestRefreshErrorsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	for _, tt := range tokenAnswers {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			// Entra keeps a refresh token valid after its use.
			e := newEnv(t, graphtest.WithRefreshTokenReuse())
			hc := e.srv.HTTPClient()
			tp := &tamper{next: hc.Transport, secrets: map[string]bool{secret: true}}
			u := e.mustSignIn(ctx, t, "adele@contoso.com")
			// Another process, with no access token in memory.
			app := e.newApp(t, func(c *auth.Config) { c.HTTPClient = &http.Client{Transport: tp, Timeout: hc.Timeout} })
			e.expireStored(ctx, t, u.AccountID)
			before, _, err := e.raw.Load(ctx, u.AccountID)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range tt.entra {
				e.srv.FailNextToken(f)
			}
			tp.arm(tt.answer)
			_, err = app.TokenSource(u.AccountID, scopes.Calendar).Token(ctx)
			tp.arm(nil)
			ae := asError(t, err)
			for _, k := range []error{auth.ErrReauthRequired, auth.ErrConsentRequired, auth.ErrTransient, auth.ErrNotSignedIn} {
				if errors.Is(err, k) != (k == tt.kind) {
					t.Errorf("err = %v: errors.Is(%v) = %v", err, k, !(k == tt.kind))
				}
			}
			if len(tt.entra) > 0 && (ae.AADSTS() == 0 || ae.CorrelationID == "" || ae.TraceID == "" || ae.StatusCode == 0 || ae.Timestamp.IsZero()) {
				t.Errorf("Entra's details are lost: AADSTS %d, correlation %q, trace %q, status %d, timestamp %v",
					ae.AADSTS(), ae.CorrelationID, ae.TraceID, ae.StatusCode, ae.Timestamp)
			}
			checkNoSecrets(t, err, tp.Secrets())
			if tt.undecoded {
				if !strings.Contains(err.Error(), "not saved") {
					t.Errorf("err = %v: it does not say the tokens were not saved", err)
				}
				after, _, err := e.raw.Load(ctx, u.AccountID)
				if err != nil || !bytes.Equal(after, before) {
					t.Errorf("the stored tokens changed (%v)", err)
				}
				// The next call refreshes with the stored refresh token.
				if _, err := app.TokenSource(u.AccountID, scopes.Calendar).Token(ctx); err != nil {
					t.Errorf("next call: %v", err)
				}
			}
		})
	}
}

// TestSignInErrorsHoldNoSecrets: whatever the token endpoint answers a
// code redemption, the error holds no token, code, PKCE verifier or
// secret, and nothing is stored.
func TestSignInErrorsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	for _, tt := range tokenAnswers {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			e := newEnv(t)
			hc := e.srv.HTTPClient()
			tp := &tamper{next: hc.Transport, secrets: map[string]bool{secret: true}}
			app := e.newApp(t, func(c *auth.Config) { c.HTTPClient = &http.Client{Transport: tp, Timeout: hc.Timeout} })
			cb, p := e.browse(ctx, t, app, auth.SignInRequest{Features: []scopes.Feature{scopes.Calendar}, LoginHint: "adele@contoso.com"})
			tp.keep(p.Verifier)
			for _, f := range tt.entra {
				e.srv.FailNextToken(f)
			}
			tp.arm(tt.answer)
			_, err := app.CompleteSignIn(ctx, cb, p)
			want := auth.ErrSignInFailed
			switch tt.kind {
			case auth.ErrConsentRequired:
				want = auth.ErrConsentRequired
			case auth.ErrTransient:
				if tt.name == "network" {
					// The network failed before Entra answered: the code
					// may be unspent, so the sign-in may be retried.
					want = auth.ErrTransient
				}
			}
			if !errors.Is(err, want) {
				t.Errorf("err = %v, want %v", err, want)
			}
			checkNoSecrets(t, err, tp.Secrets())
			if keys := e.raw.Keys(); len(keys) != 0 {
				t.Errorf("a failed sign-in stored %q", keys)
			}
		})
	}
}

// checkNoSecrets fails t if err, printed any way or walked through its
// whole chain (Unwrap, Unwrap []error, and every field reflection
// reaches, unexported ones included), holds one of secrets, an HTTP
// request or response, or a func (a request's GetBody replays it).
func checkNoSecrets(t *testing.T, err error, secrets []string) {
	t.Helper()
	if len(secrets) < 2 {
		t.Fatalf("only %d secrets recorded: the test saw no token request", len(secrets))
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		out := fmt.Sprintf(format, err)
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s of the error holds a secret (%.12s...): %.300s", format, s, out)
			}
		}
	}
	w := &walker{t: t, secrets: secrets, seen: map[uintptr]bool{}}
	var chain func(err error, path string)
	chain = func(err error, path string) {
		if err == nil {
			return
		}
		w.walk(reflect.ValueOf(err), path)
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s (%T): Error() holds a secret", path, err)
			}
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			chain(u.Unwrap(), path+".Unwrap()")
		case interface{ Unwrap() []error }:
			for i, e := range u.Unwrap() {
				chain(e, fmt.Sprintf("%s.Unwrap()[%d]", path, i))
			}
		}
	}
	chain(err, "err")
}

type walker struct {
	t       *testing.T
	secrets []string
	seen    map[uintptr]bool
}

var (
	requestType  = reflect.TypeFor[http.Request]()
	responseType = reflect.TypeFor[http.Response]()
)

func (w *walker) text(s, path string) {
	for _, sec := range w.secrets {
		if strings.Contains(s, sec) {
			w.t.Errorf("%s holds a secret (%.12s...)", path, sec)
		}
	}
}

func (w *walker) walk(v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		if w.seen[v.Pointer()] {
			return
		}
		w.seen[v.Pointer()] = true
		w.walk(v.Elem(), path)
	case reflect.Interface:
		if !v.IsNil() {
			w.walk(v.Elem(), path)
		}
	case reflect.Struct:
		if v.Type() == requestType || v.Type() == responseType {
			w.t.Errorf("%s is an %v: its body and GetBody can replay secrets", path, v.Type())
			return
		}
		for i := range v.NumField() {
			w.walk(v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	case reflect.String:
		w.text(v.String(), path)
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			for i := range b {
				b[i] = byte(v.Index(i).Uint())
			}
			w.text(string(b), path)
			return
		}
		for i := range v.Len() {
			w.walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			w.walk(it.Key(), path+"[key]")
			w.walk(it.Value(), path+"[value]")
		}
	case reflect.Func:
		if !v.IsNil() {
			w.t.Errorf("%s is a func: what it closes over cannot be checked", path)
		}
	}
}
