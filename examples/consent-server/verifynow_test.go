package main

import (
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/m365test"
)

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]*)" id="f">`)
	formInput  = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
	tableRow   = regexp.MustCompile(`(?s)<tr><td><b>(.*?)</b>.*?</tr>`)
)

// verifyAs grants consent with choice (all or mailbox), then presses
// "Verify now" and signs upn in through the demo authority's self-posting
// form, as a browser would. It returns the verification page.
func verifyAs(t *testing.T, ts string, c *http.Client, choice, upn string) (int, string) {
	t.Helper()
	code, body := get(t, c, ts+"/consent/start?choice="+choice)
	if code != http.StatusOK || !strings.Contains(body, `id="verify-now"`) {
		t.Fatalf("after consent: %d\n%s", code, body)
	}
	start := regexp.MustCompile(`href="(/verify/start\?tenant=[^"]+)"`).FindStringSubmatch(body)
	if start == nil {
		t.Fatalf("the success page has no Verify now link:\n%s", body)
	}
	code, body = get(t, c, ts+html.UnescapeString(start[1])+"&login_hint="+url.QueryEscape(upn))
	m := formAction.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		t.Fatalf("verify start: %d\n%s", code, body)
	}
	form := url.Values{}
	for _, in := range formInput.FindAllStringSubmatch(body, -1) {
		form.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	if form.Get("code") == "" || form.Get("state") == "" {
		t.Fatalf("the authority's form carries no code or state: %v", form)
	}
	return post(t, c, ts+html.UnescapeString(m[1]), form, nil)
}

func post(t *testing.T, c *http.Client, u string, form url.Values, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
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

// rows returns the verification table's rows by feature title, as the
// text a reader sees, spaces collapsed.
func rows(t *testing.T, page string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range tableRow.FindAllStringSubmatch(page, -1) {
		text := html.UnescapeString(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[0], " "))
		out[m[1]] = strings.Join(strings.Fields(strings.ReplaceAll(text, " .", ".")), " ")
	}
	if len(out) != 4 {
		t.Fatalf("want 4 feature rows, got %d:\n%s", len(out), page)
	}
	return out
}

// graphCalls counts the Graph requests made with userID's token to path.
func graphCalls(d *m365test.Sandbox, userID, path string) int {
	n := 0
	for _, r := range d.Server.Requests() {
		if r.UserID == userID && r.Path == "/v1.0/"+path {
			n++
		}
	}
	return n
}

// After consent for all features, "Verify now" signs the administrator
// in and the page shows one live Graph call per feature and what it
// found; reloading checks again; sign-out forgets the tokens.
func TestVerifyNow(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	ts, c := newTestServer(t, d)
	admin := d.Demo.Admin

	code, page := verifyAs(t, ts.URL, c, "all", admin.UserPrincipalName)
	if code != http.StatusOK {
		t.Fatalf("verification page: %d\n%s", code, page)
	}
	for _, want := range []string{"Everything works", "MOD Administrator", "onboarding is confirmed", d.Demo.Tenant.ID} {
		if !strings.Contains(page, want) {
			t.Errorf("the verification page lacks %q:\n%s", want, page)
		}
	}
	want := map[string][]string{
		"Authentication": {"Yes", "GET /me", "MOD Administrator (admin@contoso.com)"},
		"Calendar":       {"Yes", "GET /me/calendars", "calendar"},
		"Teams":          {"Yes", "GET /me/joinedTeams", "1 joined team"},
		"Email":          {"Yes", "GET /me/mailFolders/inbox", "inbox: "},
	}
	for title, row := range rows(t, page) {
		for _, w := range want[title] {
			if !strings.Contains(row, w) {
				t.Errorf("the %s row lacks %q: %s", title, w, row)
			}
		}
	}
	// The results are live: the fake saw each call with the admin's token.
	for _, p := range []string{"me", "me/calendars", "me/joinedTeams", "me/mailFolders/inbox"} {
		if n := graphCalls(d, admin.ID, p); n != 1 {
			t.Errorf("GET /%s was called %d times with the admin's token, want 1", p, n)
		}
	}
	// No token reaches the page.
	for _, r := range d.Server.Requests() {
		if tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "); tok != "" && strings.Contains(page, tok) {
			t.Fatalf("the page shows the access token sent to %s", r.Path)
		}
	}

	// Check again: a reload makes the calls again.
	if code, _ := get(t, c, ts.URL+"/verify"); code != http.StatusOK || graphCalls(d, admin.ID, "me/mailFolders/inbox") != 2 {
		t.Errorf("check again: %d, inbox read %d times", code, graphCalls(d, admin.ID, "me/mailFolders/inbox"))
	}

	// A sign-out posted by another site is refused.
	code, page = post(t, c, ts.URL+"/verify/signout", nil, http.Header{"Sec-Fetch-Site": {"cross-site"}})
	if code != http.StatusForbidden || !strings.Contains(page, "Request refused") {
		t.Errorf("cross-site sign-out: %d\n%s", code, page)
	}
	if code, _ := get(t, c, ts.URL+"/verify"); code != http.StatusOK || graphCalls(d, admin.ID, "me") != 3 {
		t.Errorf("after the refused sign-out the checks did not run (%d)", code)
	}
	code, page = post(t, c, ts.URL+"/verify/signout", nil, nil)
	if code != http.StatusOK || !strings.Contains(page, "Add to Microsoft 365") {
		t.Errorf("sign-out: %d\n%s", code, page)
	}
	if code, page := get(t, c, ts.URL+"/verify"); code != http.StatusOK || !strings.Contains(page, "Nothing to verify yet") {
		t.Errorf("after sign-out /verify: %d\n%s", code, page)
	}
}

