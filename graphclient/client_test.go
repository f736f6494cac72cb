package graphclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"
)

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ts   TokenSource
		opts []Option
		want string // "" means valid
	}{
		{"defaults", StaticToken("t"), nil, ""},
		{"US Government L4", StaticToken("t"), []Option{WithBaseURL("https://graph.microsoft.us/v1.0/")}, ""},
		{"US Government L5 (DOD)", StaticToken("t"), []Option{WithBaseURL("https://dod-graph.microsoft.us/v1.0")}, ""},
		{"China (21Vianet)", StaticToken("t"), []Option{WithBaseURL("https://microsoftgraph.chinacloudapi.cn/v1.0/")}, ""},
		{"loopback http", StaticToken("t"), []Option{WithBaseURL("http://127.0.0.1:8080/v1.0/")}, ""},
		{"localhost http", StaticToken("t"), []Option{WithBaseURL("http://localhost:8080/v1.0/")}, ""},
		{"nil token source", nil, nil, "nil TokenSource"},
		{"plain http", StaticToken("t"), []Option{WithBaseURL("http://graph.microsoft.com/v1.0/")}, "scheme must be https"},
		{"ftp", StaticToken("t"), []Option{WithBaseURL("ftp://graph.microsoft.com/")}, "scheme must be https"},
		{"no host", StaticToken("t"), []Option{WithBaseURL("https:///v1.0/")}, "no host"},
		{"relative", StaticToken("t"), []Option{WithBaseURL("v1.0/")}, "no host"},
		{"query", StaticToken("t"), []Option{WithBaseURL("https://graph.microsoft.com/v1.0/?x=1")}, "query and fragment"},
		{"user info", StaticToken("t"), []Option{WithBaseURL("https://u:p@graph.microsoft.com/v1.0/")}, "user info"},
		{"nil HTTP client", StaticToken("t"), []Option{WithHTTPClient(nil)}, "nil *http.Client"},
		{"nil logger", StaticToken("t"), []Option{WithLogger(nil)}, "nil *slog.Logger"},
		{"zero concurrency", StaticToken("t"), []Option{WithMaxConcurrency(0)}, "less than 1"},
		{"bad user agent", StaticToken("t"), []Option{WithUserAgent("a\r\nX-Evil: 1")}, "invalid user agent"},
		{"bad time zone", StaticToken("t"), []Option{WithTimeZone(`UTC"`)}, "invalid time zone"},
		{"negative attempts", StaticToken("t"), []Option{WithRetry(RetryPolicy{MaxAttempts: -1})}, "negative"},
		{"zero body cap", StaticToken("t"), []Option{WithMaxResponseSize(0)}, "less than 1"},
		{"nil option", StaticToken("t"), []Option{nil}, "option 0 is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := New(tt.ts, tt.opts...)
			if tt.want == "" {
				if err != nil || c == nil {
					t.Fatalf("New = %v, %v", c, err)
				}
				if !strings.HasSuffix(c.BaseURL(), "/") {
					t.Errorf("BaseURL %q lacks the trailing slash", c.BaseURL())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestRequestHeaders checks what every request carries, with options given
// in either order.
func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       []Option
		wantPrefer []string
		wantUA     string
	}{
		{"defaults", nil, []string{`outlook.timezone="UTC"`}, defaultUserAgent},
		{"immutable IDs and zone", []Option{WithImmutableIDs(), WithTimeZone("Pacific Standard Time"), WithUserAgent("acme/1.0")},
			[]string{`outlook.timezone="Pacific Standard Time"`, `IdType="ImmutableId"`}, "acme/1.0"},
		{"same options, other order", []Option{WithUserAgent("acme/1.0"), WithTimeZone("Pacific Standard Time"), WithImmutableIDs()},
			[]string{`outlook.timezone="Pacific Standard Time"`, `IdType="ImmutableId"`}, "acme/1.0"},
		{"no time zone", []Option{WithTimeZone("")}, nil, defaultUserAgent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _, _ := setup(t, tt.opts...)
			var got []http.Header
			mux.HandleFunc("GET /v1.0/me", func(w http.ResponseWriter, r *http.Request) {
				got = append(got, r.Header.Clone())
				serve(w, 200, []byte(`{}`))
			})
			for range 2 {
				req, err := c.NewRequest(t.Context(), "GET", "me", nil)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.Do(req, nil); err != nil {
					t.Fatal(err)
				}
			}
			for _, h := range got {
				if fmt.Sprint(h.Values("Prefer")) != fmt.Sprint(tt.wantPrefer) {
					t.Errorf("Prefer = %q, want %q", h.Values("Prefer"), tt.wantPrefer)
				}
				if h.Get("User-Agent") != tt.wantUA || h.Get("Accept") != "application/json" || h.Get("Authorization") != "Bearer "+testToken {
					t.Errorf("headers = %v", h)
				}
				if !guidRE.MatchString(h.Get("client-request-id")) {
					t.Errorf("client-request-id = %q, want a GUID", h.Get("client-request-id"))
				}
			}
			if got[0].Get("client-request-id") == got[1].Get("client-request-id") {
				t.Error("two requests share a client-request-id")
			}
		})
	}
}

func TestNewRequestPaths(t *testing.T) {
	t.Parallel()
	c, err := New(StaticToken("t"), WithBaseURL("https://graph.microsoft.com/v1.0"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path    string
		wantURL string
		wantErr string
	}{
		{"me/events", "https://graph.microsoft.com/v1.0/me/events", ""},
		{"me/events/" + "AAMk%2Fab%2B%3D", "https://graph.microsoft.com/v1.0/me/events/AAMk%2Fab%2B%3D", ""},
		{"chats/19:abc@thread.v2/messages", "https://graph.microsoft.com/v1.0/chats/19:abc@thread.v2/messages", ""},
		{"me/messages?$filter=receivedDateTime ge 2024-01-01T00:00:00Z&$top=5",
			"https://graph.microsoft.com/v1.0/me/messages?$filter=receivedDateTime%20ge%202024-01-01T00:00:00Z&$top=5", ""},
		{"https://graph.microsoft.com/v1.0/me/events?$skiptoken=x", "https://graph.microsoft.com/v1.0/me/events?$skiptoken=x", ""},
		{"HTTPS://GRAPH.microsoft.com/beta/me", "https://GRAPH.microsoft.com/beta/me", ""},
		{"/me/events", "", "no leading slash"},
		{"", "", "empty path"},
		{"me/../../admin", "", `".." segment`},
		{"me/./events", "", `"." segment`},
		{"me\r\nX: y", "", "control characters"},
		{"https://evil.example/v1.0/me", "", "refusing link to https://evil.example"},
		{"http://graph.microsoft.com/v1.0/me", "", "refusing link to http://graph.microsoft.com"},
		{"https://graph.microsoft.com:444/v1.0/me", "", "refusing"},
		{"//evil.example/v1.0/me", "", "refusing"},
	}
	for _, tt := range tests {
		req, err := c.NewRequest(t.Context(), "GET", tt.path, nil)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewRequest(%q) err = %v, want %q", tt.path, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewRequest(%q): %v", tt.path, err)
			continue
		}
		if req.URL.String() != tt.wantURL {
			t.Errorf("NewRequest(%q) URL = %s, want %s", tt.path, req.URL, tt.wantURL)
		}
	}
	req, err := c.NewRequest(t.Context(), "POST", "me/events", map[string]any{"subject": "s"})
	if err != nil || req.Header.Get("Content-Type") != "application/json" || req.GetBody == nil || req.ContentLength != 15 {
		t.Errorf("POST request = %+v, %v", req, err)
	}
	if _, err := c.NewRequest(t.Context(), "POST", "me/events", make(chan int)); err == nil || !strings.Contains(err.Error(), "encoding body") {
		t.Errorf("unencodable body err = %v", err)
	}
}

