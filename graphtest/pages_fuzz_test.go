package graphtest

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzPages feeds arbitrary queries and posted forms to the authorize and
// admin-consent pages as a browser sends them: never a 5xx or a panic, and
// nothing from the request comes back as markup (an <x-fuzz> element in
// the input appears only escaped).
func FuzzPages(f *testing.F) {
	const q = "client_id=app&response_type=code&redirect_uri=https://a/cb&scope=openid+Mail.Read&code_challenge=x&code_challenge_method=S256"
	f.Add(false, q+"&login_hint=%3Cx-fuzz%3E", "")
	f.Add(false, q+"&response_mode=form_post&state=%22%3E%3Cx-fuzz%3E", "login=adele@contoso.com&consent=accept")
	f.Add(false, q+"&prompt=consent", "login=megan@contoso.com")
	f.Add(true, "client_id=app&redirect_uri=https://a/cb&scope=Mail.Read&state=%3Cx-fuzz%3E", "login_other=%3Cx-fuzz%3E@contoso.com")
	f.Add(true, "client_id=app&redirect_uri=https://a/cb&scope=Mail.Read", "login=adele@contoso.com&consent=accept")
	f.Add(true, "client_id=app&redirect_uri=https://a/cb&scope=Mail.Read", "login=megan@contoso.com&consent=cancel")
	f.Add(true, "client_id=%3Cx-fuzz%3E&redirect_uri=https://a/cb&scope=Mail.Read", "")
	srv := NewServer()
	defer srv.Close()
	srv.AddApp(App{ClientID: "app", ClientSecret: "s", RedirectURIs: []string{"https://a/cb"}})
	ten := srv.AddTenant("contoso.com")
	ten.AddUser("adele@contoso.com", "Adele Vance")
	ten.AddUser("megan@contoso.com", "Megan Bowen", Admin())
	ten.AllowUserConsent(true)
	f.Fuzz(func(t *testing.T, adminConsent bool, query, form string) {
		path := "/organizations/oauth2/v2.0/authorize"
		if adminConsent {
			path = "/organizations/v2.0/adminconsent"
		}
		method, header := http.MethodGet, map[string]string{"Accept": "text/html"}
		if form != "" {
			method, header["Content-Type"] = http.MethodPost, "application/x-www-form-urlencoded"
		}
		rec := serveInProcess(srv, method, LoginHost, path, query, form, header)
		if rec.Code >= 500 {
			t.Errorf("status %d for %q, form %q", rec.Code, query, form)
		}
		if strings.Contains(rec.Body.String(), "<x-fuzz") || strings.Contains(rec.Header().Get("Location"), "<x-fuzz") {
			t.Errorf("unescaped input for %q, form %q:\n%s", query, form, rec.Body.String())
		}
	})
}
