package graphclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365kit/m365kit/internal/neterr"
	"github.com/m365kit/m365kit/internal/urlcheck"
)

// DefaultBaseURL is the Microsoft Graph v1.0 endpoint of the global cloud.
const DefaultBaseURL = "https://graph.microsoft.com/v1.0/"

const (
	defaultUserAgent      = "m365kit-graphclient"
	defaultMaxConcurrency = 4
	defaultMaxBody        = 64 << 20
)

// TokenSource supplies bearer tokens for Microsoft Graph. auth.Source
// satisfies it. Token is called before every attempt of every request, so
// implementations should cache and refresh; they must be safe for
// concurrent use by multiple goroutines and honour ctx.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

type staticToken string

func (s staticToken) Token(context.Context) (string, error) {
	if s == "" {
		return "", errors.New("graphclient: static token is empty")
	}
	return string(s), nil
}

// StaticToken returns a TokenSource that always returns token. It suits
// tests and short scripts; tokens expire after about an hour. It is safe
// for concurrent use.
func StaticToken(token string) TokenSource { return staticToken(token) }

type oauth2Source struct{ ts oauth2.TokenSource }

func (o oauth2Source) Token(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	t, err := o.ts.Token()
	if err != nil {
		return "", fmt.Errorf("graphclient: oauth2 token source: %w", err)
	}
	if t == nil || t.AccessToken == "" {
		return "", errors.New("graphclient: oauth2 token source returned no access token")
	}
	return t.AccessToken, nil
}

// FromOAuth2 adapts an [oauth2.TokenSource] (which takes no context) to a
// TokenSource. Wrap it in [oauth2.ReuseTokenSource] to cache tokens. The
// result is safe for concurrent use if ts is, as oauth2 requires.
func FromOAuth2(ts oauth2.TokenSource) TokenSource { return oauth2Source{ts} }

// Option configures a [Client]. Options only record and validate; [New]
// builds the client once all are applied, so their order never matters.
// An Option is a pure function, safe to reuse for many clients.
type Option func(*options) error

type options struct {
	baseURL        *url.URL
	hc             *http.Client
	retry          RetryPolicy
	logger         *slog.Logger
	userAgent      string
	maxConcurrency int
	timeZone       string
	immutableIDs   bool
	maxBody        int64
	sleep          func(ctx context.Context, d time.Duration) error
	now            func() time.Time
}

// WithBaseURL sets the Graph endpoint, e.g. "https://graph.microsoft.us/v1.0/"
// or "https://microsoftgraph.chinacloudapi.cn/v1.0/" for national clouds.
// It must be https (http only for a loopback host, for tests), have no
// query, fragment or user info; a missing trailing slash is added. The
// bearer token is only ever sent to this URL's scheme and host.
func WithBaseURL(u string) Option {
	return func(o *options) error {
		bu, err := parseBaseURL(u)
		if err != nil {
			return err
		}
		o.baseURL = bu
		return nil
	}
}

// parseBaseURL checks a base URL. Its errors show the URL without user
// info, query or fragment (configuration often carries secrets there).
func parseBaseURL(u string) (*url.URL, error) {
	bu, err := url.Parse(u)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL it quotes
		}
		return nil, fmt.Errorf("graphclient: base URL is not a URL: %w", err)
	}
	shown := urlcheck.Shown(u)
	switch {
	case bu.User != nil:
		return nil, fmt.Errorf("graphclient: base URL %q: user info not allowed", shown)
	case bu.Host == "" || bu.Hostname() == "":
		return nil, fmt.Errorf("graphclient: base URL %q: no host", shown)
	case bu.RawQuery != "" || bu.Fragment != "" || bu.ForceQuery:
		return nil, fmt.Errorf("graphclient: base URL %q: query and fragment not allowed", shown)
	case bu.Scheme == "https":
	case bu.Scheme == "http" && urlcheck.IsLoopback(bu.Hostname()):
	default:
		return nil, fmt.Errorf("graphclient: base URL %q: scheme must be https (http only for loopback hosts)", shown)
	}
	if !strings.HasSuffix(bu.Path, "/") {
		bu.Path += "/"
		if bu.RawPath != "" {
			bu.RawPath += "/"
		}
	}
	return bu, nil
}

