package graphtest

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNow is the fixed server clock of the Graph data tests.
var testNow = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// fixture is a fake with one tenant and two users.
type fixture struct {
	srv         *Server
	tenant      *Tenant
	adele, alex *User
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	srv := New(t, WithClock(func() time.Time { return testNow }))
	tn := srv.AddTenant("contoso.com")
	return fixture{
		srv: srv, tenant: tn,
		adele: tn.AddUser("adele@contoso.com", "Adele Vance"),
		alex:  tn.AddUser("alex@contoso.com", "Alex Wilber"),
	}
}

// graphCall is one request against the fake's Graph host.
type graphCall struct {
	method, url string
	token       string
	body        string
	headers     map[string]string
}

// response is a decoded Graph response.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	return m
}

// values returns the "value" array of a collection.
func (r response) values(t *testing.T) []map[string]any {
	t.Helper()
	var c struct {
		Value []map[string]any `json:"value"`
	}
	if err := json.Unmarshal(r.body, &c); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	return c.Value
}

// errorCode returns error.code of a Graph error body.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	var e graphError
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	return e.Error.Code
}

func do(t *testing.T, srv *Server, c graphCall) response {
	t.Helper()
	u := c.url
	if !strings.HasPrefix(u, "https://") {
		u = "https://graph.microsoft.com/v1.0/" + strings.TrimPrefix(u, "/")
	}
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(t.Context(), cmpOr(c.method, http.MethodGet), u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.headers {
		req.Header.Add(k, v)
	}
	resp, err := testClient(srv).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// wantStatus fails the test unless r has the status.
func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body: %s", r.status, status, r.body)
	}
}

// missingKeys returns the properties of the documented example (a
// testdata file) that got lacks, compared case-insensitively.
func missingKeys(t *testing.T, file string, got map[string]any) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if v, ok := doc["value"].([]any); ok {
		doc = v[0].(map[string]any)
	}
	var missing []string
	for k := range doc {
		if k == "@odata.context" {
			continue
		}
		found := false
		for g := range got {
			if strings.EqualFold(g, k) {
				found = true
			}
		}
		if !found {
			missing = append(missing, k)
		}
	}
	return missing
}

// testClient returns srv.HTTPClient, one per server so tests reuse
// connections.
func testClient(srv *Server) *http.Client {
	if hc, ok := testClients.Load(srv); ok {
		return hc.(*http.Client)
	}
	hc := srv.HTTPClient()
	testClients.Store(srv, hc)
	return hc
}

// testClients caches one client per server, so tests reuse connections.
var testClients sync.Map
