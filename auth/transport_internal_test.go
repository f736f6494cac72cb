package auth

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
)

// failingTransport answers every request with err and counts them.
type failingTransport struct {
	err   error
	calls atomic.Int32
}

func (t *failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	t.calls.Add(1)
	return nil, t.err
}

// TestRetryOnlyTransientTransportErrors: Entra requests that may be sent
// twice are retried after a dropped or refused connection, but an error a
// RoundTripper makes up (a replayed recording that holds no answer) comes
// back after one attempt, and still matches errors.Is.
func TestRetryOnlyTransientTransportErrors(t *testing.T) {
	t.Parallel()
	notRecorded := errors.New("recording: not recorded: GET https://login.microsoftonline.com/common/discovery/keys")
	tests := []struct {
		name      string
		err       error
		wantCalls int32
	}{
		{"made up by the RoundTripper", notRecorded, 1},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, 4},
		{"closed before the answer", io.EOF, 4},
	}
	for _, tt := range tests {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(tt.name+"/"+method, func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					tr := &failingTransport{err: tt.err}
					hc := retryingClient(&http.Client{Transport: tr})
					var body io.Reader
					if method == http.MethodPost {
						body = strings.NewReader("grant_type=refresh_token&refresh_token=r")
					}
					req, err := http.NewRequestWithContext(t.Context(), method, "https://login.microsoftonline.com/common/oauth2/v2.0/token", body)
					if err != nil {
						t.Fatal(err)
					}
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					resp, err := hc.Do(req)
					if err == nil {
						resp.Body.Close()
						t.Fatal("no error")
					}
					if !errors.Is(err, tt.err) {
						t.Errorf("err = %v, want it to wrap %v", err, tt.err)
					}
					if n := tr.calls.Load(); n != tt.wantCalls {
						t.Errorf("%d attempts, want %d", n, tt.wantCalls)
					}
				})
			})
		}
	}
}
