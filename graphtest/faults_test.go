package graphtest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// graphGet sends GET https://graph.microsoft.com/v1.0+path with token through
// hc and returns the response with its body read, or the transport error.
func graphGet(t *testing.T, hc *http.Client, path, token string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+GraphHost+"/v1.0"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestInjectStatusFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fault      Fault
		status     int
		code       string
		retryAfter string
	}{
		{"throttle", Fault{Kind: Throttle, RetryAfter: "7"}, 429, "TooManyRequests", "7"},
		{"throttle fractional", Fault{Kind: Throttle, RetryAfter: "0.25", PathPrefix: "/me"}, 429, "TooManyRequests", "0.25"},
		{"throttle without header", Fault{Kind: Throttle, Method: "GET", PathPrefix: "/v1.0/me"}, 429, "TooManyRequests", ""},
		{"unavailable", Fault{Kind: Unavailable, RetryAfter: "3"}, 503, "serviceNotAvailable", "3"},
		{"gateway timeout", Fault{Kind: GatewayTimeout}, 504, "gatewayTimeout", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newEntraFixture(t)
			tok := f.srv.IssueToken(f.adele, appClientID, "User.Read")
			f.srv.Inject(tt.fault)
			resp, body, err := graphGet(t, f.srv.HTTPClient(), "/me", tok)
			if err != nil {
				t.Fatal(err)
			}
			var e graphError
			_ = json.Unmarshal(body, &e)
			if resp.StatusCode != tt.status || e.Error.Code != tt.code || resp.Header.Get("Retry-After") != tt.retryAfter {
				t.Errorf("got %d %q Retry-After %q, want %d %q %q", resp.StatusCode, e.Error.Code, resp.Header.Get("Retry-After"), tt.status, tt.code, tt.retryAfter)
			}
			// Times 0 means once: the retry succeeds.
			if resp, _, _ := graphGet(t, f.srv.HTTPClient(), "/me", tok); resp.StatusCode != 200 {
				t.Errorf("second request: %d", resp.StatusCode)
			}
		})
	}
}

