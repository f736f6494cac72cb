package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/m365kit/m365kit/internal/neterr"
)

// retryingClient wraps hc so that GETs and refresh-token grants are retried
// on 429, 5xx and transient network errors (honouring Retry-After and the request's
// context), while every other request, authorization-code grants above
// all, is sent exactly once.
func retryingClient(hc *http.Client) *http.Client {
	rc := retryablehttp.NewClient()
	rc.HTTPClient = hc
	rc.Logger = nil
	rc.RetryMax = 3
	rc.RetryWaitMin = 100 * time.Millisecond
	rc.RetryWaitMax = 3 * time.Second
	rc.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if err != nil && ctx.Err() == nil {
			// Only a failure another attempt may not meet: a timeout, a
			// dropped or refused connection. A name that does not
			// resolve, or an error a RoundTripper made up (a replayed
			// recording with no answer), fails the same way again.
			return neterr.Transient(err), nil
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler // the last response, not "giving up"
	return &http.Client{Transport: &splitTransport{once: hc, retry: rc, now: time.Now, meta: map[string]metaEntry{}}}
}

// splitTransport routes each request to the retrying client or the plain
// one, and remembers OpenID metadata documents: every operation builds a
// new MSAL client, and each would fetch the authority's metadata again.
type splitTransport struct {
	once  *http.Client
	retry *retryablehttp.Client
	now   func() time.Time

	mu   sync.Mutex
	meta map[string]metaEntry // URL -> metadata document
}

type metaEntry struct {
	body    []byte
	header  http.Header
	fetched time.Time
}

// metaTTL is how long a metadata document is reused.
const metaTTL = time.Hour

func (t *splitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/.well-known/openid-configuration") {
		return t.metadata(req)
	}
	return t.send(req)
}

// metadata serves a metadata GET from memory when it was fetched recently.
func (t *splitTransport) metadata(req *http.Request) (*http.Response, error) {
	key := req.URL.String()
	t.mu.Lock()
	m, ok := t.meta[key]
	t.mu.Unlock()
	if !ok || t.now().Sub(m.fetched) > metaTTL {
		resp, err := t.send(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			return resp, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		if err != nil {
			return nil, err
		}
		m = metaEntry{body: body, header: resp.Header.Clone(), fetched: t.now()}
		t.mu.Lock()
		t.meta[key] = m
		t.mu.Unlock()
	}
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: m.header.Clone(), Body: io.NopCloser(bytes.NewReader(m.body)), ContentLength: int64(len(m.body)),
		Request: req,
	}, nil
}

func (t *splitTransport) send(req *http.Request) (*http.Response, error) {
	req, ok, err := retryable(req)
	if err != nil {
		return nil, err
	}
	if !ok {
		return t.once.Do(req)
	}
	rr, err := retryablehttp.FromRequest(req)
	if err != nil {
		return nil, err
	}
	return t.retry.Do(rr)
}

// retryable reports whether sending req twice is safe: a GET or HEAD, or a
// token request whose grant is refresh_token. Having read a POST's body to
// find out, it returns a copy of req to send in its place (a RoundTripper
// must not change the request it was given).
func retryable(req *http.Request) (*http.Request, bool, error) {
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		return req, true, nil
	case http.MethodPost:
	default:
		return req, false, nil
	}
	if req.Body == nil || req.Body == http.NoBody {
		return req, false, nil
	}
	// The body is our own (MSAL's token request, a few KB): read it whole;
	// a limit here would send a truncated request.
	b, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, false, err
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(b))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return out, false, nil
	}
	return out, form.Get("grant_type") == "refresh_token", nil
}

// cacheAdapter connects one MSAL client to the TokenStore, one partition
// (account) per key. Each adapter serves one operation on one goroutine.
type cacheAdapter struct {
	store TokenStore
	// capture keeps Export in memory instead of saving: sign-in stores
	// the tokens only after the ID token is validated.
	capture bool
	// found reports whether the last Replace found a stored partition.
	found bool
	// loaded is the partition's stored blob, for consent diagnosis, and
	// version its version, as the last Replace read them.
	loaded  []byte
	version int64
	// base is the version the operation's first Replace read: the
	// tokens a refresh started from.
	base  int64
	based bool
	// captured is the last exported blob and its key (capture mode).
	captured    []byte
	capturedKey string
	// gone reports that an Export was dropped because the partition
	// vanished during the operation (signed out by another process).
	gone bool
	// storeErr is the store's error, if a Load or Save failed.
	storeErr error
}

// emptyCache resets MSAL's in-memory cache. Replace must always overwrite
// it: left alone, a previous user's tokens would be exported into the next
// user's partition.
var emptyCache = []byte("{}")