// WithHTTPClient sets the HTTP client requests go through, e.g. a
// graphtest server's HTTPClient(). The client is copied; its
// CheckRedirect is wrapped so that a redirect off the Graph host never
// carries the Authorization header.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error {
		if hc == nil {
			return fmt.Errorf("graphclient: WithHTTPClient: nil *http.Client: %w", ErrInvalidInput)
		}
		o.hc = hc
		return nil
	}
}

// WithRetry sets the retry policy; zero fields of p take their defaults.
// RetryPolicy{MaxAttempts: 1} disables retries.
func WithRetry(p RetryPolicy) Option {
	return func(o *options) error {
		if p.MaxAttempts < 0 {
			return fmt.Errorf("graphclient: WithRetry: MaxAttempts %d is negative: %w", p.MaxAttempts, ErrInvalidInput)
		}
		o.retry = p
		return nil
	}
}

// WithLogger sets the logger for request and retry events (default: none).
// Records carry method, URL (secrets redacted), status, attempt, duration
// and the request IDs; never the Authorization header or bodies.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("graphclient: WithLogger: nil *slog.Logger: %w", ErrInvalidInput)
		}
		o.logger = l
		return nil
	}
}

// WithUserAgent sets the User-Agent header sent with every request.
func WithUserAgent(ua string) Option {
	return func(o *options) error {
		if strings.TrimSpace(ua) == "" || strings.ContainsAny(ua, "\r\n\x00") {
			return fmt.Errorf("graphclient: WithUserAgent: invalid user agent %q: %w", ua, ErrInvalidInput)
		}
		o.userAgent = ua
		return nil
	}
}

// WithMaxConcurrency sets how many requests a Client has in flight at once
// (default 4: Outlook's limit per app and mailbox). Requests over the limit
// wait for a slot or their context; a request waiting out a Retry-After
// gives its slot up meanwhile, and a response streamed into an io.Writer
// keeps its slot until its body is read. A $batch call counts as one request
// although Graph may run up to 4 of its items in parallel.
func WithMaxConcurrency(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("graphclient: WithMaxConcurrency: %d is less than 1: %w", n, ErrInvalidInput)
		}
		o.maxConcurrency = n
		return nil
	}
}

// WithTimeZone sets the Prefer: outlook.timezone header [Client.NewRequest]
// adds to every request (default "UTC"), e.g. "Pacific Standard Time".
// The empty string sends no time-zone preference.
func WithTimeZone(tz string) Option {
	return func(o *options) error {
		if strings.ContainsAny(tz, "\"\r\n\x00") {
			return fmt.Errorf("graphclient: WithTimeZone: invalid time zone %q: %w", tz, ErrInvalidInput)
		}
		o.timeZone = tz
		return nil
	}
}

// WithImmutableIDs makes [Client.NewRequest] add Prefer: IdType="ImmutableId"
// to every request, so Outlook item IDs (messages, events, attachments)
// stay the same when items move between folders. Graph honours it per
// request only, hence on every request.
func WithImmutableIDs() Option {
	return func(o *options) error {
		o.immutableIDs = true
		return nil
	}
}

// WithMaxResponseSize caps the size of a successful response body that is
// decoded (default 64 MiB); a larger body is an error. Error bodies are
// always capped at 1 MiB.
func WithMaxResponseSize(n int64) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("graphclient: WithMaxResponseSize: %d is less than 1: %w", n, ErrInvalidInput)
		}
		o.maxBody = n
		return nil
	}
}

