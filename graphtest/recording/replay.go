package recording

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// ReplayKeyID is the key ID of the replayer's signing key, which it serves
// as the tenant's signing keys and signs ID tokens with.
const ReplayKeyID = "m365kit-replay"

// ErrNotRecorded is the error a replayed request gets when the recording
// holds no answer for it (errors.Is works on the *MissError).
var ErrNotRecorded = errors.New("recording: request not recorded")

// MissError names the first request a replay could not answer and what
// the recording holds for the same method and path.
type MissError struct {
	// Request is "METHOD URL" of the request.
	Request string
	// Served is how many times this request was answered before.
	Served int
	// Recorded lists the recorded requests with the same method and
	// path, as "METHOD URL".
	Recorded []string
}

// Error says which request was not recorded and what was.
func (e *MissError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "recording: not recorded: %s", e.Request)
	if e.Served > 0 {
		fmt.Fprintf(&b, " (recorded %d times, all already replayed)", e.Served)
	}
	switch len(e.Recorded) {
	case 0:
		b.WriteString("; nothing recorded for this method and path")
	default:
		fmt.Fprintf(&b, "; recorded for this method and path: %s", strings.Join(e.Recorded, ", "))
	}
	return b.String()
}

// Is reports whether target is ErrNotRecorded.
func (e *MissError) Is(target error) bool { return target == ErrNotRecorded }

// Replayer answers requests from a recording and never reaches the
// network. Requests match by method, host, path, the query parameters
// (all of them: $skiptoken and $deltatoken follow the recorded links, and
// calendarView's window must be the recorded one) and, for a form POST,
// its grant_type. A request that repeats is answered with the recorded
// answers in their order (delta rounds); a request asked more often than
// recorded, or never recorded, fails with a *MissError naming it.
// Entra's metadata and signing-key documents may be asked again.
//
// ID tokens are re-issued: see the package documentation, "Replaying a
// sign-in". It is safe for concurrent use.
type Replayer struct {
	rec *Recording
	tb  testing.TB

	mu        sync.Mutex
	queues    map[string][]int // key -> exchanges not yet served
	last      map[string]int   // key -> last exchange served (static documents)
	served    map[string]int   // key -> times served
	callbacks []int
	miss      error
	nonce     string
	key       *rsa.PrivateKey
	now       func() time.Time
}

// NewReplayer returns a Replayer over rec.
func NewReplayer(rec *Recording) *Replayer {
	rp := &Replayer{rec: rec, queues: map[string][]int{}, last: map[string]int{}, served: map[string]int{}, now: time.Now}
	for i, x := range rec.Exchanges {
		if x.Kind == "callback" {
			rp.callbacks = append(rp.callbacks, i)
			continue
		}
		k, err := keyOf(x.Method, x.URL, x.RequestHeader.Get("Content-Type"), x.Request.Bytes())
		if err != nil {
			continue // Read refuses what cannot be matched; a hand-edited file may still hold it
		}
		rp.queues[k] = append(rp.queues[k], i)
	}
	return rp
}

// Replay reads the recording in path (a file, or the newest in a
// directory) for a test. A request the recording cannot answer fails the
// test, naming the request; so does a recorded exchange left unplayed
// when the test ends, unless the test calls AllowUnplayed.
func Replay(tb testing.TB, path string) *Replayer {
	tb.Helper()
	rec, err := ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	rp := NewReplayer(rec)
	rp.tb = tb
	tb.Cleanup(func() {
		if rp.tb == nil || tb.Failed() {
			return
		}
		if left := rp.Unplayed(); len(left) > 0 {
			tb.Errorf("recording %s: %d recorded exchanges were not replayed, the first: %s", path, len(left), left[0])
		}
	})
	return rp
}

// AllowUnplayed lets a test replay part of a recording.
func (rp *Replayer) AllowUnplayed() {
	rp.mu.Lock()
	rp.tb = nil
	rp.mu.Unlock()
}

// Recording returns the recording replayed.
func (rp *Replayer) Recording() *Recording { return rp.rec }

// Client returns an HTTP client that answers from the recording: pass it
// as auth.Config.HTTPClient and to graphclient.WithHTTPClient.
func (rp *Replayer) Client() *http.Client { return &http.Client{Transport: rp} }

// Err returns the first request the replay could not answer (a
// *MissError), or nil.
func (rp *Replayer) Err() error {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.miss
}

// Unplayed returns the recorded requests not yet replayed, as
// "#seq METHOD URL", in recorded order; Entra's metadata and key
// documents and callbacks are not counted.
func (rp *Replayer) Unplayed() []string {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	var idx []int
	for k, q := range rp.queues {
		if !isStatic(k) {
			idx = append(idx, q...)
		}
	}
	slices.Sort(idx)
	out := make([]string, len(idx))
	for i, n := range idx {
		x := rp.rec.Exchanges[n]
		out[i] = fmt.Sprintf("#%d %s %s", x.Seq, x.Method, x.URL)
	}
	return out
}

