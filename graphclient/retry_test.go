package graphclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"

	"github.com/m365kit/m365kit/graphtest"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2015, 10, 21, 7, 28, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"2.128", 2128 * time.Millisecond, true},
		{"0.249", 249 * time.Millisecond, true},
		{"5", 5 * time.Second, true},
		{" 3 ", 3 * time.Second, true},
		{"0", 0, true},
		{".5", 500 * time.Millisecond, true},
		{"Wed, 21 Oct 2015 07:28:30 GMT", 30 * time.Second, true},
		{"Wed, 21 Oct 2015 07:27:00 GMT", 0, true}, // in the past
		{"Wednesday, 21-Oct-15 07:28:10 GMT", 10 * time.Second, true},
		{"99999999999", 24 * time.Hour, true},
		{"", 0, false},
		{"-1", 0, false},
		{"1e400", 0, false},
		{"NaN", 0, false},
		{"soon", 0, false},
		{"2.1.2", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestDefaultBackoff(t *testing.T) {
	t.Parallel()
	h := http.Header{"Retry-After": {"Wed, 21 Oct 2015 07:28:04 GMT"}, "Date": {"Wed, 21 Oct 2015 07:28:00 GMT"}}
	if got := DefaultBackoff(1, &http.Response{Header: h}); got != 4*time.Second {
		t.Errorf("HTTP-date Retry-After against the Date header: got %v, want 4s", got)
	}
	for attempt := 1; attempt <= 12; attempt++ {
		ceil := min(defaultBackoffMax, time.Duration(float64(defaultBackoffMin)*math.Pow(2, float64(attempt-1))))
		for range 20 {
			if got := DefaultBackoff(attempt, &http.Response{Header: http.Header{}}); got < 0 || got > ceil {
				t.Fatalf("DefaultBackoff(%d) = %v, want within [0, %v]", attempt, got, ceil)
			}
		}
	}
}

// TestDoHonoursFractionalRetryAfter replays the documented 429 sample: the
// client waits exactly 2.128s (on the injected clock), resends the same
// body with the same client-request-id, and returns the success.
func TestDoHonoursFractionalRetryAfter(t *testing.T) {
	t.Parallel()
	c, mux, _, clk := setup(t)
	var calls atomic.Int32
	var mu sync.Mutex
	var bodies, crids []string
	mux.HandleFunc("POST /v1.0/me/events", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		crids = append(crids, r.Header.Get("client-request-id"))
		mu.Unlock()
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "2.128")
			serve(w, 429, readTestdata(t, "error-throttled-429.json"))
			return
		}
		serve(w, 201, []byte(`{"id":"AAMk1"}`))
	})
	req, err := c.NewRequest(t.Context(), "POST", "me/events", map[string]string{"subject": "Sync"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ ID string }
	if _, err := c.Do(req, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != "AAMk1" {
		t.Errorf("ID = %q", got.ID)
	}
	if diff := cmp.Diff([]time.Duration{2128 * time.Millisecond}, clk.Sleeps()); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
	if len(bodies) != 2 || bodies[0] != `{"subject":"Sync"}` || bodies[1] != bodies[0] {
		t.Errorf("bodies = %q, want the same JSON twice", bodies)
	}
	if crids[0] == "" || crids[0] != crids[1] {
		t.Errorf("client-request-ids = %q, want one non-empty id on both attempts", crids)
	}
}

func TestDoRetryDecisions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method       string
		status       int
		wantAttempts int32
	}{
		{"GET", 429, 2},
		{"GET", 503, 2},
		{"GET", 504, 2},
		{"DELETE", 504, 2},
		{"POST", 429, 2},
		{"POST", 503, 2},
		{"PATCH", 503, 2},
		{"POST", 504, 1},
		{"PATCH", 504, 1},
		{"GET", 500, 1},
		{"GET", 400, 1},
		{"GET", 404, 1},
		{"GET", 410, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s_%d", tt.method, tt.status), func(t *testing.T) {
			t.Parallel()
			c, mux, _, _ := setup(t)
			var calls atomic.Int32
			mux.HandleFunc("/v1.0/x", func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					serve(w, tt.status, []byte(`{"error":{"code":"c","message":"m"}}`))
					return
				}
				serve(w, 200, []byte(`{}`))
			})
			req, _ := c.NewRequest(t.Context(), tt.method, "x", nil)
			_, err := c.Do(req, nil)
			if got := calls.Load(); got != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", got, tt.wantAttempts)
			}
			if tt.wantAttempts == 1 {
				var ge *Error
				if !errors.As(err, &ge) || ge.StatusCode != tt.status {
					t.Errorf("err = %v, want *Error with status %d", err, tt.status)
				}
			} else if err != nil {
				t.Errorf("err = %v, want success after retry", err)
			}
		})
	}
}