// Client is a Microsoft Graph REST client acting for one signed-in user:
// it adds the bearer token, the client-request-id and the Prefer defaults,
// retries throttled and failed requests, decodes JSON and the Graph error
// envelope, and limits requests in flight. Create one Client per user.
//
// A Client is safe for concurrent use by multiple goroutines.
type Client struct {
	ts        TokenSource
	base      *url.URL
	hc        *http.Client
	retry     RetryPolicy
	log       *slog.Logger
	userAgent string
	prefer    []string
	maxBody   int64
	sem       chan struct{}
	sleep     func(ctx context.Context, d time.Duration) error
	now       func() time.Time
	bufs      sync.Pool // *bytes.Buffer for response bodies
}

// New returns a Client that authenticates with ts. Options may come in any
// order; an invalid option is an error naming it.
func New(ts TokenSource, opts ...Option) (*Client, error) {
	if ts == nil {
		return nil, fmt.Errorf("graphclient: New: nil TokenSource: %w", ErrInvalidInput)
	}
	o := options{
		maxConcurrency: defaultMaxConcurrency,
		timeZone:       "UTC",
		userAgent:      defaultUserAgent,
		maxBody:        defaultMaxBody,
	}
	for i, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("graphclient: New: option %d is nil: %w", i, ErrInvalidInput)
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.baseURL == nil {
		o.baseURL, _ = parseBaseURL(DefaultBaseURL)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.sleep == nil {
		o.sleep = sleepCtx
	}
	if o.now == nil {
		o.now = time.Now
	}
	c := &Client{
		ts:        ts,
		base:      o.baseURL,
		retry:     o.retry.withDefaults(),
		log:       o.logger,
		userAgent: o.userAgent,
		maxBody:   o.maxBody,
		sem:       make(chan struct{}, o.maxConcurrency),
		sleep:     o.sleep,
		now:       o.now,
	}
	if o.timeZone != "" {
		c.prefer = append(c.prefer, `outlook.timezone="`+o.timeZone+`"`)
	}
	if o.immutableIDs {
		c.prefer = append(c.prefer, `IdType="ImmutableId"`)
	}
	c.hc = c.wrapHTTPClient(o.hc)
	return c, nil
}

var errRedirectRefused = errors.New("graphclient: too many redirects")

// wrapHTTPClient copies hc (or builds a default) and makes redirects off
// the base URL's scheme and host drop the Authorization header.
func (c *Client) wrapHTTPClient(hc *http.Client) *http.Client {
	var cp http.Client
	if hc != nil {
		cp = *hc
	} else if t, ok := http.DefaultTransport.(*http.Transport); ok {
		cp.Transport = t.Clone()
	}
	inner := cp.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !c.sameOrigin(req.URL) {
			req.Header.Del("Authorization")
		}
		if inner != nil {
			return inner(req, via)
		}
		if len(via) >= 10 {
			return errRedirectRefused
		}
		return nil
	}
	return &cp
}

// BaseURL returns the base URL requests are resolved against.
func (c *Client) BaseURL() string { return c.base.String() }

func (c *Client) sameOrigin(u *url.URL) bool {
	return u != nil && strings.EqualFold(u.Scheme, c.base.Scheme) && strings.EqualFold(u.Host, c.base.Host)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// resolve turns path (relative to the base URL, or an absolute URL on the
// base URL's scheme and host) into a URL.
func (c *Client) resolve(path string) (*url.URL, error) {
	if path == "" {
		return nil, fmt.Errorf("graphclient: empty path: %w", ErrInvalidInput)

	}
	if strings.ContainsAny(path, "\r\n\x00") {
		return nil, fmt.Errorf("graphclient: path %q contains control characters: %w", errPath(path), ErrInvalidInput)
	}
	lower := strings.ToLower(path)
	if strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://") || strings.HasPrefix(path, "//") {
		u, err := url.Parse(path)
		if err != nil {
			return nil, fmt.Errorf("graphclient: link is not a valid URL: %w", errors.Unwrap(err))

		}
		if !c.sameOrigin(u) || u.User != nil {
			return nil, fmt.Errorf("graphclient: refusing link to %s://%s: not the Graph base URL's scheme and host (%s://%s)", u.Scheme, u.Host, c.base.Scheme, c.base.Host)
		}
		return u, nil
	}
	if strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("graphclient: path %q must be relative to the base URL (no leading slash): %w", errPath(path), ErrInvalidInput)
	}
	p, q, _ := strings.Cut(path, "?")
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return nil, fmt.Errorf("graphclient: path %q contains a %q segment: %w", errPath(path), seg, ErrInvalidInput)
		}
	}
	s := c.base.String() + p
	if q != "" || strings.Contains(path, "?") {
		s += "?" + strings.ReplaceAll(q, " ", "%20")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("graphclient: path %q: %w", errPath(path), errors.Unwrap(err))

	}
	if !c.sameOrigin(u) {
		return nil, fmt.Errorf("graphclient: path %q leaves the base URL: %w", errPath(path), ErrInvalidInput)
	}
	return u, nil
}