// RoundTrip answers req from the recording.
func (rp *Replayer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(req.Body, maxBody))
		req.Body.Close()
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	k, err := keyOf(req.Method, req.URL.String(), req.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, err
	}
	rp.mu.Lock()
	q := rp.queues[k]
	var n int
	switch {
	case len(q) > 0:
		n = q[0]
		rp.queues[k] = q[1:]
	case isStatic(k) && rp.served[k] > 0:
		n = rp.last[k]
	default:
		miss := &MissError{Request: req.Method + " " + req.URL.String(), Served: rp.served[k]}
		for _, x := range rp.rec.Exchanges {
			if x.Kind == "" && x.Method == req.Method && samePath(x.URL, req.URL) {
				miss.Recorded = append(miss.Recorded, x.Method+" "+x.URL)
			}
		}
		first := rp.miss == nil
		if first {
			rp.miss = miss
		}
		tb := rp.tb
		rp.mu.Unlock()
		if first && tb != nil {
			tb.Errorf("%v", miss)
		}
		return nil, miss
	}
	rp.served[k]++
	rp.last[k] = n
	nonce := rp.nonce
	rp.mu.Unlock()

	x := rp.rec.Exchanges[n]
	if x.Status == 0 {
		return nil, fmt.Errorf("recording: replayed transport error: %s", x.Error)
	}
	respBody := x.Response.Bytes()
	switch {
	case isKeys(req.URL.Path) && x.Status == http.StatusOK:
		if respBody, err = rp.keys(respBody); err != nil {
			return nil, err
		}
	case strings.HasSuffix(req.URL.Path, "/oauth2/v2.0/token") && x.Status == http.StatusOK:
		grant := formValue(req.Header.Get("Content-Type"), body, "grant_type")
		if respBody, err = rp.reissue(respBody, grant, nonce); err != nil {
			return nil, err
		}
	}
	h := x.ResponseHeader.Clone()
	if h == nil {
		h = http.Header{}
	}
	resp := &http.Response{
		Status:        fmt.Sprintf("%d %s", x.Status, http.StatusText(x.Status)),
		StatusCode:    x.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		ContentLength: int64(len(respBody)),
		Request:       req,
	}
	var berr error
	if x.Error != "" {
		berr = errBody(strings.TrimPrefix(x.Error, "body: "))
		resp.ContentLength = -1
	}
	resp.Body = &replayBody{r: bytes.NewReader(respBody), err: berr}
	return resp, nil
}

// Browse plays the browser for an authorize or admin-consent URL the
// program built: it returns the next recorded callback with the state of
// rawURL in it (the program's state for this sign-in; the recorded one
// was redacted) and remembers the nonce of rawURL for the ID token the
// token endpoint then re-issues.
func (rp *Replayer) Browse(ctx context.Context, rawURL string) (*http.Request, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("recording: browse: %w", err)
	}
	q := u.Query()
	rp.mu.Lock()
	if len(rp.callbacks) == 0 {
		rp.mu.Unlock()
		err := &MissError{Request: "browser callback for " + u.Scheme + "://" + u.Host + u.Path}
		rp.noteMiss(err)
		return nil, err
	}
	x := rp.rec.Exchanges[rp.callbacks[0]]
	rp.callbacks = rp.callbacks[1:]
	if n := q.Get("nonce"); n != "" {
		rp.nonce = n
	}
	rp.mu.Unlock()

	state := q.Get("state")
	cb, err := url.Parse(x.URL)
	if err != nil {
		return nil, fmt.Errorf("recording: callback #%d: %w", x.Seq, err)
	}
	if ru := q.Get("redirect_uri"); ru != "" {
		if r, err := url.Parse(ru); err == nil {
			cb.Scheme, cb.Host, cb.Path = r.Scheme, r.Host, r.Path
		}
	}
	cq := cb.Query()
	if cq.Has("state") {
		cq.Set("state", state)
		cb.RawQuery = cq.Encode()
	}
	if x.Method != http.MethodPost {
		return http.NewRequestWithContext(ctx, http.MethodGet, cb.String(), nil)
	}
	form, err := url.ParseQuery(x.Request.Text)
	if err != nil {
		return nil, fmt.Errorf("recording: callback #%d form: %w", x.Seq, err)
	}
	if form.Has("state") {
		form.Set("state", state)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cb.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

func (rp *Replayer) noteMiss(err error) {
	rp.mu.Lock()
	first := rp.miss == nil
	if first {
		rp.miss = err
	}
	tb := rp.tb
	rp.mu.Unlock()
	if first && tb != nil {
		tb.Errorf("%v", err)
	}
}

// signingKey returns the replayer's RSA key, made on first use.
func (rp *Replayer) signingKey() (*rsa.PrivateKey, error) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		rp.key = k
	}
	return rp.key, nil
}

