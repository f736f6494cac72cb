package recording

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// maxBody bounds the body the recorder keeps of one request or response.
const maxBody = 64 << 20

// Config configures a Recorder. The zero value records with every secret
// redacted and personal data kept.
type Config struct {
	// Name says what is recorded ("quickstart"); it starts the file name.
	Name string
	// Pseudonymize replaces personal data with stable stand-ins: names
	// ("Person 3"), e-mail addresses ("person3@domain1.example", the
	// domain mapped on its own so colleagues still share one), phone
	// numbers, subjects ("Subject 7"), bodies and locations ("Body 2",
	// keeping the URLs in them, which meeting-link detection reads). The
	// mapping stays in memory and is never written.
	Pseudonymize bool
	// Secrets are values to scrub wherever they appear, beyond those the
	// recorder recognises: the client secret the program was given, say.
	Secrets []string
	// KeepHeaders names more headers to keep (a proxy's, say) beyond the
	// ones that change an answer or that a client acts on. Authorization,
	// Proxy-Authorization, Cookie and Set-Cookie are never kept.
	KeepHeaders []string
}

// Recorder records exchanges with Entra ID and Graph through the
// transports it wraps, redacting each exchange as it completes. The only
// secrets it holds are the values it removed, in memory, to scrub them
// wherever they reappear; they are never written. Wrap the
// HTTP client of the auth App and of the Graph client with the same
// Recorder to get one recording of the run. It is safe for concurrent
// use.
type Recorder struct {
	name   string
	red    *redactor
	start  time.Time
	pseudo bool

	mu     sync.Mutex
	seq    int
	done   []Exchange
	labels map[string]string
}

// Label notes key=value about the run in the recording (Recording.Labels):
// the program's mode, its flags. Values are not redacted: never put a
// secret there.
func (r *Recorder) Label(key, value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.labels == nil {
		r.labels = map[string]string{}
	}
	r.labels[key] = value
}

// Started returns when the recording started, as Recording.Recorded
// will say: a program that computes a time window from the clock uses it
// while recording, as its replay will.
func (r *Recorder) Started() time.Time { return r.start.UTC().Truncate(time.Second) }

// NewRecorder returns a Recorder whose recording starts now.
func NewRecorder(cfg Config) *Recorder {
	return &Recorder{name: cfg.Name, red: newRedactor(cfg), start: time.Now(), pseudo: cfg.Pseudonymize}
}

// Client returns a copy of hc (nil: a client with Go's default transport)
// whose transport records: pass it as auth.Config.HTTPClient and to
// graphclient.WithHTTPClient.
func (r *Recorder) Client(hc *http.Client) *http.Client {
	var cp http.Client
	if hc != nil {
		cp = *hc
	}
	cp.Transport = r.Transport(cp.Transport)
	return &cp
}

// Transport returns a RoundTripper that sends through base (nil:
// http.DefaultTransport) and records each exchange.
func (r *Recorder) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &recordingTransport{r: r, base: base}
}

// next numbers a new exchange.
func (r *Recorder) next() (int, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	return r.seq, time.Since(r.start)
}

func (r *Recorder) add(x Exchange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = append(r.done, x)
}

// Callback records a request the browser brought back to the program's
// redirect URI (a sign-in or admin-consent callback), with its code and
// state redacted, so Replayer.Browse can bring it back in replay. It
// reads the form of a POST and restores the body for the handler.
func (r *Recorder) Callback(req *http.Request) {
	seq, at := r.next()
	x := Exchange{Seq: seq, Kind: "callback", At: Duration(at), Method: req.Method, URL: r.red.url(req.URL.String())}
	if req.Method == http.MethodPost {
		var b []byte
		switch {
		case req.PostForm != nil: // a handler parsed the form already
			b = []byte(req.PostForm.Encode())
		case req.Body != nil:
			b, _ = io.ReadAll(io.LimitReader(req.Body, maxBody))
			req.Body.Close()
			req.Body = io.NopCloser(bytes.NewReader(b))
		}
		x.RequestHeader = r.red.header(req.Header, requestHeaders)
		x.Request = r.red.body(req.Header.Get("Content-Type"), b)
	}
	r.add(x)
}