// errPath is path for an error message: without its query, whose values
// (a token, a $filter literal) may be secret.
func errPath(path string) string {
	if p, _, ok := strings.Cut(path, "?"); ok {
		return p + "?..."
	}
	return path
}

// NewRequest builds a request for path, relative to the base URL with no
// leading slash and possibly with a query ("me/events?$top=10"; escape IDs
// with url.PathEscape). An absolute URL (an @odata.nextLink or deltaLink)
// is accepted only on the base URL's scheme and host; anything else is an
// error and nothing is sent. A non-nil body is marshalled as JSON.
//
// The request carries Accept and Content-Type application/json and the
// client's Prefer defaults; callers may add headers before [Client.Do].
// The token and client-request-id are added by Do.
func (c *Client) NewRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	if ctx == nil {
		return nil, fmt.Errorf("graphclient: NewRequest: nil context: %w", ErrInvalidInput)
	}
	if method == "" {
		method = http.MethodGet
	}
	u, err := c.resolve(path)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("graphclient: %s %s: encoding body: %w", method, c.relPath(u), err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("graphclient: %s %s: %w", method, c.relPath(u), err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, p := range c.prefer {
		req.Header.Add("Prefer", p)
	}
	return req, nil
}

// Response is the metadata of a successful response. The embedded
// *http.Response's Body is already consumed and closed, and its Request is
// the caller's request (without the Authorization header). A Response is
// a plain value, safe for concurrent reads.
type Response struct {
	*http.Response
	// RequestID is Graph's request-id response header.
	RequestID string
	// ClientRequestID is the client-request-id sent with the request.
	ClientRequestID string
}

// rawDecoder is implemented by page types that decode themselves from the
// buffered body without a second validation pass.
type rawDecoder interface {
	decodeRaw(body []byte) error
}

// Do sends req with the bearer token, a fresh client-request-id GUID
// (unless the caller set one; Do records it in req's headers, and its
// retries share it), and retries per the client's [RetryPolicy]. The request must target the base URL's scheme
// and host; the token is never sent anywhere else.
//
// On a 2xx response the JSON body is decoded into v; v nil discards the
// body and an [io.Writer] v receives it as is. A non-2xx response is
// returned as an [*Error] (after retries, the last response's). Transport
// failures wrap the underlying error; a cancelled or expired context
// returns an error matching ctx.Err().
func (c *Client) Do(req *http.Request, v any) (*Response, error) {
	if req == nil || req.URL == nil {
		return nil, fmt.Errorf("graphclient: Do: nil request: %w", ErrInvalidInput)
	}
	ctx := req.Context()
	path := c.relPath(req.URL)
	if !c.sameOrigin(req.URL) {
		return nil, fmt.Errorf("graphclient: %s: refusing to send the token to %s://%s (base URL host is %s)", req.Method, req.URL.Scheme, req.URL.Host, c.base.Host)
	}
	w, streaming := v.(io.Writer)
	buf, _ := c.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	defer func() {
		if buf.Cap() <= 4<<20 { // don't pin the odd huge body
			c.bufs.Put(buf)
		}
	}()

	resp, err := c.send(ctx, req, path, !streaming, buf)
	if err != nil {
		return nil, err
	}
	// The sent request carries the token; expose the caller's instead.
	resp.Request = req
	out := &Response{Response: resp, RequestID: resp.Header.Get("request-id"), ClientRequestID: req.Header.Get("client-request-id")}
	if streaming {
		defer resp.Body.Close()
		lr := &limitedReader{r: resp.Body, n: c.maxBody}
		if _, err := io.Copy(w, lr); err != nil {
			return out, c.readErr(ctx, req.Method, path, err)
		}
		resp.Body = http.NoBody
		return out, nil
	}
	resp.Body = http.NoBody
	if v == nil || resp.StatusCode == http.StatusNoContent || buf.Len() == 0 {
		return out, nil
	}
	if rd, ok := v.(rawDecoder); ok {
		err = rd.decodeRaw(buf.Bytes())
	} else {
		err = json.Unmarshal(buf.Bytes(), v)
	}
	if err != nil {
		return out, fmt.Errorf("graphclient: %s %s: decoding response: %w", req.Method, path, err)
	}
	return out, nil
}

func (c *Client) readErr(ctx context.Context, method, path string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("graphclient: %s %s: %w", method, path, ctx.Err())
	}
	return fmt.Errorf("graphclient: %s %s: reading response: %w", method, path, err)
}