// TestDoAttemptsExhausted: the last response's *Error comes back, not a
// generic "gave up", and the waits follow each response's Retry-After.
func TestDoAttemptsExhausted(t *testing.T) {
	t.Parallel()
	c, mux, _, clk := setup(t, WithRetry(RetryPolicy{MaxAttempts: 3}))
	var calls atomic.Int32
	mux.HandleFunc("GET /v1.0/me/messages", func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		w.Header().Set("Retry-After", fmt.Sprint(n))
		w.Header().Set("request-id", fmt.Sprintf("rid-%d", n))
		serve(w, 429, readTestdata(t, "error-throttled-429.json"))
	})
	req, _ := c.NewRequest(t.Context(), "GET", "me/messages", nil)
	_, err := c.Do(req, nil)
	var ge *Error
	if !errors.As(err, &ge) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if ge.Attempts != 3 || ge.RetryAfter != 3*time.Second || !errors.Is(err, ErrThrottled) {
		t.Errorf("got Attempts=%d RetryAfter=%v Is(ErrThrottled)=%v", ge.Attempts, ge.RetryAfter, errors.Is(err, ErrThrottled))
	}
	// The body's innerError request-id wins over the header.
	if ge.RequestID != "94fb3b52-452a-4535-a601-69e0a90e3aa2" {
		t.Errorf("RequestID = %q", ge.RequestID)
	}
	if ge.ClientRequestID != req.Header.Get("client-request-id") || ge.ClientRequestID == "" {
		t.Errorf("ClientRequestID = %q, want the sent %q", ge.ClientRequestID, req.Header.Get("client-request-id"))
	}
	if strings.Contains(err.Error(), "giving up") {
		t.Errorf("error says giving up: %v", err)
	}
	if diff := cmp.Diff([]time.Duration{1 * time.Second, 2 * time.Second}, clk.Sleeps()); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
}

// TestDoDeadlineBeforeRetryAfter: when waiting Retry-After would pass the
// context's deadline, the last *Error comes back at once, with no wait.
func TestDoDeadlineBeforeRetryAfter(t *testing.T) {
	t.Parallel()
	c, mux, _, clk := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("GET /v1.0/me", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "120")
		serve(w, 503, nil)
	})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	req, _ := c.NewRequest(ctx, "GET", "me", nil)
	_, err := c.Do(req, nil)
	var ge *Error
	if !errors.As(err, &ge) || ge.StatusCode != 503 || ge.RetryAfter != 2*time.Minute {
		t.Fatalf("err = %v, want the 503 *Error with RetryAfter 2m", err)
	}
	if calls.Load() != 1 || len(clk.Sleeps()) != 0 {
		t.Errorf("calls = %d, sleeps = %v; want 1 call and no sleep", calls.Load(), clk.Sleeps())
	}
}

// TestDoCancelMidBackoff: cancelling the context while the client waits
// out a Retry-After returns promptly with both the context error and the
// last response's error.
func TestDoCancelMidBackoff(t *testing.T) {
	t.Parallel()
	c, mux, _, _ := setup(t)
	sleeping := make(chan time.Duration, 1)
	c.sleep = func(ctx context.Context, d time.Duration) error {
		sleeping <- d
		return sleepCtx(ctx, d) // the real, timer-based wait
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var calls atomic.Int32
	mux.HandleFunc("GET /v1.0/me", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "3600")
		serve(w, 429, readTestdata(t, "error-throttled-429.json"))
	})
	req, _ := c.NewRequest(ctx, "GET", "me", nil)
	done := make(chan error, 1)
	go func() {
		_, err := c.Do(req, nil)
		done <- err
	}()
	if d := <-sleeping; d != time.Hour {
		t.Errorf("waiting %v, want 1h", d)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrThrottled) {
			t.Errorf("err = %v, want context.Canceled and ErrThrottled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Do did not return after cancel")
	}
	if calls.Load() != 1 {
		t.Errorf("calls = %d, want 1", calls.Load())
	}
}

func TestDoTransportErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method       string
		wantAttempts int
		wantErr      bool
	}{
		{"GET", 2, false},
		{"POST", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			t.Parallel()
			tr := httpmock.NewMockTransport()
			clk := newFakeClock()
			attempts := 0
			tr.RegisterResponder(tt.method, "https://graph.microsoft.com/v1.0/me/events", func(r *http.Request) (*http.Response, error) {
				attempts++
				if attempts == 1 {
					return nil, &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
				}
				return httpmock.NewStringResponse(200, `{"id":"1"}`), nil
			})
			c, err := New(StaticToken(testToken), WithHTTPClient(&http.Client{Transport: tr}), withClock(clk))
			if err != nil {
				t.Fatal(err)
			}
			req, _ := c.NewRequest(t.Context(), tt.method, "me/events", nil)
			_, err = c.Do(req, nil)
			if attempts != tt.wantAttempts || (err != nil) != tt.wantErr {
				t.Errorf("attempts = %d, err = %v; want %d attempts, error %v", attempts, err, tt.wantAttempts, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

// TestDoTruncatedBodyRetried: a 200 whose body is cut short is retried for
// a GET.
func TestDoTruncatedBodyRetried(t *testing.T) {
	t.Parallel()
	c, mux, _, _ := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("GET /v1.0/me", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(200)
			_, _ = w.Write([]byte(`{"displayName":`))
			return // the server closes the connection short of Content-Length
		}
		serve(w, 200, []byte(`{"displayName":"Adele"}`))
	})
	req, _ := c.NewRequest(t.Context(), "GET", "me", nil)
	var me struct{ DisplayName string }
	if _, err := c.Do(req, &me); err != nil {
		t.Fatal(err)
	}
	if me.DisplayName != "Adele" || calls.Load() != 2 {
		t.Errorf("DisplayName = %q after %d calls", me.DisplayName, calls.Load())
	}
}

// TestMaxAttemptsOneDisablesRetries: RetryPolicy{MaxAttempts: 1}, the
// documented way to turn retries off, sends a throttled request once.
func TestMaxAttemptsOneDisablesRetries(t *testing.T) {
	t.Parallel()
	c, mux, _, clk := setup(t, WithRetry(RetryPolicy{MaxAttempts: 1}))
	var calls atomic.Int32
	mux.HandleFunc("GET /v1.0/me", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		serve(w, 429, nil)
	})
	req, _ := c.NewRequest(t.Context(), "GET", "me", nil)
	if _, err := c.Do(req, nil); !errors.Is(err, ErrThrottled) {
		t.Errorf("err = %v", err)
	}
	if calls.Load() != 1 || len(clk.Sleeps()) != 0 {
		t.Errorf("calls = %d, sleeps = %v", calls.Load(), clk.Sleeps())
	}
}

// TestDoRetryAfterHTTPDate: an HTTP-date Retry-After is measured against
// the response's Date header, so client clock skew does not matter.
func TestDoRetryAfterHTTPDate(t *testing.T) {
	t.Parallel()
	c, mux, _, clk := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("GET /v1.0/me", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Date", "Wed, 21 Oct 2015 07:28:00 GMT")
			w.Header().Set("Retry-After", "Wed, 21 Oct 2015 07:28:05 GMT")
			serve(w, 503, nil)
			return
		}
		serve(w, 200, []byte(`{}`))
	})
	req, _ := c.NewRequest(t.Context(), "GET", "me", nil)
	if _, err := c.Do(req, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Duration{5 * time.Second}, clk.Sleeps()); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
}

// TestRetryWaitGivesTheSlotUp: while a throttled request waits out its
// Retry-After it holds no request slot, and takes one again to retry.
func TestRetryWaitGivesTheSlotUp(t *testing.T) {
	t.Parallel()
	c, mux, _, _ := setup(t, WithMaxConcurrency(1))
	var calls atomic.Int32
	mux.HandleFunc("GET /v1.0/me", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			serve(w, 429, readTestdata(t, "error-throttled-429.json"))
			return
		}
		serve(w, 200, []byte(`{}`))
	})
	var heldWhileWaiting []int
	c.sleep = func(ctx context.Context, d time.Duration) error {
		heldWhileWaiting = append(heldWhileWaiting, len(c.sem))
		return ctx.Err()
	}
	req, _ := c.NewRequest(t.Context(), "GET", "me", nil)
	if _, err := c.Do(req, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{0}, heldWhileWaiting); diff != "" || calls.Load() != 2 {
		t.Errorf("slots held while waiting (-want +got):\n%s\ncalls = %d, want 2", diff, calls.Load())
	}
}

// countingTransport fails every request and counts CloseIdleConnections.
type countingTransport struct{ closes atomic.Int32 }

func (t *countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
}

func (t *countingTransport) CloseIdleConnections() { t.closes.Add(1) }

// TestTransportErrorsKeepTheSharedPool: giving up after transport errors
// leaves the idle connections of the (shared) transport alone.
func TestTransportErrorsKeepTheSharedPool(t *testing.T) {
	t.Parallel()
	tr := &countingTransport{}
	c, err := New(StaticToken(testToken), WithHTTPClient(&http.Client{Transport: tr}), withClock(newFakeClock()), WithRetry(RetryPolicy{MaxAttempts: 2}))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := c.NewRequest(t.Context(), "GET", "me", nil)
	if _, err := c.Do(req, nil); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("err = %v, want the transport error", err)
	}
	if n := tr.closes.Load(); n != 0 {
		t.Errorf("CloseIdleConnections called %d times on the shared transport", n)
	}
}