// TestDoRefusesForeignRequest: a request built outside NewRequest for
// another host is refused before the token is fetched.
// TestDoSameRequestTwice: Do leaves the caller's request reusable, body
// included.
func TestDoSameRequestTwice(t *testing.T) {
	t.Parallel()
	c, mux, _, _ := setup(t)
	var bodies []string
	mux.HandleFunc("POST /v1.0/me/sendMail", func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		_, _ = b.ReadFrom(r.Body)
		bodies = append(bodies, b.String())
		w.WriteHeader(http.StatusAccepted)
	})
	req, _ := c.NewRequest(t.Context(), "POST", "me/sendMail", map[string]bool{"saveToSentItems": true})
	for range 2 {
		resp, err := c.Do(req, nil)
		if err != nil || resp.StatusCode != 202 {
			t.Fatalf("Do = %v, %v", resp, err)
		}
		if resp.Request != req || resp.Request.Header.Get("Authorization") != "" {
			t.Errorf("Response.Request is not the caller's token-free request")
		}
	}
	if len(bodies) != 2 || bodies[0] != `{"saveToSentItems":true}` || bodies[1] != bodies[0] {
		t.Errorf("bodies = %q", bodies)
	}
}

func TestDoRefusesForeignRequest(t *testing.T) {
	t.Parallel()
	var tokenCalls atomic.Int32
	ts := tokenFunc(func(context.Context) (string, error) { tokenCalls.Add(1); return testToken, nil })
	c, err := New(ts)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", "https://evil.example/v1.0/me", nil)
	if _, err := c.Do(req, nil); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("err = %v", err)
	}
	if tokenCalls.Load() != 0 {
		t.Error("token fetched for a foreign request")
	}
}