// errBodyTooLarge reports a body over the configured cap.
var errBodyTooLarge = errors.New("response body exceeds the size limit")

type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// Probe one byte: only an actual extra byte is an error.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, errBodyTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

func (c *Client) acquire(ctx context.Context) error {
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// send runs the attempts. On success it returns the final 2xx response; if
// buffer is set its body has been read into buf. Non-2xx responses become
// *Error.
//
// Each attempt holds one of the client's request slots; a wait between
// attempts gives the slot up. The token is fetched again before every
// retry, so a wait longer than the token's life does not send a stale one.
func (c *Client) send(ctx context.Context, req *http.Request, path string, buffer bool, buf *bytes.Buffer) (*http.Response, error) {
	method := req.Method
	body, err := requestBody(req)
	if err != nil {
		return nil, fmt.Errorf("graphclient: %s %s: request body: %w", method, path, err)
	}
	if req.Header.Get("client-request-id") == "" {
		req.Header.Set("client-request-id", newGUID())
	}
	crid := req.Header.Get("client-request-id")
	safeURL := sanitizeURL(req.URL)

	r := c.attemptRequest(ctx, req, body)
	if err := c.authorize(ctx, r, method, path); err != nil {
		return nil, err
	}
	if err := c.acquire(ctx); err != nil {
		return nil, fmt.Errorf("graphclient: %s %s: waiting for a request slot: %w", method, path, err)
	}
	held := true
	defer func() {
		if held {
			<-c.sem
		}
	}()
	var lastErr *Error // the last non-2xx response's
	for attempt := 1; ; attempt++ {
		start := c.now()
		resp, err := c.hc.Do(r)
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = safeURL // keep secret query values out of errors and logs
		}
		c.logAttempt(ctx, method, safeURL, crid, attempt, start, resp, err)
		retry := c.retry.ShouldRetry(ctx, req, resp, err)
		var bodyErr error
		switch {
		case err != nil:
		case resp.StatusCode < 200 || resp.StatusCode > 299:
			// Read the error body now so that the last *Error survives a
			// retry that is later cut short by the context. A failed read
			// still leaves what arrived: the *Error is built from it.
			b, _ := readAll(resp.Body, maxErrorBody, true, buf)
			resp.Body.Close()
			lastErr = newError(resp.StatusCode, resp.Header, b, method, safeURL, path, c.now())
			lastErr.Attempts = attempt
			if lastErr.ClientRequestID == "" {
				lastErr.ClientRequestID = crid
			}
		case buffer:
			_, bodyErr = readAll(resp.Body, c.maxBody, false, buf)
			resp.Body.Close()
			resp.Body = http.NoBody
			// A truncated body on an idempotent request is a transient
			// failure worth another attempt.
			retry = bodyErr != nil && !errors.Is(bodyErr, errBodyTooLarge) && c.retry.ShouldRetry(ctx, req, nil, bodyErr)
		default:
			retry = false
		}

		wait := time.Duration(0)
		if retry && attempt < c.retry.MaxAttempts {
			wait = max(c.retry.Backoff(attempt, resp), 0)
			if dl, ok := ctx.Deadline(); ok && c.now().Add(wait).After(dl) {
				retry = false
			}
		} else {
			retry = false
		}
		if !retry {
			switch {
			case err != nil:
				return nil, c.transportErr(ctx, method, path, crid, attempt, lastErr, err)
			case resp.StatusCode < 200 || resp.StatusCode > 299:
				return nil, lastErr
			case bodyErr != nil:
				return nil, c.readErr(ctx, method, path, bodyErr)
			}
			if !buffer {
				// The body is still to be read: the request keeps its
				// slot until the caller closes it.
				resp.Body = &slotBody{ReadCloser: resp.Body, release: func() { <-c.sem }}
				held = false
			}
			return resp, nil
		}

		c.log.LogAttrs(ctx, slog.LevelInfo, "graphclient: retrying",
			slog.String("method", method), slog.String("url", safeURL),
			slog.Int("attempt", attempt), slog.Duration("wait", wait),
			slog.String("client_request_id", crid))
		<-c.sem
		held = false
		if err := c.sleep(ctx, wait); err != nil {
			return nil, c.waitErr(ctx, method, path, lastErr, err)
		}
		if err := c.acquire(ctx); err != nil {
			return nil, c.waitErr(ctx, method, path, lastErr, err)
		}
		held = true
		r = c.attemptRequest(ctx, req, body)
		if err := c.authorize(ctx, r, method, path); err != nil {
			return nil, err
		}
	}
}

