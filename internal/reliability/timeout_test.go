package reliability_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
)

// TestAttemptTimeoutIsRetried: an attempt cut short by the HTTP client's
// own timeout (http.Client.Timeout, which graphtest's HTTPClient and many
// production clients set) is a transient failure of an idempotent GET,
// like a dropped connection, while the caller's context is still alive.
// The full-size chaos run found this: under load one delta GET took over
// graphtest's 30 seconds and the sync failed after one attempt.
func TestAttemptTimeoutIsRetried(t *testing.T) {
	t.Parallel()
	srv := graphtest.New(t)
	u := srv.AddTenant("contoso.com").AddUser("adele@contoso.com", "Adele Vance")
	hc := srv.HTTPClient()
	hc.Timeout = 250 * time.Millisecond
	gc, err := graphclient.New(graphclient.StaticToken(srv.IssueToken(u, chaosClientID, "User.Read")),
		graphclient.WithHTTPClient(hc), graphclient.WithRetry(fastRetry()))
	if err != nil {
		t.Fatal(err)
	}
	srv.Inject(graphtest.Fault{Kind: graphtest.Latency, Method: http.MethodGet, PathPrefix: "/me", Latency: 5 * time.Second})
	req, err := gc.NewRequest(t.Context(), http.MethodGet, "me", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gc.Do(req, nil); err != nil {
		t.Fatalf("GET me after one attempt timed out: %v", err)
	}
}
