package graphtest

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// page requests rawURL as a browser does (Accept: text/html), without
// following redirects, posting form when it is not nil.
func page(t *testing.T, srv *Server, rawURL string, form url.Values) (*http.Response, string) {
	t.Helper()
	method, body := http.MethodGet, io.Reader(nil)
	if form != nil {
		method, body = http.MethodPost, strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	hc := srv.HTTPClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// mustContain fails t unless body holds every part.
func mustContain(t *testing.T, what, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Errorf("%s lacks %q:\n%s", what, p, body)
		}
	}
}

// redirectParams returns the query of a 302 answer's Location.
func redirectParams(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %s, want a redirect to the app", resp.Status)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func TestPagesSignIn(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	raw := authURL("organizations", map[string]string{"login_hint": "adele@contoso.com"})

	resp, body := page(t, f.srv, raw, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in page: %s", resp.Status)
	}
	mustContain(t, "the sign-in page", body, `<html lang="en">`, `<title>Sign in to your account</title>`,
		`<label for="login-other">`, `value="adele@contoso.com" checked`, `value="megan@contoso.com"`, `<h1>Sign in</h1>`)

	// domain_hint lists that tenant's users only.
	other := f.srv.AddTenant("fabrikam.com")
	other.AddUser("katie@fabrikam.com", "Katie Jordan")
	_, body = page(t, f.srv, authURL("organizations", map[string]string{"domain_hint": "fabrikam.com"}), nil)
	if !strings.Contains(body, `value="katie@fabrikam.com"`) || strings.Contains(body, `value="adele@contoso.com"`) {
		t.Errorf("with domain_hint=fabrikam.com the page lists:\n%s", body)
	}
	_, body = page(t, f.srv, raw, nil)
	mustContain(t, "the sign-in page without a domain hint", body, `value="katie@fabrikam.com"`)

	// An unknown account stays on the page with Entra's message.
	resp, body = page(t, f.srv, raw, url.Values{"login_other": {"nobody@contoso.com"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown account: %s", resp.Status)
	}
	mustContain(t, "the page for an unknown account", body, signInFailure, `role="alert"`, `value="nobody@contoso.com"`)

	// Consented already: the account goes straight back with a code.
	resp, _ = page(t, f.srv, raw, url.Values{"login": {"adele@contoso.com"}})
	if q := redirectParams(t, resp); q.Get("code") == "" || q.Get("state") != "st-1" {
		t.Errorf("callback %v, want a code and the state", q)
	}
}

func TestPagesUserConsent(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	f.tenant.AllowUserConsent(true)
	raw := authURL("organizations", map[string]string{"scope": "openid offline_access Mail.Read", "response_mode": "form_post"})

	resp, body := page(t, f.srv, raw, url.Values{"login": {"adele@contoso.com"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("consent prompt: %s", resp.Status)
	}
	mustContain(t, "the consent prompt", body, "<h1>Permissions requested</h1>", "Mail.Read",
		"Maintain access to data you have given it access to", `value="accept"`, `value="cancel"`)

	// Cancel posts Entra's access_denied back to the app.
	_, body = page(t, f.srv, raw, url.Values{"login": {"adele@contoso.com"}, "consent": {"cancel"}})
	mustContain(t, "the form_post page after Cancel", body, `name="error" value="access_denied"`, "AADSTS65004", `name="state" value="st-1"`,
		`<form method="POST" name="hiddenform" action="`+appRedirect+`">`, `<button type="submit" id="formpost-continue">Continue</button>`)
	if got := f.srv.granted(f.adele, appClientID); containsFold(got, "Mail.Read") {
		t.Errorf("Cancel granted Mail.Read: %v", got)
	}

	_, body = page(t, f.srv, raw, url.Values{"login": {"adele@contoso.com"}, "consent": {"accept"}})
	mustContain(t, "the form_post page after Accept", body, `name="code" value="0.A`)
	if got := f.srv.granted(f.adele, appClientID); !containsFold(got, "Mail.Read") {
		t.Errorf("Accept did not grant Mail.Read: %v", got)
	}
}

func TestPagesAdminConsent(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	raw := consentURL("organizations", nil)

	_, body := page(t, f.srv, raw, nil)
	mustContain(t, "the admin sign-in page", body, "<h1>Sign in as an administrator</h1>", `Megan Bowen<span class="admin-tag">Administrator</span>`)

	_, body = page(t, f.srv, raw, url.Values{"login": {"megan@contoso.com"}})
	mustContain(t, "the admin consent prompt", body, "Accept for your organization", "Mail.Read", "Calendars.ReadWrite", "Sign you in")

	resp, _ := page(t, f.srv, raw, url.Values{"login": {"megan@contoso.com"}, "consent": {"cancel"}})
	q := redirectParams(t, resp)
	if q.Get("error") != "access_denied" || !strings.HasPrefix(q.Get("error_description"), "AADSTS65004:") || q.Get("admin_consent") != "True" || q.Get("state") != "c-1" {
		t.Errorf("Cancel redirected with %v", q)
	}
	if containsFold(f.tenant.Granted(appClientID), "Mail.Read") {
		t.Error("Cancel granted Mail.Read")
	}

	resp, _ = page(t, f.srv, raw, url.Values{"login": {"megan@contoso.com"}, "consent": {"accept"}})
	if q := redirectParams(t, resp); q.Get("tenant") != f.tenant.ID || q.Get("admin_consent") != "True" {
		t.Errorf("Accept redirected with %v", q)
	}
	if !containsFold(f.tenant.Granted(appClientID), "Mail.Read") {
		t.Error("Accept did not grant Mail.Read")
	}
}

func TestPagesErrors(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	f.srv.PersonalTenant().AddUser("sam@outlook.com", "Sam Personal")
	for _, tt := range []struct {
		name   string
		url    string
		form   url.Values
		status int
		want   []string
	}{
		{"unknown client", consentURL("organizations", map[string]string{"client_id": "nobody"}), nil, http.StatusBadRequest,
			[]string{"<h1>Sign in</h1>", "having trouble signing you in", `<div id="error">AADSTS700016: Application with identifier &#39;nobody&#39;`, "<dt>Code</dt><dd>AADSTS700016</dd>", "<dt>Correlation Id</dt>"}},
		{"wrong redirect URI", authURL("organizations", map[string]string{"redirect_uri": "https://evil.example/cb"}), nil, http.StatusBadRequest,
			[]string{`<div id="error">AADSTS50011: The redirect URI &#39;https://evil.example/cb&#39;`}},
		{"non-admin asking for admin consent", consentURL("organizations", nil), url.Values{"login": {"adele@contoso.com"}}, http.StatusOK,
			[]string{"<h1>Need admin approval</h1>", "AADSTS90094", `<form method="get" action="` + appRedirect + `">`,
				`name="error" value="access_denied"`, `name="admin_consent" value="True"`, `name="state" value="c-1"`, `id="error-other"`}},
		{"personal account asking for admin consent", consentURL("organizations", nil), url.Values{"login_other": {"sam@outlook.com"}}, http.StatusBadRequest,
			[]string{"AADSTS500200: User account &#39;sam@outlook.com&#39; is a personal Microsoft account."}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := page(t, f.srv, tt.url, tt.form)
			if resp.StatusCode != tt.status {
				t.Errorf("status %s, want %d", resp.Status, tt.status)
			}
			mustContain(t, "the error page", body, append(tt.want, `<html lang="en">`)...)
		})
	}
	if g := f.tenant.Granted(appClientID); containsFold(g, "Mail.Read") {
		t.Errorf("an error page granted Mail.Read: %v", g)
	}
}

// Browse, asking for no HTML, still gets Entra's decision at once, and
// reads the error page's message.
func TestPagesLeaveBrowseAlone(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	if _, err := f.srv.Browse(t.Context(), consentURL("organizations", map[string]string{"client_id": "nobody"})); err == nil ||
		!strings.HasPrefix(err.Error(), "graphtest: browse: the authority answered 400 Bad Request: AADSTS700016: Application with identifier 'nobody' was not found") {
		t.Errorf("Browse error = %v", err)
	}
	cb := browseCallback(t, f.srv, authURL("organizations", nil))
	if cb.Get("code") == "" {
		t.Errorf("Browse callback %v, want a code", cb)
	}
}
