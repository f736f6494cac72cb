package graphtest

import (
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
