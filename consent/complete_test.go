package consent

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/m365kit/m365kit/scopes"
)

// callback builds the request Microsoft's redirect makes for the consent
// URL raw: the state of raw plus params.
func callback(t *testing.T, raw string, params url.Values) *http.Request {
	t.Helper()
	_, q := parseConsentURL(t, raw)
	p := url.Values{}
	for k, v := range params {
		p[k] = v
	}
	if !p.Has("state") {
		p.Set("state", q.Get("state"))
	}
	return httptest.NewRequest(http.MethodGet, testRedirect+"?"+p.Encode(), nil)
}

// recorded reads a redirect Microsoft documents (testdata) and swaps in the
// state of the consent URL raw.
func recorded(t *testing.T, file, raw string) *http.Request {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	_, cq := parseConsentURL(t, raw)
	q.Set("state", cq.Get("state"))
	return httptest.NewRequest(http.MethodGet, testRedirect+"?"+q.Encode(), nil)
}

func TestCompleteGrant(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testCompleteGrant)
}

// testCompleteGrant runs in a synctest bubble: time starts at midnight UTC,
// 2000-01-01, and moves only when the test sleeps.
func testCompleteGrant(t *testing.T) {
	f := newFlow(t)
	raw, err := f.AdminConsentURL(Request{Tenant: testTenantID, Scopes: []string{"Calendars.Read", "Mail.Send"}, ReturnTo: "/settings"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Minute) // the administrator reads the consent page
	g, err := f.Complete(recorded(t, "adminconsent-success.txt", raw))
	if err != nil {
		t.Fatal(err)
	}
	want := &Grant{
		TenantID:  testTenantID,
		Scopes:    []string{"Calendars.Read", "Mail.Send"},
		Requested: []string{"Calendars.Read", "Mail.Send"},
		ReturnTo:  "/settings",
		Issued:    time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	if diff := cmp.Diff(want, g, cmpopts.IgnoreFields(Grant{}, "Nonce")); diff != "" {
		t.Errorf("Grant (-want +got):\n%s", diff)
	}
	if g.TenantVerified {
		t.Error("Complete returned a verified tenant; only a sign-in can verify it")
	}
	if g.Nonce == "" {
		t.Error("Grant has no nonce")
	}
}

func TestCompleteMissingScopes(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	raw, err := f.AdminConsentURL(Request{Choice: scopes.AllRecommended()})
	if err != nil {
		t.Fatal(err)
	}
	granted := "openid profile https://graph.microsoft.com/User.Read https://graph.microsoft.com/Calendars.ReadWrite " +
		"https://graph.microsoft.com/OnlineMeetings.Read https://graph.microsoft.com/Team.ReadBasic.All " +
		"https://graph.microsoft.com/Channel.ReadBasic.All https://graph.microsoft.com/Chat.ReadBasic " +
		"https://graph.microsoft.com/ChatMessage.Send https://graph.microsoft.com/Mail.ReadWrite"
	g, err := f.Complete(callback(t, raw, url.Values{"admin_consent": {"True"}, "tenant": {testTenantID}, "scope": {granted}}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(scopes.AllRecommended().Features, g.Features); diff != "" {
		t.Errorf("Features (-want +got):\n%s", diff)
	}
	var names []string
	for _, p := range g.Missing {
		names = append(names, p.Name)
	}
	// Mail.ReadWrite covers Mail.Read; ChannelMessage.Send was not granted.
	if diff := cmp.Diff([]string{"ChannelMessage.Send"}, names); diff != "" {
		t.Errorf("Missing (-want +got):\n%s", diff)
	}
}

func TestCompleteExplicitScopesMissing(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	raw, _ := f.AdminConsentURL(Request{Scopes: []string{"Mail.Read", "Files.Read", ".default"}})
	g, err := f.Complete(callback(t, raw, url.Values{"admin_consent": {"True"}, "tenant": {testTenantID}, "scope": {"https://graph.microsoft.com/Mail.ReadWrite"}}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]scopes.Permission{{Name: "Files.Read"}}, g.Missing); diff != "" {
		t.Errorf("Missing (-want +got):\n%s", diff)
	}
}

func TestCompleteDeclined(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	raw, _ := f.AdminConsentURL(Request{Features: []scopes.Feature{scopes.Mail}, ReturnTo: "/onboarding"})
	g, err := f.Complete(recorded(t, "adminconsent-error.txt", raw))
	if g != nil {
		t.Errorf("declined consent returned a Grant: %+v", g)
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v, want *Error", err)
	}
	want := &Error{
		Code:          "consent_required",
		Description:   "AADSTS65004: The resource owner or authorization server denied the request.",
		Codes:         []int{65004},
		TraceID:       "0000aaaa-11bb-cccc-dd22-eeeeee333333",
		CorrelationID: "8478d534-5b2c-4325-8c2c-51395c342c89",
		Timestamp:     time.Date(2019, 9, 24, 18, 34, 26, 0, time.UTC),
		ReturnTo:      "/onboarding",
	}
	if diff := cmp.Diff(want, ce); diff != "" {
		t.Errorf("Error (-want +got):\n%s", diff)
	}
	if !errors.Is(err, ErrDeclined) {
		t.Error("AADSTS65004 does not match ErrDeclined")
	}
	if errors.Is(err, ErrConsentRequired) || errors.Is(err, ErrInvalidState) {
		t.Error("a decline matches another sentinel")
	}
	wantMsg := "consent: consent_required: AADSTS65004: The resource owner or authorization server denied the request. (trace ID 0000aaaa-11bb-cccc-dd22-eeeeee333333, correlation ID 8478d534-5b2c-4325-8c2c-51395c342c89)"
	if err.Error() != wantMsg {
		t.Errorf("Error() =\n%s\nwant\n%s", err, wantMsg)
	}
}

func TestCompleteErrorVariants(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	raw, _ := f.AdminConsentURL(Request{Features: []scopes.Feature{scopes.Mail}})
	tests := []struct {
		name       string
		params     url.Values
		wantCode   int
		declined   bool
		required   bool
		wantInDesc string
	}{
		{"cancelled without code", url.Values{"error": {"permission_denied"}, "error_description": {"The admin canceled the request"}}, 0, true, false, "The admin canceled the request"},
		{"access denied", url.Values{"error": {"access_denied"}}, 0, true, false, ""},
		{"admin required", url.Values{"admin_consent": {"True"}, "error": {"access_denied"}, "error_description": {"AADSTS90094: The grant requires admin permission.\r\nTrace ID: 1\r\n"}}, 90094, false, true, "AADSTS90094"},
		{"description only", url.Values{"error_description": {"AADSTS65001: not consented"}}, 65001, false, true, "not consented"},
		{"control characters", url.Values{"error": {"server_error"}, "error_description": {"bad\x1b[31m\nthing"}}, 0, false, false, "bad [31m thing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.Complete(callback(t, raw, tt.params))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v, want *Error", err)
			}
			if ce.AADSTS() != tt.wantCode {
				t.Errorf("AADSTS() = %d, want %d", ce.AADSTS(), tt.wantCode)
			}
			if errors.Is(err, ErrDeclined) != tt.declined {
				t.Errorf("errors.Is(ErrDeclined) = %v, want %v", !tt.declined, tt.declined)
			}
			if errors.Is(err, ErrConsentRequired) != tt.required {
				t.Errorf("errors.Is(ErrConsentRequired) = %v, want %v", !tt.required, tt.required)
			}
			if !strings.Contains(ce.Description, tt.wantInDesc) {
				t.Errorf("Description %q lacks %q", ce.Description, tt.wantInDesc)
			}
			if strings.ContainsAny(err.Error(), "\r\n\x1b") {
				t.Errorf("Error() carries control characters: %q", err)
			}
		})
	}
}

func TestCompleteInvalidState(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	other, err := New(Config{ClientID: testClientID, RedirectURL: testRedirect, StateKey: []byte(strings.Repeat("o", 32))})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := f.AdminConsentURL(Request{Features: []scopes.Feature{scopes.Calendar}, ReturnTo: "/home"})
	_, q := parseConsentURL(t, raw)
	state := q.Get("state")
	body, sig, _ := strings.Cut(strings.TrimPrefix(state, statePrefix), ".")
	payload, _ := base64.RawURLEncoding.DecodeString(body)
	evil := strings.Replace(string(payload), `"r":"/home"`, `"r":"//evil.example"`, 1)
	tampered := statePrefix + base64.RawURLEncoding.EncodeToString([]byte(evil)) + "." + sig
	otherRaw, _ := other.AdminConsentURL(Request{Features: []scopes.Feature{scopes.Calendar}})
	_, oq := parseConsentURL(t, otherRaw)

	ok := url.Values{"admin_consent": {"True"}, "tenant": {testTenantID}}
	with := func(state string) url.Values {
		v := url.Values{"state": {state}}
		for k, vs := range ok {
			v[k] = vs
		}
		return v
	}
	tests := []struct {
		name   string
		params url.Values
		want   string
	}{
		{"missing", ok, "no state"},
		{"empty", with(""), "no state"},
		{"tampered payload", with(tampered), "signature"},
		{"truncated signature", with(state[:len(state)-2]), "signature"},
		{"other key", with(oq.Get("state")), "signature"},
		{"foreign format", with("12345"), "not issued"},
		{"no signature", with(statePrefix + body), "malformed"},
		{"huge", with(statePrefix + strings.Repeat("A", maxState)), "longer"},
		{"missing with error", url.Values{"error": {"access_denied"}}, "no state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, testRedirect+"?"+tt.params.Encode(), nil)
			g, err := f.Complete(r)
			if !errors.Is(err, ErrInvalidState) {
				t.Fatalf("Complete = %v, %v; want ErrInvalidState", g, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), state) {
				t.Error("error repeats the state")
			}
		})
	}
}