// dnsFailure fails every request the way a name that does not resolve
// fails, and counts the attempts.
type dnsFailure struct{ calls atomic.Int32 }

func (t *dnsFailure) RoundTrip(r *http.Request) (*http.Response, error) {
	t.calls.Add(1)
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: r.URL.Hostname(), IsNotFound: true}}
}

// TestUnreachableGraphFailsFastInOneLine: a Client for graph.microsoft.com
// whose HTTP client cannot resolve it (the token comes from a graphtest
// fake, but WithHTTPClient was forgotten) fails after one attempt with one
// short line that says what to do, and the DNS error is still reachable.
func TestUnreachableGraphFailsFastInOneLine(t *testing.T) {
	t.Parallel()
	tr := &dnsFailure{}
	clk := newFakeClock()
	c, err := New(StaticToken(testToken), WithHTTPClient(&http.Client{Transport: tr}), withClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := c.NewRequest(t.Context(), "GET", "me/events?$filter=subject eq 'secret'", nil)
	_, err = c.Do(req, nil)
	if err == nil {
		t.Fatal("no error")
	}
	want := "graphclient: GET me/events: cannot reach graph.microsoft.com: no such host (against a graphtest fake, pass its HTTPClient to graphclient.WithHTTPClient)"
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound {
		t.Errorf("errors.As(*net.DNSError) failed for %v", err)
	}
	if n := tr.calls.Load(); n != 1 || len(clk.Sleeps()) != 0 {
		t.Errorf("attempts = %d, sleeps = %v; want 1 attempt and no wait", n, clk.Sleeps())
	}
}

// notRecordedError is an error a RoundTripper makes up rather than meets on
// the network, as a replayed recording answers a request it does not hold.
type notRecordedError struct{ request string }

func (e *notRecordedError) Error() string { return "recording: not recorded: " + e.request }

// scriptedTransport answers every request with err and counts them.
type scriptedTransport struct {
	err   error
	calls atomic.Int32
}

func (t *scriptedTransport) RoundTrip(*http.Request) (*http.Response, error) {
	t.calls.Add(1)
	return nil, t.err
}

// TestDoMadeUpTransportErrorNotRetried: only transport failures another
// attempt may not meet are retried. An error a RoundTripper makes up (a
// replay that holds no answer) is returned after one attempt, with no wait,
// and stays reachable through errors.As; a reset connection is retried.
func TestDoMadeUpTransportErrorNotRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		err          error
		wantAttempts int32
	}{
		{"made up by the RoundTripper", &notRecordedError{"GET https://graph.microsoft.com/v1.0/me"}, 1},
		{"plain error", errors.New("no answer for GET me"), 1},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, 5},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, 5},
		{"closed mid-answer", io.ErrUnexpectedEOF, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := &scriptedTransport{err: tt.err}
			clk := newFakeClock()
			c, err := New(StaticToken(testToken), WithHTTPClient(&http.Client{Transport: tr}), withClock(clk))
			if err != nil {
				t.Fatal(err)
			}
			req, _ := c.NewRequest(t.Context(), "GET", "me", nil)
			_, err = c.Do(req, nil)
			if !errors.Is(err, tt.err) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.err)
			}
			if n := tr.calls.Load(); n != tt.wantAttempts || len(clk.Sleeps()) != int(n-1) {
				t.Errorf("attempts = %d, waits = %v; want %d attempts", n, clk.Sleeps(), tt.wantAttempts)
			}
		})
	}
}

// TestDoDroppedConnectionRetried: a connection graphtest drops (an HTTP/2
// stream reset, as Graph's front door does) is still retried, before the
// answer and in the middle of its body.
func TestDoDroppedConnectionRetried(t *testing.T) {
	t.Parallel()
	for _, kind := range []graphtest.FaultKind{graphtest.DropConnection, graphtest.TruncateBody} {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			srv := graphtest.New(t)
			demo := srv.AddDemoTenant()
			srv.Inject(graphtest.Fault{Kind: kind, PathPrefix: "/me"})
			clk := newFakeClock()
			c, err := New(StaticToken(srv.IssueToken(demo.Adele, graphtest.DemoClientID, "User.Read")), WithHTTPClient(srv.HTTPClient()), withClock(clk))
			if err != nil {
				t.Fatal(err)
			}
			req, _ := c.NewRequest(t.Context(), "GET", "me", nil)
			var me struct{ DisplayName string }
			if _, err := c.Do(req, &me); err != nil {
				t.Fatalf("the dropped connection was not retried: %v", err)
			}
			if me.DisplayName == "" || len(clk.Sleeps()) != 1 {
				t.Errorf("DisplayName = %q after waits %v; want Adele's after one retry", me.DisplayName, clk.Sleeps())
			}
		})
	}
}