type tokenFunc func(context.Context) (string, error)

func (f tokenFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

func TestRedirectsOffHostDropAuthorization(t *testing.T) {
	t.Parallel()
	var foreignAuth atomic.Value
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreignAuth.Store(r.Header.Get("Authorization"))
		serve(w, 200, []byte(`{"where":"foreign"}`))
	}))
	t.Cleanup(foreign.Close)
	c, mux, _, _ := setup(t)
	var sameHostAuth atomic.Value
	mux.HandleFunc("GET /v1.0/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, foreign.URL+"/x", http.StatusFound)
	})
	mux.HandleFunc("GET /v1.0/home", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/v1.0/there", http.StatusFound)
	})
	mux.HandleFunc("GET /v1.0/there", func(w http.ResponseWriter, r *http.Request) {
		sameHostAuth.Store(r.Header.Get("Authorization"))
		serve(w, 200, []byte(`{}`))
	})
	for _, p := range []string{"away", "home"} {
		req, _ := c.NewRequest(t.Context(), "GET", p, nil)
		if _, err := c.Do(req, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := foreignAuth.Load(); got != "" {
		t.Errorf("foreign host got Authorization %q", got)
	}
	if got := sameHostAuth.Load(); got != "Bearer "+testToken {
		t.Errorf("same-host redirect got Authorization %q", got)
	}
}

// TestLogsAndErrorsNeverCarryTheToken runs successes, retries, errors and
// refusals with a debug logger and searches everything for the token.
func TestLogsAndErrorsNeverCarryTheToken(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, mux, _, _ := setup(t, WithLogger(logger))
	var n atomic.Int32
	mux.HandleFunc("GET /v1.0/me", func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			serve(w, 429, readTestdata(t, "error-throttled-429.json"))
			return
		}
		serve(w, 200, []byte(`{}`))
	})
	mux.HandleFunc("GET /v1.0/echo", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 401, []byte("echo: "+r.Header.Get("Authorization")))
	})
	var errs []string
	for _, p := range []string{"me", "echo", "me?access_token=" + testToken, "https://evil.example/?x=" + testToken} {
		req, err := c.NewRequest(t.Context(), "GET", p, nil)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if _, err := c.Do(req, nil); err != nil {
			errs = append(errs, err.Error())
			var ge *Error
			if errors.As(err, &ge) {
				errs = append(errs, ge.URL, ge.Message)
			}
		}
	}
	all := logs.String() + strings.Join(errs, "\n")
	if strings.Contains(all, testToken) {
		t.Errorf("token found in logs or errors:\n%s", all)
	}
	if !strings.Contains(logs.String(), "graphclient: retrying") || !strings.Contains(logs.String(), `"status":429`) {
		t.Errorf("logs lack the retry:\n%s", logs.String())
	}
	if len(errs) < 3 {
		t.Errorf("errors = %q", errs)
	}
}

func TestResponseSizeLimits(t *testing.T) {
	t.Parallel()
	c, mux, _, _ := setup(t, WithMaxResponseSize(64))
	mux.HandleFunc("GET /v1.0/big", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 200, []byte(`{"value":"`+strings.Repeat("x", 100)+`"}`))
	})
	mux.HandleFunc("GET /v1.0/exact", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 200, []byte(`{"value":"`+strings.Repeat("x", 52)+`"}`)) // 64 bytes
	})
	mux.HandleFunc("GET /v1.0/bigerror", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 400, []byte(`{"error":{"code":"tooBig","message":"`+strings.Repeat("m", 2<<20)+`"}}`))
	})
	var v struct{ Value string }
	req, _ := c.NewRequest(t.Context(), "GET", "big", nil)
	if _, err := c.Do(req, &v); err == nil || !strings.Contains(err.Error(), "size limit") {
		t.Errorf("big body err = %v", err)
	}
	req, _ = c.NewRequest(t.Context(), "GET", "exact", nil)
	if _, err := c.Do(req, &v); err != nil || len(v.Value) != 52 {
		t.Errorf("body at the limit: %v, %d", err, len(v.Value))
	}
	req, _ = c.NewRequest(t.Context(), "GET", "bigerror", nil)
	_, err := c.Do(req, nil)
	var ge *Error
	if !errors.As(err, &ge) || ge.StatusCode != 400 || len(ge.Message) > 300 {
		t.Errorf("oversized error body: %v", err)
	}
}