func TestCompleteExpiredState(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testCompleteExpiredState)
}

func testCompleteExpiredState(t *testing.T) {
	f := newFlow(t)
	raw, _ := f.AdminConsentURL(Request{Features: []scopes.Feature{scopes.SignIn}})
	params := url.Values{"admin_consent": {"True"}, "tenant": {testTenantID}}

	time.Sleep(DefaultStateTTL - time.Second)
	if _, err := f.Complete(callback(t, raw, params)); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	// Replaying the same callback within the TTL works (Grant.Nonce lets a
	// caller refuse it); after the TTL it is refused.
	time.Sleep(time.Second)
	_, err := f.Complete(callback(t, raw, params))
	if !errors.Is(err, ErrInvalidState) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("at expiry: %v, want expired ErrInvalidState", err)
	}
	// A declined consent arriving late is refused the same way.
	_, err = f.Complete(callback(t, raw, url.Values{"error": {"consent_required"}, "error_description": {"AADSTS65004: x"}}))
	if !errors.Is(err, ErrInvalidState) {
		t.Fatalf("late error redirect: %v, want ErrInvalidState", err)
	}
}

func TestCompleteStateTTL(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testCompleteStateTTL)
}

func testCompleteStateTTL(t *testing.T) {
	f, err := New(Config{ClientID: testClientID, RedirectURL: testRedirect, StateKey: testKey, StateTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := f.AdminConsentURL(Request{Features: []scopes.Feature{scopes.SignIn}})
	time.Sleep(time.Minute)
	if _, err := f.Complete(callback(t, raw, url.Values{"admin_consent": {"True"}, "tenant": {testTenantID}})); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("after Config.StateTTL: %v, want ErrInvalidState", err)
	}
}

func TestCompleteBadRedirect(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	raw, _ := f.AdminConsentURL(Request{Tenant: testTenantID, Features: []scopes.Feature{scopes.SignIn}})
	orgRaw, _ := f.AdminConsentURL(Request{Features: []scopes.Feature{scopes.SignIn}})
	other := "11112222-3333-4444-5555-666677778888"
	tests := []struct {
		name   string
		raw    string
		params url.Values
		want   string
	}{
		{"no admin_consent", orgRaw, url.Values{"tenant": {testTenantID}}, "admin_consent"},
		{"no tenant", orgRaw, url.Values{"admin_consent": {"True"}}, "not a tenant ID"},
		{"tenant not a GUID", orgRaw, url.Values{"admin_consent": {"True"}, "tenant": {"contoso.com"}}, "not a tenant ID"},
		{"another tenant", raw, url.Values{"admin_consent": {"True"}, "tenant": {other}}, "not the tenant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, err := f.Complete(callback(t, tt.raw, tt.params))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Complete = %v, %v; want an error saying %q", g, err, tt.want)
			}
		})
	}
	if _, err := f.Complete(nil); err == nil {
		t.Error("Complete(nil) succeeded")
	}
}