// A consent without calendar and Teams (the mailbox choice): the sign-in
// asks only for what was granted, and those rows say not ready, why, and
// who fixes it, with no Graph call made for them.
func TestVerifyNowNotGranted(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	ts, c := newTestServer(t, d)

	code, page := verifyAs(t, ts.URL, c, "mailbox", "admin@contoso.com")
	if code != http.StatusOK || !strings.Contains(page, "Everything your organisation granted works.</span> Not granted, so turned off: Calendar, Teams.") {
		t.Fatalf("verification page: %d\n%s", code, page)
	}
	want := map[string][]string{
		"Authentication": {"Yes", "GET /me"},
		"Calendar":       {"No", "not made", "Not granted: Calendars.ReadWrite OnlineMeetings.Read", "Who fixes it: tenant admin", "admin-consent link that includes Calendar"},
		"Teams":          {"No", "not made", "Not granted: Team.ReadBasic.All", "Who fixes it: tenant admin"},
		"Email":          {"Yes", "GET /me/mailFolders/inbox", "inbox: "},
	}
	for title, row := range rows(t, page) {
		for _, w := range want[title] {
			if !strings.Contains(row, w) {
				t.Errorf("the %s row lacks %q: %s", title, w, row)
			}
		}
	}
	if !strings.Contains(page, `href="/consent/start?choice=all&amp;tenant=`+d.Demo.Tenant.ID+`">Grant access to all recommended resources</a>`) {
		t.Errorf("the page offers no way to grant the rest:\n%s", page)
	}
	signIns := 0
	for _, r := range d.Server.Requests() {
		if strings.HasSuffix(r.Path, "/oauth2/v2.0/authorize") {
			signIns++
			if q, _ := url.ParseQuery(r.RawQuery); !strings.Contains(q.Get("scope"), "Mail.Read") || strings.Contains(q.Get("scope"), "Calendars.ReadWrite") {
				t.Errorf("the verification sign-in asked for %q; want the granted Mail.Read and not Calendars.ReadWrite", q.Get("scope"))
			}
		}
		if r.Path == "/v1.0/me/calendars" || r.Path == "/v1.0/me/joinedTeams" {
			t.Errorf("a check called %s without the permission", r.Path)
		}
	}
	if signIns != 1 {
		t.Errorf("%d sign-ins at the authority, want 1", signIns)
	}
}

// A user without an Exchange Online mailbox: the permissions are granted,
// but the live calls fail, and the page gives consent.Diagnose's reason.
func TestVerifyNowNoMailbox(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	ts, c := newTestServer(t, d)

	code, page := verifyAs(t, ts.URL, c, "all", d.Demo.Lynne.UserPrincipalName)
	if code != http.StatusOK || !strings.Contains(page, "2 of 4 features work") {
		t.Fatalf("verification page: %d\n%s", code, page)
	}
	r := rows(t, page)
	for _, w := range []string{"No", "GET /me/mailFolders/inbox", "404 MailboxNotEnabledForRESTAPI", "no Exchange Online mailbox", "Who fixes it: tenant admin", "license that includes Exchange Online"} {
		if !strings.Contains(r["Email"], w) {
			t.Errorf("the Email row lacks %q: %s", w, r["Email"])
		}
	}
	if !strings.Contains(r["Teams"], "Yes") {
		t.Errorf("the Teams row: %s", r["Teams"])
	}
}

// Verify now for a tenant that granted nothing here, and the verification
// page or the callback's address without a sign-in, say what to do.
func TestVerifyWithoutConsent(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	ts, c := newTestServer(t, d)
	for _, tt := range []struct {
		path string
		code int
	}{
		{"/verify/start?tenant=" + d.Demo.Tenant.ID, http.StatusNotFound},
		{"/verify/start", http.StatusNotFound},
		{"/verify", http.StatusOK},
		{"/verify/callback", http.StatusBadRequest},
	} {
		code, page := get(t, c, ts.URL+tt.path)
		if code != tt.code || !strings.Contains(page, "Nothing to verify yet") {
			t.Errorf("%s: %d\n%s", tt.path, code, page)
		}
	}
	// A callback posted without the pending sign-in's cookie is refused.
	code, page := post(t, c, ts.URL+"/verify/callback", url.Values{"code": {"stolen"}, "state": {"forged"}}, nil)
	if code != http.StatusBadRequest || !strings.Contains(page, "did not complete") {
		t.Errorf("forged callback: %d\n%s", code, page)
	}
}