// keys replaces a recorded JWKS with the replayer's key, keeping the
// recorded issuer template.
func (rp *Replayer) keys(recorded []byte) ([]byte, error) {
	var doc struct {
		Keys []struct {
			Issuer string `json:"issuer"`
		} `json:"keys"`
	}
	_ = json.Unmarshal(recorded, &doc)
	k, err := rp.signingKey()
	if err != nil {
		return nil, err
	}
	key := map[string]any{
		"kty": "RSA", "use": "sig", "kid": ReplayKeyID,
		"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
	}
	if len(doc.Keys) > 0 && doc.Keys[0].Issuer != "" {
		key["issuer"] = doc.Keys[0].Issuer
	}
	return json.Marshal(map[string]any{"keys": []any{key}})
}

// reissue signs the recorded ID token's claims again with the replayer's
// key: the lifetimes moved so that it is issued now, and for an
// authorization-code grant the nonce of the sign-in in progress.
func (rp *Replayer) reissue(body []byte, grant, nonce string) ([]byte, error) {
	var resp map[string]json.RawMessage
	if json.Unmarshal(body, &resp) != nil || resp["id_token"] == nil {
		return body, nil
	}
	claims, ok := recordedClaims(resp["id_token"])
	if !ok {
		return body, nil
	}
	now := rp.now().Unix()
	if iat, ok := number(claims["iat"]); ok {
		shift := now - iat
		for _, c := range []string{"iat", "nbf", "exp"} {
			if v, ok := number(claims[c]); ok {
				claims[c] = v + shift
			}
		}
	}
	if _, ok := claims["nonce"]; ok && grant == "authorization_code" && nonce != "" {
		claims["nonce"] = nonce
	}
	k, err := rp.signingKey()
	if err != nil {
		return nil, err
	}
	hb, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": ReplayKeyID, "typ": "JWT"})
	cb, err := json.Marshal(claims)
	if err != nil {
		return nil, err
	}
	signing := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:])
	if err != nil {
		return nil, err
	}
	resp["id_token"], _ = json.Marshal(signing + "." + base64.RawURLEncoding.EncodeToString(sig))
	return json.Marshal(resp)
}

// recordedClaims returns the claims of a recorded ID token: the decoded
// form the recorder writes ({"header": ..., "claims": ...}), or a JWT
// string (a recording made by hand).
func recordedClaims(raw json.RawMessage) (map[string]any, bool) {
	var claimsJSON []byte
	var tok string
	if json.Unmarshal(raw, &tok) == nil {
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			return nil, false
		}
		b, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			return nil, false
		}
		claimsJSON = b
	} else {
		var decoded struct {
			Claims json.RawMessage `json:"claims"`
		}
		if json.Unmarshal(raw, &decoded) != nil || decoded.Claims == nil {
			return nil, false
		}
		claimsJSON = decoded.Claims
	}
	var claims map[string]any
	dec := json.NewDecoder(bytes.NewReader(claimsJSON))
	dec.UseNumber()
	if dec.Decode(&claims) != nil || claims == nil {
		return nil, false
	}
	return claims, true
}

func number(v any) (int64, bool) {
	switch v := v.(type) {
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case int64:
		return v, true
	}
	return 0, false
}

// keyOf is the matching key of a request: method, host, path, the sorted
// query and, for a form POST, its grant_type.
func keyOf(method, rawURL, contentType string, body []byte) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("recording: %w", err)
	}
	k := method + " " + strings.ToLower(u.Host) + u.Path
	if q := u.Query(); len(q) > 0 {
		k += "?" + q.Encode() // Encode sorts by key
	}
	if g := formValue(contentType, body, "grant_type"); g != "" {
		k += " grant_type=" + g
	}
	return k, nil
}

// formValue returns a value of a form body, or "".
func formValue(contentType string, body []byte, name string) string {
	if !strings.HasPrefix(strings.ToLower(contentType), "application/x-www-form-urlencoded") {
		return ""
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return ""
	}
	return v.Get(name)
}

// isStatic reports whether a key is one of Entra's documents a client may
// fetch any number of times: metadata, signing keys, instance discovery.
func isStatic(key string) bool {
	method, rest, _ := strings.Cut(key, " ")
	path, _, _ := strings.Cut(rest, "?")
	return method == http.MethodGet && (strings.HasSuffix(path, "/.well-known/openid-configuration") || isKeys(path) ||
		strings.HasSuffix(path, "/discovery/instance"))
}

func isKeys(path string) bool {
	return strings.HasSuffix(path, "/discovery/v2.0/keys") || strings.HasSuffix(path, "/discovery/keys")
}

// samePath reports whether a recorded URL has u's host and path.
func samePath(recorded string, u *url.URL) bool {
	r, err := url.Parse(recorded)
	return err == nil && strings.EqualFold(r.Host, u.Host) && r.Path == u.Path
}
