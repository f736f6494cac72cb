package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/examples/internal/programtest"
	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/m365test"
)

// newTestServer serves the consent app for the demo tenant d and returns a
// client with a cookie jar, like a browser.
func newTestServer(t *testing.T, d *m365test.Sandbox) (*httptest.Server, *http.Client) {
	t.Helper()
	h, _, closeFn, err := newHandler(setup.Env{Getenv: programtest.NoEnv, Demo: d})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := ts.Client()
	c.Jar = jar
	return ts, c
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestAddToMicrosoft365(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	ts, c := newTestServer(t, d)

	code, body := get(t, c, ts.URL+"/")
	if code != http.StatusOK || !strings.Contains(body, `href="/consent/start?choice=all">Add to Microsoft 365</a>`) || !strings.Contains(body, "Mail.Read") {
		t.Fatalf("home: %d\n%s", code, body)
	}
	if len(d.Demo.Tenant.Granted(d.Demo.App.ClientID)) != 0 {
		t.Fatalf("the demo tenant is still pre-consented: %v", d.Demo.Tenant.Granted(d.Demo.App.ClientID))
	}

	code, body = get(t, c, ts.URL+"/consent/start?choice=mailbox")
	if code != http.StatusOK || !strings.Contains(body, "Consent granted") || !strings.Contains(body, d.Demo.Tenant.ID) {
		t.Fatalf("after consent: %d\n%s", code, body)
	}
	granted := d.Demo.Tenant.Granted(d.Demo.App.ClientID)
	if !slices.Contains(granted, "Mail.Read") || slices.Contains(granted, "Calendars.ReadWrite") {
		t.Errorf("the mailbox choice granted %v", granted)
	}
}

func TestDeclinedConsentIsExplained(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	ts, c := newTestServer(t, d)
	code, body := get(t, c, ts.URL+"/consent/start?choice=all&demo=decline")
	if code != http.StatusBadRequest {
		t.Fatalf("status %d\n%s", code, body)
	}
	for _, want := range []string{"AADSTS65004", "UserDeclinedConsent", "tenant admin", "trace ID"} {
		if !strings.Contains(body, want) {
			t.Errorf("the failure page lacks %q:\n%s", want, body)
		}
	}
}

// A callback nobody started here (or a forged state) is refused and
// explained.
func TestForgedCallback(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	ts, c := newTestServer(t, d)
	code, body := get(t, c, ts.URL+"/auth/callback?admin_consent=True&tenant="+d.Demo.Tenant.ID+"&state=forged")
	if code != http.StatusBadRequest || strings.Contains(body, "Consent granted") {
		t.Fatalf("forged callback: %d\n%s", code, body)
	}
	if len(d.Demo.Tenant.Granted(d.Demo.App.ClientID)) != 0 {
		t.Error("a forged callback changed the tenant's grants")
	}
}

func TestTroubleshooting(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	ts, c := newTestServer(t, d)
	tests := []struct {
		query string
		code  int
		want  []string
	}{
		{"", 200, []string{"AADSTS65001", "AADSTS90094", "AADSTS700016"}},
		{"?code=AADSTS90094", 200, []string{"<h2>AADSTS90094", "tenant admin"}},
		{"?code=700016", 200, []string{"<h2>AADSTS700016"}},
		{"?code=123456789", 200, []string{"<h2>AADSTS123456789", "login.microsoftonline.com"}},
		{"?code=nope", 400, []string{"code:"}},
	}
	for _, tt := range tests {
		code, body := get(t, c, ts.URL+"/troubleshooting"+tt.query)
		if code != tt.code {
			t.Errorf("%s: status %d, want %d", tt.query, code, tt.code)
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: page lacks %q:\n%s", tt.query, w, body)
			}
		}
	}
}

// runEnv serves until its context ends, then stops cleanly.
func TestRunServesUntilStopped(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	env := setup.Env{Getenv: programtest.NoEnv, Demo: d}
	programtest.ServesUntilStopped(t, runEnv, env, "consent server on", "-addr", "127.0.0.1:0")
	if err := runEnv(t.Context(), []string{"extra"}, new(bytes.Buffer), new(bytes.Buffer), env); err == nil {
		t.Error("an extra argument was accepted")
	}
}