// Against Microsoft the verification signs in at the consent callback's
// host with its own redirect path, which must not be the consent's.
func TestVerifyRedirectAgainstMicrosoft(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		setup.EnvClientID:     "00001111-aaaa-2222-bbbb-3333cccc4444",
		setup.EnvClientSecret: "not-a-real-secret-value",
		setup.EnvRedirectURL:  "http://localhost:8400/callback",
		setup.EnvConfigDir:    t.TempDir(),
	}
	getenv := func(k string) string { return env[k] }
	h, _, closeFn, err := newHandler(setup.Env{Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	// Verify now for a tenant without a consent here goes nowhere.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/verify/start?tenant=c8b11654-dcf4-404c-b50d-314401e3d345", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("verify start without consent: %d", rec.Code)
	}
	if got, err := verifyRedirectURL(env[setup.EnvRedirectURL]); err != nil || got != "http://localhost:8400/verify/callback" {
		t.Errorf("verification redirect URL %q, %v", got, err)
	}

	env[setup.EnvRedirectURL] = "https://app.example.com/verify/callback"
	if _, _, _, err := newHandler(setup.Env{Getenv: getenv}); err == nil || !strings.Contains(err.Error(), "/verify/callback") {
		t.Errorf("a consent redirect on the verification's path: %v", err)
	}
}

// A consent that Microsoft reports without Mail.Read (the callback's scope
// lacks it, and the tenant did not grant it): the success page says some
// permissions were not granted, the verification sign-in does not ask for
// Mail.Read, and the Email row says not ready, why, and who fixes it.
func TestVerifyNowConsentWithoutMail(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	ts, c := newTestServer(t, d)
	clientID := d.Demo.App.ClientID

	// Stop at Microsoft's redirect back to the callback, as a browser
	// would show it, and take Mail.Read out of it and out of the tenant.
	noFollow := *c
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Get(ts.URL + "/consent/start?choice=all")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	callback, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusSeeOther || callback.Path != "/auth/callback" {
		t.Fatalf("consent start: %s to %q (%v)", resp.Status, resp.Header.Get("Location"), err)
	}
	q := callback.Query()
	var kept []string
	for _, s := range strings.Fields(q.Get("scope")) {
		if !strings.HasSuffix(s, "/Mail.Read") {
			kept = append(kept, s)
		}
	}
	q.Set("scope", strings.Join(kept, " "))
	callback.RawQuery = q.Encode()
	d.Demo.Tenant.Revoke(clientID, "Mail.Read")

	code, page := get(t, c, ts.URL+callback.RequestURI())
	if code != http.StatusOK || !strings.Contains(page, "Some were not granted") || !strings.Contains(page, `id="verify-now"`) {
		t.Fatalf("success page: %d\n%s", code, page)
	}
	start := regexp.MustCompile(`href="(/verify/start\?tenant=[^"]+)"`).FindStringSubmatch(page)
	if start == nil {
		t.Fatalf("no Verify now link:\n%s", page)
	}
	code, page = get(t, c, ts.URL+html.UnescapeString(start[1])+"&login_hint=admin@contoso.com")
	m := formAction.FindStringSubmatch(page)
	if code != http.StatusOK || m == nil {
		t.Fatalf("verify start: %d\n%s", code, page)
	}
	form := url.Values{}
	for _, in := range formInput.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	code, page = post(t, c, ts.URL+html.UnescapeString(m[1]), form, nil)
	if code != http.StatusOK || !strings.Contains(page, "Not granted, so turned off: Email.") {
		t.Fatalf("verification page: %d\n%s", code, page)
	}
	r := rows(t, page)
	for _, w := range []string{"Email No not made", "Not granted: Mail.Read", "Who fixes it: tenant admin", "admin-consent link that includes Email"} {
		if !strings.Contains(r["Email"], w) {
			t.Errorf("the Email row lacks %q: %s", w, r["Email"])
		}
	}
	for _, f := range []string{"Authentication", "Calendar", "Teams"} {
		if !strings.Contains(r[f], " Yes GET /me") {
			t.Errorf("the %s row: %s", f, r[f])
		}
	}
	for _, req := range d.Server.Requests() {
		if strings.HasSuffix(req.Path, "/oauth2/v2.0/authorize") && strings.Contains(req.RawQuery, "Mail.Read") {
			t.Errorf("the verification sign-in asked for Mail.Read, which the tenant did not grant: %s", req.RawQuery)
		}
		if req.Path == "/v1.0/me/mailFolders/inbox" {
			t.Error("the Email check read the inbox without Mail.Read")
		}
	}
}
