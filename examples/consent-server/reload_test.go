package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/m365test"
)

// Loading the callback again after it succeeded (a reload, the back
// button) shows the recorded consent, not a failure.
func TestCallbackReload(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	ts, c := newTestServer(t, d)
	resp, err := c.Get(ts.URL + "/consent/start?choice=all")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	callback := resp.Request.URL.String()
	if resp.StatusCode != http.StatusOK || !strings.Contains(callback, "/auth/callback?") {
		t.Fatalf("consent ended at %s with %s", callback, resp.Status)
	}

	code, body := get(t, c, callback)
	if code != http.StatusOK || !strings.Contains(body, "This consent was already recorded") || !strings.Contains(body, `id="verify-now"`) {
		t.Errorf("reload: %d\n%s", code, body)
	}

}