// requestBody returns the bytes of req's body, leaving the caller's body
// unread where GetBody allows, so the caller can send the request again.
func requestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	rc := req.Body
	if req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		rc = b
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// attemptRequest is one attempt's copy of req, with its own body reader,
// the user agent and the client-request-id the caller's request carries.
func (c *Client) attemptRequest(ctx context.Context, req *http.Request, body []byte) *http.Request {
	r := req.Clone(ctx)
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		r.ContentLength = int64(len(body))
	}
	if r.Header.Get("User-Agent") == "" {
		r.Header.Set("User-Agent", c.userAgent)
	}
	return r
}

// waitErr is the error of a wait between attempts that ended early: the
// context's, carrying the last response's *Error if there was one.
func (c *Client) waitErr(ctx context.Context, method, path string, lastErr *Error, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	if lastErr != nil {
		return fmt.Errorf("graphclient: %s %s: %w (while waiting to retry after: %w)", method, path, err, lastErr)
	}
	return fmt.Errorf("graphclient: %s %s: %w", method, path, err)
}

// transportErr is the error of a last attempt that got no response. A host
// that does not resolve or is not trusted gets one short line, with a hint
// when it is Microsoft's: a Client whose token comes from a graphtest fake
// but whose HTTP client does not lead to it.
func (c *Client) transportErr(ctx context.Context, method, path, crid string, attempts int, lastErr *Error, err error) error {
	if ctx.Err() != nil {
		return c.waitErr(ctx, method, path, lastErr, ctx.Err())
	}
	if reason, ok := neterr.Unreachable(err); ok {
		e := &neterr.Error{Prefix: "graphclient: " + method + " " + path, Host: c.base.Host, Reason: reason, Err: err}
		if neterr.IsMicrosoftHost(c.base.Host) {
			e.Hint = "against a graphtest fake, pass its HTTPClient to graphclient.WithHTTPClient"
		}
		return e
	}
	return fmt.Errorf("graphclient: %s %s (client-request-id %s, %d attempts): %w", method, path, crid, attempts, err)
}