// TestResponseSizeLimitAtOneMiB: a success cap equal to the error-body cap
// still rejects (never silently truncates) a larger success body.
func TestResponseSizeLimitAtOneMiB(t *testing.T) {
	t.Parallel()
	c, mux, _, _ := setup(t, WithMaxResponseSize(maxErrorBody))
	mux.HandleFunc("GET /v1.0/big", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 200, []byte(`{"value":"`+strings.Repeat("x", maxErrorBody)+`"}`))
	})
	req, _ := c.NewRequest(t.Context(), "GET", "big", nil)
	var v struct{ Value string }
	if _, err := c.Do(req, &v); err == nil || !strings.Contains(err.Error(), "size limit") {
		t.Errorf("err = %v, want the size limit error", err)
	}
}

func TestDoWriterAndNil(t *testing.T) {
	t.Parallel()
	c, mux, _, _ := setup(t)
	mux.HandleFunc("GET /v1.0/me/photo/$value", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("request-id", "rid-photo")
		_, _ = w.Write([]byte("\x89PNG"))
	})
	mux.HandleFunc("DELETE /v1.0/me/events/1", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	var buf bytes.Buffer
	req, _ := c.NewRequest(t.Context(), "GET", "me/photo/$value", nil)
	resp, err := c.Do(req, &buf)
	if err != nil || buf.String() != "\x89PNG" || resp.RequestID != "rid-photo" || resp.ClientRequestID == "" {
		t.Errorf("writer: %v %q %+v", err, buf.String(), resp)
	}
	req, _ = c.NewRequest(t.Context(), "DELETE", "me/events/1", nil)
	if resp, err := c.Do(req, nil); err != nil || resp.StatusCode != 204 {
		t.Errorf("delete: %v %v", resp, err)
	}
	if _, err := c.Do(nil, nil); err == nil {
		t.Error("Do(nil) succeeded")
	}
}

// TestConcurrencyLimit: with 4 requests in flight, a fifth waits for a slot
// (here: until its context ends) and never reaches the server.
func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	c, mux, _, _ := setup(t)
	arrived := make(chan struct{}, 10)
	release := make(chan struct{})
	var inFlight atomic.Int32
	mux.HandleFunc("GET /v1.0/slow", func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		arrived <- struct{}{}
		<-release
		serve(w, 200, []byte(`{}`))
	})
	done := make(chan error, 4)
	for range 4 {
		go func() {
			req, _ := c.NewRequest(t.Context(), "GET", "slow", nil)
			_, err := c.Do(req, nil)
			done <- err
		}()
	}
	for range 4 {
		<-arrived
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req, _ := c.NewRequest(ctx, "GET", "slow", nil)
	if _, err := c.Do(req, nil); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "request slot") {
		t.Errorf("fifth request err = %v, want it to wait for a slot", err)
	}
	close(release)
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if inFlight.Load() != 4 {
		t.Errorf("server saw %d requests, want 4", inFlight.Load())
	}
}

func TestTokenSources(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	if tok, err := StaticToken("abc").Token(ctx); tok != "abc" || err != nil {
		t.Errorf("StaticToken = %q, %v", tok, err)
	}
	if _, err := StaticToken("").Token(ctx); err == nil {
		t.Error("empty StaticToken succeeded")
	}
	ts := FromOAuth2(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "xyz"}))
	if tok, err := ts.Token(ctx); tok != "xyz" || err != nil {
		t.Errorf("FromOAuth2 = %q, %v", tok, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ts.Token(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("FromOAuth2 with cancelled ctx err = %v", err)
	}
	if _, err := FromOAuth2(oauth2.StaticTokenSource(&oauth2.Token{})).Token(ctx); err == nil {
		t.Error("empty oauth2 token accepted")
	}
	// A token failure surfaces from Do without any request.
	c, mux, _, _ := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { t.Error("request sent without a token") })
	c.ts = tokenFunc(func(context.Context) (string, error) { return "", errors.New("refresh token expired") })
	req, _ := c.NewRequest(ctx, "GET", "me", nil)
	if _, err := c.Do(req, nil); err == nil || !strings.Contains(err.Error(), "refresh token expired") {
		t.Errorf("err = %v", err)
	}
}

