package graphtest

import (
	"testing"

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
