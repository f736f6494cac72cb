package graphclient

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/m365kit/m365kit/internal/neterr"
)

// RetryPolicy decides which failed attempts are sent again and how long to
// wait in between. Its fields are plain functions, so any part can be
// replaced; a zero field takes its default, so the zero RetryPolicy is the
// default policy (5 attempts, [DefaultShouldRetry], [DefaultBackoff]). To
// send every request exactly once, set MaxAttempts to 1:
//
//	graphclient.WithRetry(graphclient.RetryPolicy{MaxAttempts: 1})
//
// A RetryPolicy is a plain value, safe for concurrent use as long as its
// functions are.
//
// Whatever the policy says, graphclient never waits past the request
// context's deadline: when the next wait would end after it, the last
// response's [*Error] is returned at once.
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts, the first included.
	// 1 disables retries; 0 means the default (5).
	MaxAttempts int
	// ShouldRetry reports whether an attempt should be sent again. req is
	// the caller's request (it never carries the Authorization header);
	// resp is nil when err is a transport error, and its body must not be
	// read. It is called from many goroutines at once and must be safe for
	// concurrent use. Default: [DefaultShouldRetry].
	ShouldRetry func(ctx context.Context, req *http.Request, resp *http.Response, err error) bool
	// Backoff returns the wait before the next attempt, after attempt
	// number attempt (1 for the first) ended with resp (nil after a
	// transport error). It must be safe for concurrent use and must not
	// read resp's body. Default: [DefaultBackoff].
	Backoff func(attempt int, resp *http.Response) time.Duration
}

const (
	defaultMaxAttempts = 5
	defaultBackoffMin  = 500 * time.Millisecond
	defaultBackoffMax  = 30 * time.Second
	maxRetryAfter      = 24 * time.Hour
)

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = defaultMaxAttempts
	}
	if p.ShouldRetry == nil {
		p.ShouldRetry = DefaultShouldRetry
	}
	if p.Backoff == nil {
		p.Backoff = DefaultBackoff
	}
	return p
}

// DefaultShouldRetry retries 429 and 503 for every method (Graph did not
// process the request), 504 and transient transport errors only for
// idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE), and nothing once
// ctx is done. A transport error is transient when it is a timeout, a
// connection refused, reset or closed before the answer ended, or an
// HTTP/2 stream reset; any other error a RoundTripper returns is not.
func DefaultShouldRetry(ctx context.Context, req *http.Request, resp *http.Response, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	idem := req == nil || idempotent(req.Method)
	if err != nil {
		return idem && neterr.Transient(err)
	}
	if resp == nil {
		return false
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return true
	case http.StatusGatewayTimeout:
		return idem
	}
	return false
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}

// DefaultBackoff waits exactly what the response's Retry-After header says
// (integer or fractional seconds, or an HTTP date measured against the
// response's Date header), else a capped exponential backoff with full
// jitter: a random wait in [0, min(30s, 500ms * 2^(attempt-1))].
func DefaultBackoff(attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), serverNow(resp.Header, time.Now())); ok {
			return d
		}
	}
	return ExponentialBackoff(defaultBackoffMin, defaultBackoffMax)(attempt, resp)
}

// ExponentialBackoff returns a [RetryPolicy] Backoff that ignores Retry-After and waits
// a random duration in [0, min(max, min*2^(attempt-1))] (full jitter).
func ExponentialBackoff(min, max time.Duration) func(attempt int, resp *http.Response) time.Duration {
	return func(attempt int, _ *http.Response) time.Duration {
		if attempt < 1 {
			attempt = 1
		}
		ceil := float64(min) * math.Pow(2, float64(attempt-1))
		if ceil > float64(max) || math.IsInf(ceil, 0) {
			ceil = float64(max)
		}
		if ceil <= 0 {
			return 0
		}
		return time.Duration(rand.Int64N(int64(ceil) + 1))
	}
}

// serverNow returns the response's Date header, the clock an HTTP-date
// Retry-After is relative to, or now when it is missing.
func serverNow(h http.Header, now time.Time) time.Time {
	if h != nil {
		if t, err := http.ParseTime(h.Get("Date")); err == nil {
			return t
		}
	}
	return now
}

// parseRetryAfter parses a Retry-After value: delay-seconds, fractional
// seconds as Graph sends them ("2.128"), or an HTTP date (relative to now).
// Negative, non-finite or unparsable values report false; a date in the
// past gives 0. The result is capped at 24 hours.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if c := v[0]; c >= '0' && c <= '9' || c == '.' {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return 0, false
		}
		if f*float64(time.Second) > float64(maxRetryAfter) {
			return maxRetryAfter, true
		}
		return time.Duration(math.Round(f * float64(time.Second))), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	if d > maxRetryAfter {
		d = maxRetryAfter
	}
	return d, true
}
