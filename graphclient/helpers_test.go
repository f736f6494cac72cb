package graphclient

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

const testToken = "test-token-secret-123"

// fakeClock records requested sleeps instead of sleeping.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Now()}
}

func (f *fakeClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.sleeps = append(f.sleeps, d)
	f.t = f.t.Add(d)
	f.mu.Unlock()
	return ctx.Err()
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// withClock injects a clock; test-only.
func withClock(f *fakeClock) Option {
	return func(o *options) error {
		o.now = f.now
		o.sleep = f.sleep
		return nil
	}
}

// setup starts an httptest server whose mux is mounted under /v1.0/ and
// returns a client pointed at it with a fake clock.
func setup(t *testing.T, opts ...Option) (*Client, *http.ServeMux, *httptest.Server, *fakeClock) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	clk := newFakeClock()
	all := append([]Option{WithBaseURL(srv.URL + "/v1.0/"), WithHTTPClient(srv.Client()), withClock(clk)}, opts...)
	c, err := New(StaticToken(testToken), all...)
	if err != nil {
		t.Fatal(err)
	}
	return c, mux, srv, clk
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixture returns a testdata file with "https://graph.microsoft.com/" in
// its links rewritten to root (srv.URL+"/" to lead back to the test server).
func fixture(t testing.TB, name, root string) []byte {
	t.Helper()
	return bytes.ReplaceAll(readTestdata(t, name), []byte("https://graph.microsoft.com/"), []byte(root))
}

// serve writes body as a JSON response with status.
func serve(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