// slotBody is a streamed response body that gives its request's slot back
// when closed.
type slotBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *slotBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

func (c *Client) authorize(ctx context.Context, r *http.Request, method, path string) error {
	tok, err := c.ts.Token(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("graphclient: %s %s: token: %w", method, path, ctx.Err())
		}
		return fmt.Errorf("graphclient: %s %s: token: %w", method, path, err)
	}
	if tok == "" {
		return fmt.Errorf("graphclient: %s %s: token source returned an empty token", method, path)
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

func (c *Client) logAttempt(ctx context.Context, method, safeURL, crid string, attempt int, start time.Time, resp *http.Response, err error) {
	if !c.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("url", safeURL),
		slog.Int("attempt", attempt),
		slog.Duration("duration", c.now().Sub(start)),
		slog.String("client_request_id", crid),
	}
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.StatusCode), slog.String("request_id", resp.Header.Get("request-id")))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "graphclient: response", attrs...)
}

// readAll reads r into buf (reset first), at most limit bytes. More is
// errBodyTooLarge, or with truncate the first limit bytes without error.
// It returns buf's bytes.
func readAll(r io.Reader, limit int64, truncate bool, buf *bytes.Buffer) ([]byte, error) {
	buf.Reset()
	if r == nil {
		return nil, nil
	}
	_, err := buf.ReadFrom(&limitedReader{r: r, n: limit})
	if truncate && errors.Is(err, errBodyTooLarge) {
		err = nil
	}
	return buf.Bytes(), err
}

// relPath is u's path relative to the base URL (without the query), for
// error messages.
func (c *Client) relPath(u *url.URL) string {
	p := u.EscapedPath()
	bp := c.base.EscapedPath()
	if c.sameOrigin(u) && strings.HasPrefix(p, bp) {
		return p[len(bp):]
	}
	return p
}

// secretParams are query parameters whose values never appear in errors
// or logs.
var secretParams = []string{"access_token", "client_secret", "code", "token", "id_token", "refresh_token", "password", "sig", "signature", "client_assertion"}

// sanitizeURL returns u as a string with secret query values redacted.
func sanitizeURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	cp := *u
	cp.User = nil
	if cp.RawQuery != "" {
		q, err := url.ParseQuery(cp.RawQuery)
		if err != nil {
			// A query we cannot read could hide anything: leave it out.
			cp.RawQuery = "REDACTED"
			return cp.String()
		}
		changed := false
		for k, vs := range q {
			for _, s := range secretParams {
				if strings.EqualFold(k, s) {
					q[k] = []string{"REDACTED"}
					changed = true
				}
			}
			// OData string literals can carry secrets: a Teams join URL in
			// $filter=JoinWebUrl eq '…' holds the meeting passcode. Keep
			// the expression's shape, not its quoted values.
			if strings.EqualFold(k, "$filter") || strings.EqualFold(k, "$search") {
				for i, v := range vs {
					if r := redactLiterals(v); r != v {
						vs[i] = r
						changed = true
					}
				}
			}
		}
		if changed {
			cp.RawQuery = q.Encode()
		}
	}
	return cp.String()
}

// redactLiterals replaces the content of every quoted OData string literal
// in expr (a doubled quote inside one stands for the quote) by REDACTED; after an
// unterminated quote the rest of expr is dropped.
func redactLiterals(expr string) string {
	if !strings.ContainsAny(expr, `'"`) {
		return expr
	}
	var b strings.Builder
	var quote byte // the quote of the literal being skipped; 0 outside one
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote == 0 && (c == '\'' || c == '"'):
			quote = c
			b.WriteByte(c)
			b.WriteString("REDACTED")
		case quote != 0 && c == quote:
			if i+1 < len(expr) && expr[i+1] == quote {
				i++ // a doubled quote is part of the literal
				continue
			}
			quote = 0
			b.WriteByte(c)
		case quote == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// newGUID returns a random (version 4) GUID for client-request-id.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
