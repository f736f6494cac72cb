package graphtest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMe(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := f.srv.IssueToken(f.adele, appClientID, "User.Read")
	hc := f.srv.HTTPClient()

	status, me := getBearer(t, hc, "https://graph.microsoft.com/v1.0/me", tok)
	want := map[string]any{
		"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
		"businessPhones": []any{}, "displayName": "Adele Vance", "givenName": "Adele", "surname": "Vance",
		"jobTitle": nil, "mail": "adele@contoso.com", "mobilePhone": nil, "officeLocation": nil,
		"preferredLanguage": "en-US", "userPrincipalName": "adele@contoso.com", "id": f.adele.ID,
	}
	if diff := cmp.Diff(want, me); status != 200 || diff != "" {
		t.Errorf("GET /me = %d (-want +got):\n%s", status, diff)
	}

	_, sel := getBearer(t, hc, "https://graph.microsoft.com/v1.0/me?$select=id,mail", tok)
	if diff := cmp.Diff(map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(id,mail)/$entity", "id": f.adele.ID, "mail": "adele@contoso.com"}, sel); diff != "" {
		t.Errorf("$select (-want +got):\n%s", diff)
	}
}

func TestMeAuthorization(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	hc := f.srv.HTTPClient()
	expired := f.srv.IssueToken(f.admin, appClientID, "User.Read")
	f.srv.ExpireTokens(f.admin)
	tests := []struct {
		name   string
		token  string
		status int
		code   string
	}{
		{"no token", "", 401, "InvalidAuthenticationToken"},
		{"unknown token", "eyJ0eXAiOiJKV1QifQ.bogus", 401, "InvalidAuthenticationToken"},
		{"expired", expired, 401, "InvalidAuthenticationToken"},
		{"no scope", f.srv.IssueToken(f.adele, appClientID, "Mail.Read"), 403, "Authorization_RequestDenied"},
		{"broader scope", f.srv.IssueToken(f.adele, appClientID, "User.Read.All"), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, body := getBearer(t, hc, "https://graph.microsoft.com/v1.0/me", tt.token)
			code := ""
			if e, ok := body["error"].(map[string]any); ok {
				code, _ = e["code"].(string)
			}
			if status != tt.status || code != tt.code {
				t.Errorf("got %d %q, want %d %q", status, code, tt.status, tt.code)
			}
		})
	}
}

// Errors carry the server clock, so a test with WithClock sees the date it
// set in innerError.date and the Date header (graphclient.Error.Date).
func TestErrorDateFollowsClock(t *testing.T) {
	t.Parallel()
	srv := New(t, WithClock(func() time.Time { return testNow }))
	req, err := http.NewRequestWithContext(t.Context(), "GET", "https://graph.microsoft.com/v1.0/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct {
			InnerError struct {
				Date string `json:"date"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	got := []string{resp.Status, body.Error.InnerError.Date, resp.Header.Get("Date")}
	want := []string{"401 Unauthorized", testNow.UTC().Format("2006-01-02T15:04:05"), testNow.UTC().Format(http.TimeFormat)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status, innerError.date, Date (-want +got):\n%s", diff)
	}
}
