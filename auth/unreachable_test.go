package auth_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/scopes"
)

// noSuchHost fails every request the way a name that does not resolve
// fails (as login.microsoftonline.com does on a machine without Internet
// access), and counts the requests.
type noSuchHost struct{ calls atomic.Int32 }

func (t *noSuchHost) RoundTrip(r *http.Request) (*http.Response, error) {
	t.calls.Add(1)
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: r.URL.Hostname(), IsNotFound: true}}
}

// TestSignInUnreachableAuthority: a sign-in whose authority cannot be
// reached (Config.HTTPClient does not lead to the graphtest fake the rest
// of the program talks to) fails at once, after one request, with
// ErrTransient as documented for network failures and one short line
// that says what to do.
func TestSignInUnreachableAuthority(t *testing.T) {
	t.Parallel()
	tr := &noSuchHost{}
	cred, err := auth.Secret(secret)
	if err != nil {
		t.Fatal(err)
	}
	app, err := auth.New(auth.Config{ClientID: clientID, Credential: cred, RedirectURL: redirectURL,
		Store: auth.NewMemoryStore(), AllowPlaintextStore: true, HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	_, p, err := app.SignInURL(auth.SignInRequest{Features: []scopes.Feature{scopes.Calendar}})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"code": {"a-code"}, "state": {p.State}}
	cb := httptest.NewRequest(http.MethodPost, redirectURL, strings.NewReader(form.Encode()))
	cb.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, err = app.CompleteSignIn(t.Context(), cb, p)
	if !errors.Is(err, auth.ErrTransient) {
		t.Fatalf("err = %v, want ErrTransient", err)
	}
	want := "auth: sign in: temporary failure: cannot reach login.microsoftonline.com: no such host (against a graphtest fake, set auth.Config.HTTPClient to its HTTPClient)"
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
	var de *net.DNSError
	if !errors.As(err, &de) {
		t.Errorf("the DNS error is not reachable with errors.As: %v", err)
	}
	if n := tr.calls.Load(); n != 1 {
		t.Errorf("%d requests, want 1 (no retries of a name that does not resolve)", n)
	}
}
