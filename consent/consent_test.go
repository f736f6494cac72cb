package consent

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/m365kit/m365kit/internal/urlcheck"
	"github.com/m365kit/m365kit/scopes"
)

const (
	testClientID = "00001111-aaaa-2222-bbbb-3333cccc4444"
	testRedirect = "https://app.example.com/microsoft/consent"
	testTenantID = "aaaabbbb-0000-cccc-1111-dddd2222eeee"
)

var testKey = bytes.Repeat([]byte("k"), 32)

func newFlow(t *testing.T) *Flow {
	t.Helper()
	f, err := New(Config{ClientID: testClientID, RedirectURL: testRedirect, StateKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	good := Config{ClientID: testClientID, RedirectURL: testRedirect, StateKey: testKey}
	tests := []struct {
		name   string
		change func(*Config)
		want   string // the field the error must name; "" for success
	}{
		{"valid", func(*Config) {}, ""},
		{"loopback http", func(c *Config) { c.RedirectURL = "http://localhost:8080/cb" }, ""},
		{"loopback ip http", func(c *Config) { c.RedirectURL = "http://127.0.0.1/cb" }, ""},
		{"national cloud", func(c *Config) { c.Authority = "https://login.microsoftonline.us/" }, ""},
		{"empty client ID", func(c *Config) { c.ClientID = "" }, "Config.ClientID"},
		{"blank client ID", func(c *Config) { c.ClientID = "  " }, "Config.ClientID"},
		{"client ID not a GUID", func(c *Config) { c.ClientID = "my-app" }, "Config.ClientID"},
		{"empty redirect", func(c *Config) { c.RedirectURL = "" }, "Config.RedirectURL"},
		{"relative redirect", func(c *Config) { c.RedirectURL = "/cb" }, "Config.RedirectURL"},
		{"http redirect", func(c *Config) { c.RedirectURL = "http://app.example.com/cb" }, "Config.RedirectURL"},
		{"ftp redirect", func(c *Config) { c.RedirectURL = "ftp://app.example.com/cb" }, "Config.RedirectURL"},
		{"redirect with fragment", func(c *Config) { c.RedirectURL = "https://app.example.com/cb#x" }, "Config.RedirectURL"},
		{"redirect with user", func(c *Config) { c.RedirectURL = "https://u:p@app.example.com/cb" }, "Config.RedirectURL"},
		{"nil key", func(c *Config) { c.StateKey = nil }, "Config.StateKey"},
		{"short key", func(c *Config) { c.StateKey = testKey[:31] }, "Config.StateKey"},
		{"http authority", func(c *Config) { c.Authority = "http://login.microsoftonline.com" }, "Config.Authority"},
		{"authority with query", func(c *Config) { c.Authority = "https://login.microsoftonline.com/?x=1" }, "Config.Authority"},
		{"negative TTL", func(c *Config) { c.StateTTL = -time.Minute }, "Config.StateTTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := good
			tt.change(&cfg)
			_, err := New(cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("New succeeded, want an error naming %s", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("New error %q does not name %s", err, tt.want)
			}
		})
	}
}

func TestNewCopiesStateKey(t *testing.T) {
	t.Parallel()
	key := bytes.Clone(testKey)
	f, err := New(Config{ClientID: testClientID, RedirectURL: testRedirect, StateKey: key})
	if err != nil {
		t.Fatal(err)
	}
	u, err := f.AdminConsentURL(Request{Features: []scopes.Feature{scopes.SignIn}})
	if err != nil {
		t.Fatal(err)
	}
	key[0] = 'x' // the caller reuses its buffer
	if _, err := f.Complete(callback(t, u, url.Values{"admin_consent": {"True"}, "tenant": {testTenantID}})); err != nil {
		t.Fatalf("state signed before the caller changed its key no longer verifies: %v", err)
	}
}

// parseConsentURL splits an admin-consent URL into its endpoint and query.
func parseConsentURL(t *testing.T, raw string) (string, url.Values) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Scheme + "://" + u.Host + u.Path, u.Query()
}

func TestAdminConsentURL(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	tests := []struct {
		name         string
		req          Request
		wantEndpoint string
		wantScope    string
	}{
		{
			name:         "calendar for organizations",
			req:          Request{Features: []scopes.Feature{scopes.Calendar}},
			wantEndpoint: "https://login.microsoftonline.com/organizations/v2.0/adminconsent",
			wantScope:    "openid profile email offline_access https://graph.microsoft.com/User.Read https://graph.microsoft.com/Calendars.ReadWrite https://graph.microsoft.com/OnlineMeetings.Read",
		},
		{
			name:         "mailbox choice for a tenant ID",
			req:          Request{Tenant: strings.ToUpper(testTenantID), Choice: scopes.MailboxAccess()},
			wantEndpoint: "https://login.microsoftonline.com/" + testTenantID + "/v2.0/adminconsent",
			wantScope:    "openid profile email offline_access https://graph.microsoft.com/User.Read https://graph.microsoft.com/Mail.Read",
		},
		{
			name:         "all recommended for a domain",
			req:          Request{Tenant: "Contoso.com", Choice: scopes.AllRecommended()},
			wantEndpoint: "https://login.microsoftonline.com/contoso.com/v2.0/adminconsent",
			wantScope: "openid profile email offline_access https://graph.microsoft.com/User.Read " +
				"https://graph.microsoft.com/Calendars.ReadWrite https://graph.microsoft.com/OnlineMeetings.Read " +
				"https://graph.microsoft.com/Team.ReadBasic.All https://graph.microsoft.com/Channel.ReadBasic.All " +
				"https://graph.microsoft.com/ChannelMessage.Send https://graph.microsoft.com/Chat.ReadBasic " +
				"https://graph.microsoft.com/ChatMessage.Send https://graph.microsoft.com/Mail.Read",
		},
		{
			name:         "explicit scopes",
			req:          Request{Tenant: "organizations", Scopes: []string{"openid", "https://graph.microsoft.com/Mail.Read", "mail.read", "Files.Read"}},
			wantEndpoint: "https://login.microsoftonline.com/organizations/v2.0/adminconsent",
			wantScope:    "openid https://graph.microsoft.com/Mail.Read https://graph.microsoft.com/Files.Read",
		},
		{
			name:         "static .default",
			req:          Request{Scopes: []string{".default"}},
			wantEndpoint: "https://login.microsoftonline.com/organizations/v2.0/adminconsent",
			wantScope:    "https://graph.microsoft.com/.default",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw, err := f.AdminConsentURL(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			endpoint, q := parseConsentURL(t, raw)
			if endpoint != tt.wantEndpoint {
				t.Errorf("endpoint = %s, want %s", endpoint, tt.wantEndpoint)
			}
			if got := q.Get("client_id"); got != testClientID {
				t.Errorf("client_id = %q", got)
			}
			if got := q.Get("redirect_uri"); got != testRedirect {
				t.Errorf("redirect_uri = %q", got)
			}
			if got := q.Get("scope"); got != tt.wantScope {
				t.Errorf("scope:\n got %s\nwant %s", got, tt.wantScope)
			}
			if !strings.HasPrefix(q.Get("state"), statePrefix) {
				t.Errorf("state %q is not a signed state", q.Get("state"))
			}
			if len(q) != 4 {
				t.Errorf("query has %d parameters, want client_id, redirect_uri, scope, state: %v", len(q), q)
			}
		})
	}
}

func TestAdminConsentURLNationalCloud(t *testing.T) {
	t.Parallel()
	f, err := New(Config{ClientID: testClientID, RedirectURL: testRedirect, StateKey: testKey, Authority: "https://login.microsoftonline.us/"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.AdminConsentURL(Request{Features: []scopes.Feature{scopes.SignIn}})
	if err != nil {
		t.Fatal(err)
	}
	if endpoint, _ := parseConsentURL(t, raw); endpoint != "https://login.microsoftonline.us/organizations/v2.0/adminconsent" {
		t.Errorf("endpoint = %s", endpoint)
	}
}

func TestAdminConsentURLStatesDiffer(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	req := Request{Features: []scopes.Feature{scopes.Mail}}
	a, _ := f.AdminConsentURL(req)
	b, _ := f.AdminConsentURL(req)
	_, qa := parseConsentURL(t, a)
	_, qb := parseConsentURL(t, b)
	if qa.Get("state") == qb.Get("state") {
		t.Error("two consent URLs share a state; each needs a fresh nonce")
	}
}

func TestAdminConsentURLTenant(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	tests := []struct {
		tenant  string
		want    string // the path segment; "" means refused
		errWant string // text the refusal must contain
	}{
		{"", "organizations", ""},
		{"organizations", "organizations", ""},
		{"ORGANIZATIONS", "organizations", ""},
		{testTenantID, testTenantID, ""},
		{"contoso.onmicrosoft.com", "contoso.onmicrosoft.com", ""},
		{" fabrikam.co.uk ", "fabrikam.co.uk", ""},
		{"common", "", "personal Microsoft accounts"},
		{"Common", "", "personal Microsoft accounts"},
		{"consumers", "", "personal-account tenant"},
		{"9188040d-6c67-4c5b-b112-36a304b66dad", "", "personal-account tenant"},
		{"contoso", "", "Request.Tenant"},
		{"10.0.0.1", "", "Request.Tenant"},
		{"contoso.com/evil", "", "Request.Tenant"},
		{"-bad.com", "", "Request.Tenant"},
		{"aaaabbbb-0000-cccc-1111-dddd2222eeeg", "", "Request.Tenant"},
	}
	for _, tt := range tests {
		t.Run(tt.tenant, func(t *testing.T) {
			t.Parallel()
			raw, err := f.AdminConsentURL(Request{Tenant: tt.tenant, Features: []scopes.Feature{scopes.SignIn}})
			if tt.want == "" {
				if err == nil {
					t.Fatalf("tenant %q accepted: %s", tt.tenant, raw)
				}
				if !strings.Contains(err.Error(), tt.errWant) {
					t.Fatalf("error %q does not say %q", err, tt.errWant)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			endpoint, _ := parseConsentURL(t, raw)
			if want := "https://login.microsoftonline.com/" + tt.want + "/v2.0/adminconsent"; endpoint != want {
				t.Errorf("endpoint = %s, want %s", endpoint, want)
			}
		})
	}
}

func TestAdminConsentURLBadRequest(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"nothing asked", Request{}, "Features, Choice or Scopes"},
		{"features and scopes", Request{Features: []scopes.Feature{scopes.Mail}, Scopes: []string{"Mail.Read"}}, "exactly one"},
		{"features and choice", Request{Features: []scopes.Feature{scopes.Mail}, Choice: scopes.MailboxAccess()}, "exactly one"},
		{"unknown feature", Request{Features: []scopes.Feature{"files"}}, "Request.Features[0]"},
		{"unknown choice feature", Request{Choice: scopes.Choice{Name: "x", Features: []scopes.Feature{"files"}}}, "Request.Choice.Features[0]"},
		{"empty scope", Request{Scopes: []string{"Mail.Read", " "}}, "Request.Scopes[1]"},
		{"scope with space", Request{Scopes: []string{"Mail.Read Calendars.Read"}}, "Request.Scopes[0]"},
		{"scope with control", Request{Scopes: []string{"Mail.Read\x00"}}, "Request.Scopes[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.AdminConsentURL(tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestReturnTo(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	tests := []struct {
		returnTo string
		ok       bool
	}{
		{"", true},
		{"/", true},
		{"/settings/integrations", true},
		{"/settings?tab=microsoft&x=%2F%2Fevil", true},
		{"/a/b#frag", true},
		{"//evil.example", false},
		{"/\\evil.example", false},
		{"/a\\b", false},
		{"https://evil.example/", false},
		{"javascript:alert(1)", false},
		{"evil.example", false},
		{"settings", false},
		{" /settings", false},
		{"/set\ntings", false},
		{"/set\rtings", false},
		{"/\t/evil.example", false},
		{"/set\x7ftings", false},
		{"/" + strings.Repeat("a", urlcheck.MaxLocalPath), false},
	}
	for _, tt := range tests {
		t.Run(tt.returnTo, func(t *testing.T) {
			t.Parallel()
			_, err := f.AdminConsentURL(Request{Features: []scopes.Feature{scopes.SignIn}, ReturnTo: tt.returnTo})
			if tt.ok && err != nil {
				t.Fatalf("ReturnTo %q refused: %v", tt.returnTo, err)
			}
			if !tt.ok {
				if err == nil {
					t.Fatalf("ReturnTo %q accepted", tt.returnTo)
				}
				if !strings.Contains(err.Error(), "Request.ReturnTo") {
					t.Fatalf("error %q does not name Request.ReturnTo", err)
				}
			}
		})
	}
}

func TestQualifyKeepsOtherResources(t *testing.T) {
	t.Parallel()
	got := qualify([]string{"openid", "Mail.Read", "api://contoso/read"})
	want := []string{"openid", "https://graph.microsoft.com/Mail.Read", "api://contoso/read"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}
