package graphclient

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/m365kit/m365kit/internal/urlcheck"
)

func FuzzParseErrorBody(f *testing.F) {
	for _, name := range []string{"error-throttled-429.json", "error-invalid-range.json", "error-nested-inner.json", "error-sync-state-not-found.json"} {
		f.Add(readTestdata(f, name), 429, "2.128")
	}
	f.Add([]byte(`{"error":{"code":"","innerError":{"innerError":{"innerError":{"code":"resyncRequired"}}}}}`), 400, "")
	f.Add([]byte(`{"error":null}`), 500, "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add([]byte("<html>Bearer abc.def</html>"), 502, "x")
	f.Add([]byte{0xff, 0xfe, 0x00}, 503, "-1")
	f.Fuzz(func(t *testing.T, body []byte, status int, retryAfter string) {
		h := http.Header{"Retry-After": {retryAfter}}
		e := newError(status, h, body, "GET", "https://graph.microsoft.com/v1.0/me", "me", time.Unix(0, 0))
		s := e.Error()
		if !strings.HasPrefix(s, "graphclient: GET me: ") {
			t.Errorf("Error() = %q", s)
		}
		if e.Code != "" && !e.HasCode(strings.ToUpper(e.Code)) {
			t.Errorf("HasCode(%q) false for own code", e.Code)
		}
		if len(e.InnerCodes) > maxInnerDepth {
			t.Errorf("%d inner codes", len(e.InnerCodes))
		}
		if e.RetryAfter < 0 || e.RetryAfter > maxRetryAfter {
			t.Errorf("RetryAfter = %v", e.RetryAfter)
		}
		if (e.StatusCode == 410) != e.Is(ErrSyncReset) && !e.hasAnyCode("syncStateNotFound", "resyncRequired", "syncStateInvalid") {
			t.Errorf("410 does not match ErrSyncReset")
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"2.128", "0", "120", "0.249", "Wed, 21 Oct 2015 07:28:00 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "-3", "1e9", ".", "NaN", "+5", ""} {
		f.Add(s)
	}
	now := time.Date(2015, 10, 21, 7, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRetryAfter(s, now)
		if !ok && d != 0 {
			t.Errorf("parseRetryAfter(%q) = %v, false", s, d)
		}
		if d < 0 || d > maxRetryAfter {
			t.Errorf("parseRetryAfter(%q) = %v out of range", s, d)
		}
	})
}

// FuzzDeltaDecode checks the delta page decoder against a plain decode of
// the same bytes: every element lands in exactly one of Items and Removed,
// and the links match.
func FuzzDeltaDecode(f *testing.F) {
	for _, name := range []string{"events-delta-1.json", "events-delta-3.json", "events-delta-next.json", "messages-delta-1.json", "messages-delta-next.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(`{"value":[{"id":"1","@removed":{}},{"id":"2","subject":"\"@removed\""}],"@odata.nextLink":"n"}`))
	f.Add([]byte(`{"value":null,"@odata.deltaLink":"d"}`))
	f.Add([]byte(`{"value":[null,{"@removed":null}]}`))
	codec := newDeltaCodec[testEvent]()
	if codec == nil {
		f.Fatal("no codec for testEvent")
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var w deltaWire[testEvent]
		err := w.decodeRaw(body)
		// The one-pass codec and the element-by-element path agree.
		wc := deltaWire[testEvent]{codec: codec}
		cerr := wc.decodeRaw(body)
		if (err == nil) != (cerr == nil) {
			t.Fatalf("slow path err %v, codec err %v", err, cerr)
		}
		if err == nil {
			wc.codec = nil
			if diff := cmp.Diff(w, wc, cmp.AllowUnexported(deltaWire[testEvent]{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("codec differs from slow path (-slow +codec):\n%s", diff)
			}
		}
		var plain struct {
			Value     []json.RawMessage `json:"value"`
			NextLink  string            `json:"@odata.nextLink"`
			DeltaLink string            `json:"@odata.deltaLink"`
		}
		if perr := json.Unmarshal(body, &plain); perr != nil || err != nil {
			return // invalid input may fail either way, but must not panic
		}
		if len(w.items)+len(w.removed) != len(plain.Value) {
			t.Errorf("%d items + %d removed != %d elements", len(w.items), len(w.removed), len(plain.Value))
		}
		if w.NextLink != plain.NextLink || w.DeltaLink != plain.DeltaLink {
			t.Errorf("links %q %q, want %q %q", w.NextLink, w.DeltaLink, plain.NextLink, plain.DeltaLink)
		}
	})
}

// FuzzNewRequestPath: whatever the path or link, NewRequest either fails
// or builds a request for the base URL's scheme and host.
func FuzzNewRequestPath(f *testing.F) {
	for _, s := range []string{"me/events", "me/events?$top=5", "https://graph.microsoft.com/v1.0/me?$skiptoken=x",
		"https://evil.example/", "//evil.example/x", "http://graph.microsoft.com/v1.0/me", "https://graph.microsoft.com@evil.example/",
		"https://graph.microsoft.com:443/v1.0/me", "me/../x", "/me", "me\x00", "HTTPS://GRAPH.MICROSOFT.COM/v1.0/me", "https:/evil.example"} {
		f.Add(s)
	}
	c, err := New(StaticToken("t"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path string) {
		req, err := c.NewRequest(t.Context(), "GET", path, nil)
		if err != nil {
			return
		}
		if !strings.EqualFold(req.URL.Scheme, "https") || !strings.EqualFold(req.URL.Host, "graph.microsoft.com") || req.URL.User != nil {
			t.Errorf("NewRequest(%q) targets %s", path, req.URL.Redacted())
		}
	})
}

// FuzzBaseURL feeds WithBaseURL (configuration, often from an environment
// variable) arbitrary strings. An accepted base is https (http only on a
// loopback host), has a host and no user info, query or fragment, ends in
// "/", and a relative request path made from it stays on its host. A
// rejected one's error never shows the password of user info it carried.
func FuzzBaseURL(f *testing.F) {
	for _, s := range []string{DefaultBaseURL, "https://graph.microsoft.com/beta", "http://127.0.0.1:8080/v1.0", "http://localhost/",
		"http://[::1]:9/v1.0/", "http://graph.microsoft.com/v1.0/", "https://user:hunter2secret@graph.microsoft.com/v1.0/",
		"https://user:hunter2secret@/v1.0/", "https://user:hunter2secret@[::1", "https://graph.microsoft.com/v1.0/?x=1",
		"https://graph.microsoft.com/v1.0/#f", "https://graph.microsoft.com/v1.0?", "ftp://graph.microsoft.com/", "//graph.microsoft.com/v1.0/",
		"https://:443/", "https://graph.microsoft.com/v1%2F0/", "https://graph.microsoft.com/v1.0/%zz", "\x00", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := New(StaticToken("t"), WithBaseURL(raw))
		if err != nil {
			// A password that also appears after the user info (in the host
			// or path, which errors may show) proves nothing.
			pw := password(raw)
			if len(pw) >= 6 && !strings.Contains(raw[strings.LastIndex(raw, "@")+1:], pw) && strings.Contains(err.Error(), pw) {
				t.Errorf("the error shows the password: %v", err)
			}
			return
		}
		bu := c.base
		switch {
		case bu.Host == "" || bu.User != nil || bu.RawQuery != "" || bu.Fragment != "" || bu.ForceQuery:
			t.Fatalf("WithBaseURL(%q) accepted %s", raw, bu.Redacted())
		case bu.Scheme != "https" && !(bu.Scheme == "http" && urlcheck.IsLoopback(bu.Hostname())):
			t.Fatalf("WithBaseURL(%q) accepted scheme %q on %q", raw, bu.Scheme, bu.Host)
		case !strings.HasSuffix(bu.Path, "/"):
			t.Fatalf("WithBaseURL(%q): path %q does not end in /", raw, bu.Path)
		}
		req, err := c.NewRequest(t.Context(), "GET", "me/events", nil)
		if err != nil {
			t.Fatalf("NewRequest on base %q: %v", raw, err)
		}
		if !strings.EqualFold(req.URL.Hostname(), bu.Hostname()) || req.URL.Port() != bu.Port() || req.URL.Scheme != bu.Scheme || req.URL.User != nil {
			t.Fatalf("a relative path on base %q targets %s", raw, req.URL.Redacted())
		}
	})
}

// password returns the password in raw's user info, also when raw does
// not parse: what follows the first ":" between "//" and the last "@".
func password(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		if u.User == nil {
			return ""
		}
		pw, _ := u.User.Password()
		return pw
	}
	i, j := strings.Index(raw, "//"), strings.LastIndex(raw, "@")
	if i < 0 || j < i+2 {
		return ""
	}
	if _, pw, ok := strings.Cut(raw[i+2:j], ":"); ok {
		return pw
	}
	return ""
}
