package graphclient

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jarcoal/httpmock"
)

// TestRealWaitHonoursRetryAfter runs the client's real timer-based wait
// inside a synctest bubble (fake time, no socket): the retry happens
// exactly 2.128s after the throttled response.
func TestRealWaitHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		tr := httpmock.NewMockTransport()
		var times []time.Time
		tr.RegisterResponder("GET", "https://graph.microsoft.com/v1.0/me", func(r *http.Request) (*http.Response, error) {
			times = append(times, time.Now())
			if len(times) == 1 {
				resp := httpmock.NewBytesResponse(429, readTestdata(t, "error-throttled-429.json"))
				resp.Header.Set("Retry-After", "2.128")
				return resp, nil
			}
			return httpmock.NewStringResponse(200, `{"displayName":"Adele"}`), nil
		})
		c, err := New(StaticToken(testToken), WithHTTPClient(&http.Client{Transport: tr}))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := c.NewRequest(t.Context(), "GET", "me", nil)
		if _, err := c.Do(req, nil); err != nil {
			t.Fatal(err)
		}
		if len(times) != 2 {
			t.Fatalf("attempts = %d", len(times))
		}
		if got := times[1].Sub(times[0]); got != 2128*time.Millisecond {
			t.Errorf("retried after %v, want exactly 2.128s", got)
		}
	})
}