// maxSaveAttempts bounds the conditional saves of one Export when other
// processes keep saving the same partition.
const maxSaveAttempts = 8

// Replace loads the partition into MSAL's cache, or an empty cache when
// the key is empty or nothing is stored.
func (c *cacheAdapter) Replace(ctx context.Context, u cache.Unmarshaler, h cache.ReplaceHints) error {
	c.found, c.loaded, c.version = false, nil, 0
	if h.PartitionKey == "" || c.capture {
		return u.Unmarshal(emptyCache)
	}
	b, version, err := c.store.Load(ctx, h.PartitionKey)
	if !c.based {
		// A missing partition has version 0, which no stored value has.
		c.base, c.based = version, true
	}
	if isNoToken(err) {
		return u.Unmarshal(emptyCache)
	}
	if err != nil {
		c.storeErr = err
		return err
	}
	if err := u.Unmarshal(b); err != nil {
		return err
	}
	c.found, c.loaded, c.version = true, b, version
	return nil
}

// Export saves the partition. An empty key is MSAL's RemoveAccount or an
// app-level write; it is never stored. Outside capture mode a partition
// the preceding Replace did not find is not stored either (see gone).
//
// The save is conditional on the version Replace read, and keeps what
// other processes saved. MSAL reloads the partition just before it writes
// refreshed tokens and writes them over what it reloaded, refresh token
// included. If another process saved since this operation's first load (a
// new sign-in, another refresh), its tokens are newer than the ones this
// refresh started from: they are kept, and only this refresh's access
// tokens are added where they are missing or fresher (merge). If another
// process saves between the reload and the save, the conditional save
// fails, and Export loads, merges and tries again.
func (c *cacheAdapter) Export(ctx context.Context, m cache.Marshaler, h cache.ExportHints) error {
	if h.PartitionKey == "" {
		return nil
	}
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	if c.capture {
		c.captured, c.capturedKey = b, h.PartitionKey
		return nil
	}
	if !c.found {
		// MSAL reloads the partition just before it writes refreshed
		// tokens. Finding nothing there means the user signed out (in
		// another process) while the refresh was under way: saving now
		// would sign them back in.
		c.gone = true
		return nil
	}
	value, version := b, c.version
	if version != c.base {
		var add bool
		if value, add = merge(c.loaded, b); !add {
			return nil // the stored tokens are newer and lack nothing of ours
		}
	}
	for attempt := 1; ; attempt++ {
		err := c.store.Save(ctx, h.PartitionKey, value, version)
		if err == nil || !errors.Is(err, ErrConflict) || attempt == maxSaveAttempts {
			if err != nil {
				c.storeErr = err
			}
			return err
		}
		cur, v, err := c.store.Load(ctx, h.PartitionKey)
		if isNoToken(err) {
			c.gone = true // signed out meanwhile: see above
			return nil
		}
		if err != nil {
			c.storeErr = err
			return err
		}
		var add bool
		if value, add = merge(cur, b); !add {
			return nil
		}
		version = v
	}
}

// merge returns the cache blob stored, newer than the tokens this
// operation started from, with the access tokens of ours (what MSAL
// exported) added where stored has none for the same account, scopes and
// tenant, or one that expires earlier; add reports whether it added any.
// Everything else of stored wins: its refresh token, ID token and account
// come from a later sign-in or refresh. If either blob does not parse,
// stored is kept as it is.
func merge(stored, ours []byte) (merged []byte, add bool) {
	var s, o map[string]json.RawMessage
	if json.Unmarshal(stored, &s) != nil || json.Unmarshal(ours, &o) != nil {
		return stored, false
	}
	var sa, oa map[string]json.RawMessage
	if raw, ok := s["AccessToken"]; ok && json.Unmarshal(raw, &sa) != nil {
		return stored, false
	}
	if json.Unmarshal(o["AccessToken"], &oa) != nil {
		return stored, false
	}
	if sa == nil {
		sa = map[string]json.RawMessage{}
	}
	for k, at := range oa {
		if cur, ok := sa[k]; !ok || expiresOn(at) > expiresOn(cur) {
			sa[k] = at
			add = true
		}
	}
	if !add {
		return stored, false
	}
	raw, err := json.Marshal(sa)
	if err != nil {
		return stored, false
	}
	s["AccessToken"] = raw
	out, err := json.Marshal(s)
	if err != nil {
		return stored, false
	}
	return out, true
}

// expiresOn returns an MSAL access-token entry's expiry (Unix seconds,
// stored as a string), or 0.
func expiresOn(entry json.RawMessage) int64 {
	var at struct {
		ExpiresOn json.Number `json:"expires_on"`
	}
	if json.Unmarshal(entry, &at) != nil {
		return 0
	}
	n, _ := at.ExpiresOn.Int64()
	return n
}
