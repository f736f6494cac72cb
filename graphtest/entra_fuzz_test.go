package graphtest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// serveInProcess sends a request straight to the server's handler.
func serveInProcess(s *Server, method, host, path, rawQuery, body string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "https://"+host+path, strings.NewReader(body))
	req.URL.RawQuery = rawQuery
	req.Host = host
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.serveHTTP(rec, req)
	return rec
}

// FuzzBatch feeds arbitrary JSON batches: the fake answers 200 or 400 and
// never panics.
func FuzzBatch(f *testing.F) {
	f.Add(`{"requests":[{"id":"1","method":"GET","url":"/me"}]}`)
	f.Add(`{"requests":[{"id":"1","method":"GET","url":"/me","dependsOn":["2"]},{"id":"2","method":"POST","url":"me","body":{"a":1},"headers":{"Content-Type":"application/json"}}]}`)
	f.Add(`{"requests":[{"id":"1","method":"GET","url":"/$batch"},{"id":"2","method":"GET","url":"https://graph.microsoft.com/v1.0/me"}]}`)
	f.Add(`{"requests":[{"id":"1","method":"G ET","url":"/me?%zz"}]}`)
	f.Add(`{"requests":null}`)
	f.Add(`[]`)
	srv := NewServer()
	defer srv.Close()
	u := srv.AddTenant("contoso.com").AddUser("adele@contoso.com", "Adele Vance")
	tok := srv.IssueToken(u, "app", "User.Read")
	f.Fuzz(func(t *testing.T, payload string) {
		rec := serveInProcess(srv, http.MethodPost, GraphHost, "/v1.0/$batch", "", payload,
			map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Errorf("status %d for %q", rec.Code, payload)
		}
	})
}

// FuzzToken feeds arbitrary token-endpoint forms: the answer is an Entra
// JSON error or a token response, never a panic or a 5xx.
func FuzzToken(f *testing.F) {
	f.Add("grant_type=authorization_code&client_id=app&client_secret=s&code=0.Ax&redirect_uri=https://a/cb&code_verifier=v")
	f.Add("grant_type=refresh_token&client_id=app&client_secret=s&refresh_token=1.Ax&scope=User.Read+openid")
	f.Add("client_id=app&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=e30.e30.AA")
	f.Add("client_id=app&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=..")
	f.Add("%zz")
	srv := NewServer()
	defer srv.Close()
	srv.AddApp(App{ClientID: "app", ClientSecret: "s", RedirectURIs: []string{"https://a/cb"}})
	f.Fuzz(func(t *testing.T, form string) {
		rec := serveInProcess(srv, http.MethodPost, LoginHost, "/organizations/oauth2/v2.0/token", "", form,
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if rec.Code >= 500 {
			t.Errorf("status %d for %q", rec.Code, form)
		}
	})
}

// FuzzAuthorize feeds arbitrary authorize queries: an error page, an error
// redirect or a code, never a panic.
func FuzzAuthorize(f *testing.F) {
	f.Add("client_id=app&response_type=code&redirect_uri=https://a/cb&scope=openid&code_challenge=x&code_challenge_method=S256")
	f.Add("client_id=app&redirect_uri=https://a/cb&response_mode=form_post&scope=.default+https://x/y")
	f.Add("client_id=app&redirect_uri=https://a/cb&response_type=code&scope=openid&code_challenge=x&code_challenge_method=S256&login_hint=%00&prompt=none")
	srv := NewServer()
	defer srv.Close()
	srv.AddApp(App{ClientID: "app", ClientSecret: "s", RedirectURIs: []string{"https://a/cb"}})
	srv.AddTenant("contoso.com").AddUser("adele@contoso.com", "Adele Vance")
	f.Fuzz(func(t *testing.T, query string) {
		rec := serveInProcess(srv, http.MethodGet, LoginHost, "/organizations/oauth2/v2.0/authorize", query, "", nil)
		if rec.Code >= 500 {
			t.Errorf("status %d for %q", rec.Code, query)
		}
	})
}