func TestSanitizeURL(t *testing.T) {
	t.Parallel()
	c, _ := New(StaticToken("t"))
	req, _ := c.NewRequest(t.Context(), "GET", "me/events?$deltatoken=keep&access_token=s1&Client_Secret=s2", nil)
	got := sanitizeURL(req.URL)
	if strings.Contains(got, "s1") || strings.Contains(got, "s2") || !strings.Contains(got, "keep") {
		t.Errorf("sanitizeURL = %s", got)
	}
}

func TestSanitizeURLHidesFilterLiterals(t *testing.T) {
	t.Parallel()
	tests := []struct{ query, want, secret string }{
		{"$filter=" + url.QueryEscape("JoinWebUrl eq 'https://teams.microsoft.com/meet/123?p=s3cret'"),
			"%24filter=JoinWebUrl+eq+%27REDACTED%27", "s3cret"},
		{"$filter=" + url.QueryEscape("subject eq 'it''s p=s3cret' and isRead eq false"),
			"%24filter=subject+eq+%27REDACTED%27+and+isRead+eq+false", "s3cret"},
		{"$filter=" + url.QueryEscape("receivedDateTime ge 2026-11-01T00:00:00Z"),
			"$filter=receivedDateTime+ge+2026-11-01T00%3A00%3A00Z", ""},
		{"$search=" + url.QueryEscape(`"s3cret"`), "%24search=%22REDACTED%22", "s3cret"},
		{"$filter=" + url.QueryEscape("x eq 'unterminated s3cret"), "%24filter=x+eq+%27REDACTED", "s3cret"},
		{"a=%zz&p=s3cret", "REDACTED", "s3cret"},
	}
	for _, tt := range tests {
		u := &url.URL{Scheme: "https", Host: "graph.microsoft.com", Path: "/v1.0/me/onlineMeetings", RawQuery: tt.query}
		got := sanitizeURL(u)
		if !strings.HasSuffix(got, "?"+tt.want) || (tt.secret != "" && strings.Contains(got, tt.secret)) {
			t.Errorf("sanitizeURL(?%s) = %s, want suffix ?%s", tt.query, got, tt.want)
		}
	}
}

// blockingWriter signals its first Write and then waits for release.
type blockingWriter struct {
	writing chan struct{}
	release chan struct{}
	once    sync.Once
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.writing) })
	<-w.release
	return len(p), nil
}

// TestConcurrencyLimitHoldsWhileStreaming: a response streamed into an
// io.Writer keeps its request slot until the body is read, so a slow
// reader cannot push the client past its requests in flight.
func TestConcurrencyLimitHoldsWhileStreaming(t *testing.T) {
	t.Parallel()
	c, mux, _, _ := setup(t, WithMaxConcurrency(1))
	mux.HandleFunc("GET /v1.0/me/photo/$value", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(bytes.Repeat([]byte{0xff}, 64<<10))
	})
	w := &blockingWriter{writing: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		req, _ := c.NewRequest(t.Context(), "GET", "me/photo/$value", nil)
		_, err := c.Do(req, w)
		done <- err
	}()
	<-w.writing
	if n := len(c.sem); n != 1 {
		t.Errorf("while the body streams, %d slots are taken, want 1", n)
	}
	close(w.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(c.sem); n != 0 {
		t.Errorf("after Do, %d slots are taken, want 0", n)
	}
}

// TestNewRequestErrorsHideTheQuery: a refused path is named in the error
// without its query, which may hold a token or a secret $filter literal.
func TestNewRequestErrorsHideTheQuery(t *testing.T) {
	t.Parallel()
	c, err := New(StaticToken("t"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		"me/events?access_token=" + testToken + "\n",
		"/me/events?$filter=joinWebUrl eq '" + testToken + "'",
		"me/../x?code=" + testToken,
	} {
		_, err := c.NewRequest(t.Context(), "GET", p, nil)
		if err == nil || strings.Contains(err.Error(), testToken) || !strings.Contains(err.Error(), "?...") {
			t.Errorf("NewRequest(%q) err = %v, want one naming the path without its query", p, err)
		}
	}
}