// Recording returns what has been recorded so far, in the order the
// requests were sent.
func (r *Recorder) Recording() *Recording {
	r.mu.Lock()
	xs := slices.Clone(r.done)
	labels := maps.Clone(r.labels)
	r.mu.Unlock()
	slices.SortFunc(xs, func(a, b Exchange) int { return a.Seq - b.Seq })
	// A secret first seen late (a token redeemed after a request that
	// carried it elsewhere) is scrubbed from the earlier exchanges too.
	for i := range xs {
		xs[i] = r.red.final(xs[i])
	}
	return &Recording{
		Version:       Version,
		Name:          r.name,
		Recorded:      r.Started(),
		Labels:        labels,
		Redacted:      redactedList,
		Pseudonymized: r.pseudo,
		Exchanges:     xs,
	}
}

// Save writes the recording so far into dir as a new file (see
// Recording.Save) and returns its path.
func (r *Recorder) Save(dir string) (string, error) { return r.Recording().Save(dir) }

// redactedList tells the reader of a file what is not in it.
var redactedList = []string{
	"Authorization, Proxy-Authorization, Cookie and Set-Cookie headers, and every header not listed",
	"access, refresh and ID-token signatures, authorization codes, PKCE verifiers and challenges, client secrets and assertions, state and nonce, clientState, validation tokens",
	"any JWT and any value above wherever it reappears (URLs, fragments, bodies)",
}

type recordingTransport struct {
	r    *Recorder
	base http.RoundTripper
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	red := t.r.red
	seq, at := t.r.next()
	began := time.Now()
	for _, k := range neverHeaders {
		for _, v := range req.Header.Values(k) {
			red.learnHeader(v)
		}
	}
	out := req
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(req.Body, maxBody))
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		out = req.Clone(req.Context())
		out.Body = io.NopCloser(bytes.NewReader(b))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		out.ContentLength = int64(len(b))
	}
	x := Exchange{Seq: seq, At: Duration(at), Method: req.Method}
	// The request body first: a token request teaches the redactor the
	// refresh token, the code and the secret before the URL is scrubbed.
	x.Request = red.body(req.Header.Get("Content-Type"), reqBody)
	x.URL = red.url(req.URL.String())
	x.RequestHeader = red.header(req.Header, requestHeaders)

	resp, err := t.base.RoundTrip(out)
	if err != nil {
		x.Took = Duration(time.Since(began))
		x.Error = red.scrub(err.Error())
		t.r.add(x)
		return nil, err
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	x.Took = Duration(time.Since(began))
	x.Status = resp.StatusCode
	// The body before the headers: tokens in it are learnt, then scrubbed
	// from a Location or WWW-Authenticate header that repeats them.
	x.Response = red.body(resp.Header.Get("Content-Type"), body)
	x.ResponseHeader = red.header(resp.Header, responseHeaders)
	if rerr != nil {
		x.Error = "body: " + red.scrub(rerr.Error())
	}
	t.r.add(x)
	resp.Body = &replayBody{r: bytes.NewReader(body), err: rerr}
	return resp, nil
}

// replayBody returns the bytes read and then the error the read ended
// with (io.EOF when it ended cleanly), so a truncated body stays
// truncated for the caller.
type replayBody struct {
	r   io.Reader
	err error
}

func (b *replayBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if errors.Is(err, io.EOF) && b.err != nil {
		return n, b.err
	}
	return n, err
}

func (b *replayBody) Close() error { return nil }

// errBody is the error a replayed truncated body ends with.
func errBody(msg string) error {
	if strings.Contains(msg, "unexpected EOF") {
		return io.ErrUnexpectedEOF
	}
	return fmt.Errorf("recording: replayed body error: %s", msg)
}