func TestCompleteFormPost(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	raw, _ := f.AdminConsentURL(Request{Features: []scopes.Feature{scopes.SignIn}})
	_, q := parseConsentURL(t, raw)
	form := url.Values{"admin_consent": {"True"}, "tenant": {testTenantID}, "state": {q.Get("state")}, "scope": {"https://graph.microsoft.com/User.Read"}}
	r := httptest.NewRequest(http.MethodPost, testRedirect, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	g, err := f.Complete(r)
	if err != nil {
		t.Fatal(err)
	}
	if g.TenantID != testTenantID || len(g.Missing) != 0 {
		t.Errorf("Grant = %+v", g)
	}
}

func TestGrantConfirm(t *testing.T) {
	t.Parallel()
	g := &Grant{TenantID: testTenantID}
	if err := g.Confirm("11112222-3333-4444-5555-666677778888"); err == nil || g.TenantVerified {
		t.Fatal("Confirm accepted a sign-in from another tenant")
	}
	if err := g.Confirm(strings.ToUpper(testTenantID)); err != nil || !g.TenantVerified {
		t.Fatalf("Confirm(same tenant) = %v, verified %v", err, g.TenantVerified)
	}
	if err := (&Grant{}).Confirm(""); err == nil {
		t.Error("Confirm verified an empty tenant")
	}
}
