package graphtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Every Graph route answers under /beta/ as under /v1.0/, the ones the
// table once registered apart (/me, /subscriptions, $batch) included, and a
// batch sent to /beta/ runs its items under /beta/.
func TestRoutesUnderBeta(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := f.srv.IssueToken(f.adele, appClientID, "User.Read", "Calendars.Read")
	hc := f.srv.HTTPClient()
	for _, path := range []string{"/me", "/me/events", "/subscriptions"} {
		for _, version := range []string{"/v1.0", "/beta"} {
			if status, body := getBearer(t, hc, "https://graph.microsoft.com"+version+path, tok); status != http.StatusOK {
				t.Errorf("GET %s%s = %d %v, want 200", version, path, status, body)
			}
		}
	}

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://graph.microsoft.com/beta/$batch",
		strings.NewReader(`{"requests":[{"id":"1","method":"GET","url":"/me?$select=id"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /beta/$batch = %d, want 200", resp.StatusCode)
	}
	var item *Request
	for _, r := range f.srv.Requests() {
		if r.BatchItem == "1" {
			item = &r
		}
	}
	if item == nil || item.Path != "/beta/me" || item.Status != http.StatusOK {
		t.Errorf("batch item logged as %+v, want GET /beta/me answered 200", item)
	}
}

// What no route serves answers Graph's JSON error envelope, under /v1.0/
// and /beta/ alike: a wrong version, an unknown segment, a method the path
// does not take. Every answer echoes the client's client-request-id in
// its header, and an error also in innerError.
func TestUnroutedAnswersGraphError(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := f.srv.IssueToken(f.adele, appClientID, "User.Read", "Calendars.Read")
	cases := []struct {
		method, path string
		status       int
		code, msg    string
	}{
		{"GET", "/v2.0/me", 400, "BadRequest", "Invalid version."},
		{"GET", "/me", 400, "BadRequest", "Invalid version."},
		{"GET", "/v1.0/me/nothing-here", 400, "BadRequest", "Resource not found for the segment 'nothing-here'."},
		{"GET", "/beta/me/nothing-here/deeper", 400, "BadRequest", "Resource not found for the segment 'nothing-here'."},
		{"GET", "/v1.0/nowhere", 400, "BadRequest", "Resource not found for the segment 'nowhere'."},
		{"PUT", "/beta/me/events", 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."},
	}
	for _, c := range cases {
		r := do(t, f.srv, graphCall{method: c.method, url: "https://graph.microsoft.com" + c.path, token: tok, headers: map[string]string{"client-request-id": "crid-1"}})
		var e graphError
		if err := json.Unmarshal(r.body, &e); err != nil {
			t.Errorf("%s %s: body %q is not Graph's envelope: %v", c.method, c.path, r.body, err)
			continue
		}
		if r.status != c.status || e.Error.Code != c.code || e.Error.Message != c.msg {
			t.Errorf("%s %s = %d %s %q, want %d %s %q", c.method, c.path, r.status, e.Error.Code, e.Error.Message, c.status, c.code, c.msg)
		}
		if got := r.header.Get("client-request-id"); got != "crid-1" || e.Error.InnerError.ClientRequestID != "crid-1" {
			t.Errorf("%s %s: client-request-id header %q, innerError %q; want crid-1 in both", c.method, c.path, got, e.Error.InnerError.ClientRequestID)
		}
	}
	r := do(t, f.srv, graphCall{url: "/me", token: tok, headers: map[string]string{"client-request-id": "crid-2"}})
	if r.status != 200 || r.header.Get("client-request-id") != "crid-2" {
		t.Errorf("GET /me = %d, client-request-id %q; want 200 echoing crid-2", r.status, r.header.Get("client-request-id"))
	}
}

// A 401 carries Graph's WWW-Authenticate challenge, whatever the reason.
func TestUnauthorizedChallenge(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := f.srv.IssueToken(f.adele, appClientID, "User.Read")
	f.srv.ExpireTokens(f.adele)
	for name, token := range map[string]string{"expired": tok, "unknown": "nope"} {
		r := do(t, f.srv, graphCall{url: "/me", token: token})
		if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != graphChallenge {
			t.Errorf("%s token: %d, WWW-Authenticate %q; want 401 with %q", name, r.status, r.header.Get("WWW-Authenticate"), graphChallenge)
		}
	}
}