func TestThrottleBodyIsGraphs(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	f.srv.Inject(Fault{Kind: Throttle, RetryAfter: "10"})
	_, body, err := graphGet(t, f.srv.HTTPClient(), "/me", f.srv.IssueToken(f.adele, appClientID, "User.Read"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	inner := got["error"]["innerError"].(map[string]any)
	if got["error"]["message"] != "Please retry again later." || inner["code"] != "429" || inner["status"] != "429" || inner["message"] != "Please retry after" || inner["request-id"] == "" {
		t.Errorf("body = %s", body)
	}
}

func TestInjectMatching(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := f.srv.IssueToken(f.adele, appClientID, "User.Read")
	f.srv.Inject(Fault{Kind: Unavailable, Method: http.MethodPost})
	f.srv.Inject(Fault{Kind: Unavailable, PathPrefix: "/me/events"})
	f.srv.Inject(Fault{Kind: Throttle, PathPrefix: "/me", Times: 2})
	var got []int
	for range 3 {
		resp, _, err := graphGet(t, f.srv.HTTPClient(), "/me", tok)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, resp.StatusCode)
	}
	if diff := cmp.Diff([]int{429, 429, 200}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	f.srv.ClearFaults()
	if resp, _, _ := graphGet(t, f.srv.HTTPClient(), "/me/events", tok); resp.StatusCode == 503 {
		t.Error("ClearFaults left a fault")
	}
}

func TestInjectForever(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := f.srv.IssueToken(f.adele, appClientID, "User.Read")
	f.srv.Inject(Fault{Kind: GatewayTimeout, Times: -1})
	for i := range 5 {
		if resp, _, _ := graphGet(t, f.srv.HTTPClient(), "/me", tok); resp.StatusCode != 504 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
}

func TestDropConnection(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	f.srv.Inject(Fault{Kind: DropConnection})
	if _, _, err := graphGet(t, f.srv.HTTPClient(), "/me", f.srv.IssueToken(f.adele, appClientID, "User.Read")); err == nil {
		t.Fatal("request succeeded through a dropped connection")
	}
	reqs := f.srv.Requests()
	if last := reqs[len(reqs)-1]; last.Path != "/v1.0/me" || last.Status != 0 {
		t.Errorf("logged %s status %d, want /v1.0/me with status 0", last.Path, last.Status)
	}
}

func TestTruncateBody(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	f.srv.Inject(Fault{Kind: TruncateBody})
	resp, body, err := graphGet(t, f.srv.HTTPClient(), "/me", f.srv.IssueToken(f.adele, appClientID, "User.Read"))
	if err == nil {
		t.Fatalf("read a truncated body without error: %s", body)
	}
	if resp != nil && resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
	if errors.Is(err, io.EOF) {
		t.Errorf("plain EOF hides the truncation: %v", err)
	}
}

func TestSyncReset(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := f.srv.IssueToken(f.adele, appClientID, "User.Read", "Mail.Read")
	f.srv.Inject(Fault{Kind: SyncReset})
	// A delta request without a token, and other routes, pass untouched.
	for _, p := range []string{"/me", "/me/mailFolders/inbox/messages/delta"} {
		if resp, _, _ := graphGet(t, f.srv.HTTPClient(), p, tok); resp.StatusCode == http.StatusGone {
			t.Errorf("%s: 410 without a state token", p)
		}
	}
	resp, body, err := graphGet(t, f.srv.HTTPClient(), "/me/mailFolders/inbox/messages/delta?$deltatoken=abc", tok)
	if err != nil {
		t.Fatal(err)
	}
	var e graphError
	_ = json.Unmarshal(body, &e)
	if resp.StatusCode != http.StatusGone || e.Error.Code != "SyncStateNotFound" {
		t.Errorf("got %d %s, want 410 SyncStateNotFound", resp.StatusCode, e.Error.Code)
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	f.srv.Inject(Fault{Kind: Latency, Latency: 40 * time.Millisecond})
	start := time.Now()
	resp, _, err := graphGet(t, f.srv.HTTPClient(), "/me", f.srv.IssueToken(f.adele, appClientID, "User.Read"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Errorf("answered after %v, want at least 40ms", d)
	}
}

// chaosRun returns the statuses of n sequential GET /me under chaos c
// (0 for a transport or read error).
func chaosRun(t *testing.T, c ChaosConfig, n int) []int {
	f := newEntraFixture(t)
	tok := f.srv.IssueToken(f.adele, appClientID, "User.Read")
	f.srv.Chaos(c)
	hc := f.srv.HTTPClient()
	var out []int
	for range n {
		resp, _, err := graphGet(t, hc, "/me", tok)
		if err != nil {
			out = append(out, 0)
			continue
		}
		out = append(out, resp.StatusCode)
	}
	return out
}

func TestChaosIsSeeded(t *testing.T) {
	t.Parallel()
	c := ChaosConfig{Seed: 42, Throttle: 0.2, Unavailable: 0.1, Drop: 0.1, Truncate: 0.1}
	a, b := chaosRun(t, c, 40), chaosRun(t, c, 40)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different faults (-first +second):\n%s", diff)
	}
	count := map[int]int{}
	for _, s := range a {
		count[s]++
	}
	if count[200] == 0 || count[429] == 0 || count[503] == 0 || count[0] == 0 {
		t.Errorf("statuses %v: want successes, 429s, 503s and broken connections", count)
	}
	if other := chaosRun(t, ChaosConfig{Seed: 7, Throttle: 0.2, Unavailable: 0.1, Drop: 0.1, Truncate: 0.1}, 40); cmp.Equal(a, other) {
		t.Error("another seed gave the same faults")
	}
}

func TestChaosSyncResetsAndOff(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := f.srv.IssueToken(f.adele, appClientID, "User.Read")
	f.srv.Chaos(ChaosConfig{SyncResets: 2})
	var got []int
	for range 3 {
		resp, _, err := graphGet(t, f.srv.HTTPClient(), "/me/events/delta?$skiptoken=x", tok)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, resp.StatusCode)
	}
	if got[0] != 410 || got[1] != 410 || got[2] == 410 {
		t.Errorf("statuses %v, want two 410s then none", got)
	}
	f.srv.Chaos(ChaosConfig{Throttle: 1})
	f.srv.Chaos(ChaosConfig{})
	if resp, _, _ := graphGet(t, f.srv.HTTPClient(), "/me", tok); resp.StatusCode != 200 {
		t.Errorf("after chaos off: %d", resp.StatusCode)
	}
}

func TestRequestsLog(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := signInAs(t, f.srv, "adele@contoso.com")["access_token"].(string)
	f.srv.Inject(Fault{Kind: Throttle, RetryAfter: "1"})
	_, _, _ = graphGet(t, f.srv.HTTPClient(), "/me?$select=id", tok)

	var got []string
	for _, r := range f.srv.Requests() {
		got = append(got, r.Method+" "+r.Host+r.Path+" "+http.StatusText(r.Status))
		if r.Host != GraphHost && r.Header.Get("Authorization") != "" {
			t.Errorf("a bearer token reached %s", r.Host)
		}
	}
	want := []string{
		"GET login.microsoftonline.com/organizations/oauth2/v2.0/authorize Found",
		"POST login.microsoftonline.com/organizations/oauth2/v2.0/token OK",
		"GET graph.microsoft.com/v1.0/me Too Many Requests",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Requests (-want +got):\n%s", diff)
	}
	last := f.srv.Requests()[2]
	if last.RawQuery != "$select=id" || last.Header.Get("Authorization") != "Bearer "+tok || last.Time.IsZero() {
		t.Errorf("last request = %+v", last)
	}
	f.srv.ResetRequests()
	if n := len(f.srv.Requests()); n != 0 {
		t.Errorf("%d requests after ResetRequests", n)
	}
}
