package reliability_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/m365kit/m365kit/graphtest"
)

// killKey carries, in a request's context, the function that kills the
// sync the request belongs to (see userTransport.killRate).
type killKey struct{}

// withKill returns ctx carrying kill.
func withKill(ctx context.Context, kill func()) context.Context {
	return context.WithValue(ctx, killKey{}, kill)
}

// userTransport sits between one user's graphclient and graphtest. It
// measures the user's requests in flight (from the start of RoundTrip until
// the response body is closed or fails), answers a seeded share of Graph
// requests with 504 Gateway Timeout (graphtest's Chaos has no 504 rate: the
// request reaches the fake and is processed, the answer is lost, as when a
// gateway times out), and may kill the sync a request belongs to.
type userTransport struct {
	base     http.RoundTripper
	gateway  float64 // share of Graph requests answered 504
	killRate float64 // share of requests whose sync is killed as they start

	mu  sync.Mutex
	rng *rand.Rand

	inflight, maxInflight atomic.Int64
	requests              atomic.Int64 // attempts sent
	timeouts              atomic.Int64 // 504s synthesised
	transport             atomic.Int64 // transport errors (dropped connections, kills)
	bodyErrs              atomic.Int64 // bodies that failed mid-read (truncated)
	kills                 atomic.Int64 // syncs killed by this transport
	gone                  atomic.Int64 // 410s handed to a sync whose context was live
}

func newUserTransport(base http.RoundTripper, seed uint64, gateway, kill float64) *userTransport {
	return &userTransport{base: base, gateway: gateway, killRate: kill, rng: rand.New(rand.NewPCG(seed, 0x7265_6c69))}
}

func (t *userTransport) roll() (gw, kill float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rng.Float64(), t.rng.Float64()
}

func (t *userTransport) enter() {
	n := t.inflight.Add(1)
	for {
		m := t.maxInflight.Load()
		if n <= m || t.maxInflight.CompareAndSwap(m, n) {
			return
		}
	}
}

func (t *userTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.enter()
	t.requests.Add(1)
	gw, kill := t.roll()
	if k, ok := r.Context().Value(killKey{}).(func()); ok && kill < t.killRate {
		t.kills.Add(1)
		k()
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		t.inflight.Add(-1)
		t.transport.Add(1)
		return nil, err
	}
	// The run's one 410 is never lost to a synthesised 504: the suite
	// must see Graph's sync reset handled every run.
	if r.URL.Host == graphtest.GraphHost && gw < t.gateway && resp.StatusCode != http.StatusGone {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		t.inflight.Add(-1)
		t.timeouts.Add(1)
		body := "<html><body><h1>504 Gateway Time-out</h1></body></html>"
		h := http.Header{"Content-Type": {"text/html"}}
		return &http.Response{
			Status: "504 Gateway Timeout", StatusCode: http.StatusGatewayTimeout,
			Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
			Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r,
		}, nil
	}
	if resp.StatusCode == http.StatusGone && r.Context().Err() == nil {
		t.gone.Add(1)
	}
	resp.Body = &countedBody{ReadCloser: resp.Body, t: t}
	return resp, nil
}

// countedBody ends a request's time in flight when its body is closed.
type countedBody struct {
	io.ReadCloser
	t    *userTransport
	once sync.Once
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.t.bodyErrs.Add(1)
	}
	return n, err
}

func (b *countedBody) Close() error {
	b.once.Do(func() { b.t.inflight.Add(-1) })
	return b.ReadCloser.Close()
}

// wrapClient returns a copy of hc whose transport is t (t.base must be
// hc's transport).
func wrapClient(hc *http.Client, t http.RoundTripper) *http.Client {
	c := *hc
	c.Transport = t
	return &c
}

// lockedBuffer is an io.Writer many goroutines log into.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// debugLogger returns a logger writing every record, Debug included, to b.
func debugLogger(b *lockedBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// secrets are the credentials a run handed out or used: none may appear in
// a log or an error string.
type secrets struct {
	mu   sync.Mutex
	vals map[string]string // value -> what it is
}

func (s *secrets) add(what, v string) {
	if len(v) < 8 { // too short to be a credential; would match by chance
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vals == nil {
		s.vals = map[string]string{}
	}
	s.vals[v] = what
}

func (s *secrets) count() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, what := range s.vals {
		out[what]++
	}
	return out
}

// leaks returns what secrets text contains, sorted.
func (s *secrets) leaks(text string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for v, what := range s.vals {
		if strings.Contains(text, v) {
			out = append(out, what)
		}
	}
	sort.Strings(out)
	return out
}

// checkNoLeaks fails t if text contains any secret.
func (s *secrets) checkNoLeaks(t *testing.T, where, text string) {
	t.Helper()
	if l := s.leaks(text); len(l) > 0 {
		t.Errorf("%s contains secrets: %v", where, l)
	}
}

// checkAuthorizationHosts fails t if a request carried an Authorization
// header to a host other than Graph's, and returns how many did to Graph.
func checkAuthorizationHosts(t *testing.T, reqs []graphtest.Request) int {
	t.Helper()
	n := 0
	for _, r := range reqs {
		if r.Header.Get("Authorization") == "" {
			continue
		}
		if r.Host != graphtest.GraphHost {
			t.Errorf("%s %s %s carried an Authorization header", r.Method, r.Host, r.Path)
			continue
		}
		n++
	}
	return n
}

// errorLog collects the error strings a run saw.
type errorLog struct {
	mu   sync.Mutex
	errs []string
}

func (l *errorLog) add(err error) {
	if err == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err.Error())
}

func (l *errorLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.errs, "\n")
}

func (l *errorLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.errs)
}
