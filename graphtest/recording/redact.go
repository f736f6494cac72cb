package recording

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Redacted is the value that replaces every secret in a recording.
const Redacted = "REDACTED"

// minLearned is the shortest secret value the redactor remembers and then
// scrubs wherever it appears again; shorter values would scrub ordinary
// text.
const minLearned = 6

// secretParams are the query, fragment and form parameters whose values
// are secrets (or would let a request be replayed against Entra).
var secretParams = map[string]bool{
	"access_token": true, "refresh_token": true, "id_token": true, "id_token_hint": true,
	"code": true, "code_verifier": true, "code_challenge": true,
	"client_secret": true, "client_assertion": true, "assertion": true, "password": true,
	"state": true, "nonce": true, "clientstate": true, "validationtoken": true,
	"token": true, "sig": true, "logout_hint": true, "session_state": true,
}

// secretKeys are the JSON object keys (lower case) whose values are
// secrets, wherever they appear: token responses, subscriptions,
// notifications.
var secretKeys = map[string]bool{
	"access_token": true, "refresh_token": true, "id_token": true,
	"client_secret": true, "client_assertion": true, "code_verifier": true, "code_challenge": true,
	"assertion": true, "password": true, "clientstate": true, "validationtokens": true,
	"datakey": true, "secrettext": true, "token": true,
}

// grantKeys mark a JSON object as an OAuth request, where "code" is an
// authorization code and not a Graph error code.
var grantKeys = []string{"grant_type", "redirect_uri", "code_verifier", "client_id"}

// requestHeaders and responseHeaders are the headers a recording keeps:
// those that change an answer or that a client acts on. Everything else
// is dropped, so a proxy's or a browser's headers never reach the file
// unless Config.KeepHeaders names them.
var (
	requestHeaders  = []string{"Content-Type", "Prefer", "Consistencylevel", "If-Match", "If-None-Match"}
	responseHeaders = []string{"Content-Type", "Retry-After", "Location", "Request-Id", "Client-Request-Id",
		"Preference-Applied", "Etag", "Www-Authenticate", "Date", "Deprecation", "Sunset"}
	// neverHeaders are dropped even when Config.KeepHeaders names them.
	neverHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Ms-Client-Secret"}
)

var (
	// jwtPattern finds a signed JWT (three base64url segments, the first
	// two JSON objects): access tokens and any JWT in free text.
	jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+`)
	// paramPattern finds secret parameters written out in text: a
	// query or form (code=...), JSON ("code": "..."), or an HTML input
	// (name="code" value="...").
	paramPattern = regexp.MustCompile(`(?i)\b(access_token|refresh_token|id_token|id_token_hint|code_verifier|code_challenge|client_secret|client_assertion|assertion|password|clientstate|code|state|nonce)` +
		`((?:=|%3D)[^&#\s"'<>]+|"\s*:\s*"[^"]*"|"\s+value="[^"]*")`)
	// bearerPattern finds a bearer or basic credential in free text.
	bearerPattern = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}`)
)

// redactor removes secrets from exchanges and, when asked, replaces
// personal data with stand-ins. It remembers each secret it removes and
// scrubs it wherever it appears later in the run. It is safe for
// concurrent use.
type redactor struct {
	keepHeaders []string
	pseudo      *pseudonyms // nil: personal data is kept

	mu      sync.Mutex
	learned []string // secret values seen, in every form, longest first
}

func newRedactor(cfg Config) *redactor {
	r := &redactor{keepHeaders: cfg.KeepHeaders}
	if cfg.Pseudonymize {
		r.pseudo = newPseudonyms()
	}
	for _, s := range cfg.Secrets {
		r.learn(s)
	}
	return r
}

// learn remembers a secret value to scrub everywhere.
func (r *redactor) learn(s string) {
	s = strings.TrimSpace(s)
	if len(s) < minLearned || s == Redacted {
		return
	}
	// Each form the value can take in a file: raw, URL-escaped (query
	// and path) and JSON-escaped.
	forms := []string{s, url.QueryEscape(s), url.PathEscape(s)}
	if j, err := json.Marshal(s); err == nil {
		forms = append(forms, string(j[1:len(j)-1]))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	added := false
	for _, f := range forms {
		if !slices.Contains(r.learned, f) {
			r.learned = append(r.learned, f)
			added = true
		}
	}
	if added {
		slices.SortFunc(r.learned, func(a, b string) int { return len(b) - len(a) })
	}
}

// scrub removes secrets from free text: JWTs, bearer credentials, secret
// parameters written out, and every secret learned so far (raw, JSON- and
// URL-escaped).
func (r *redactor) scrub(s string) string {
	if s == "" {
		return s
	}
	// Each pattern runs only where it can match: most strings of a
	// Graph answer (IDs, dates, names) hold none of them.
	if strings.Contains(s, "eyJ") {
		s = r.scrubJWTs(s)
	}
	low := strings.ToLower(s)
	if strings.Contains(low, "bearer") || strings.Contains(low, "basic") {
		s = r.scrubCredentials(s)
	}
	if strings.ContainsAny(s, "=:%\"") && containsAny(low, paramNames) {
		s = r.scrubParams(s)
	}
	return r.scrubLearned(s)
}

func (r *redactor) scrubJWTs(s string) string {
	return jwtPattern.ReplaceAllStringFunc(s, func(m string) string {
		r.learn(m)
		return Redacted
	})
}

func (r *redactor) scrubCredentials(s string) string {
	return bearerPattern.ReplaceAllStringFunc(s, func(m string) string {
		scheme, cred, _ := strings.Cut(m, " ")
		r.learn(strings.TrimSpace(cred))
		return scheme + " " + Redacted
	})
}

func (r *redactor) scrubParams(s string) string {
	return paramPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := paramPattern.FindStringSubmatch(m)
		name, rest := sub[1], sub[2]
		switch {
		case strings.HasPrefix(rest, "="):
			r.learnEscaped(rest[1:])
			return name + "=" + Redacted
		case strings.HasPrefix(strings.ToUpper(rest), "%3D"):
			r.learnEscaped(rest[3:])
			return name + "%3D" + Redacted
		case strings.HasPrefix(rest, `"`) && strings.Contains(rest, "value="):
			return name + `" value="` + Redacted + `"`
		default:
			return name + `": "` + Redacted + `"`
		}
	})
}

// paramNames are the words paramPattern starts with (lower case).
var paramNames = []string{"token", "code", "secret", "assertion", "password", "clientstate", "state", "nonce"}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// scrubLearned replaces every secret learned so far wherever it appears
// in s: raw, URL-escaped and JSON-escaped.
func (r *redactor) scrubLearned(s string) string {
	r.mu.Lock()
	learned := r.learned
	r.mu.Unlock()
	for _, v := range learned {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Redacted)
		}
	}
	return s
}

// learnEscaped learns a parameter value as written and unescaped.
func (r *redactor) learnEscaped(v string) {
	r.learn(v)
	if u, err := url.QueryUnescape(v); err == nil {
		r.learn(u)
	}
}

// url redacts a URL: secret query and fragment parameters, user info;
// then scrubs what is left. Personal data in it is mapped when asked.
func (r *redactor) url(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return r.scrub(raw)
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			r.learn(p)
		}
		u.User = url.User(Redacted)
	}
	if u.RawQuery != "" {
		u.RawQuery = r.params(u.RawQuery)
	}
	if u.Fragment != "" || u.RawFragment != "" {
		frag := u.EscapedFragment()
		u.Fragment, u.RawFragment = "", ""
		// A fragment with parameters is an implicit-flow answer
		// (#access_token=...&id_token=...); any other (Graph's
		// "$metadata#events") is kept, scrubbed below.
		if strings.Contains(frag, "=") {
			frag = r.params(frag)
		}
		u.RawFragment = frag
		u.Fragment, _ = url.PathUnescape(frag)
	}
	s := r.scrub(u.String())
	if r.pseudo != nil {
		s = r.pseudo.replaceKnown(s, true)
	}
	return s
}

// params redacts an encoded query or form: each secret parameter's value
// becomes REDACTED. The order of the parameters is kept.
func (r *redactor) params(raw string) string {
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if ok && secretParams[strings.ToLower(name)] {
			r.learnEscaped(v)
			parts[i] = k + "=" + Redacted
		}
	}
	return strings.Join(parts, "&")
}

// header keeps the allowed headers of h, their values scrubbed (Location
// redacted as a URL).
func (r *redactor) header(h http.Header, allowed []string) http.Header {
	for _, k := range neverHeaders {
		for _, v := range h.Values(k) {
			r.learnHeader(v)
		}
	}
	var out http.Header
	for k, vs := range h {
		ck := http.CanonicalHeaderKey(k)
		if slices.Contains(neverHeaders, ck) || !slices.Contains(allowed, ck) && !slices.ContainsFunc(r.keepHeaders, func(s string) bool { return http.CanonicalHeaderKey(s) == ck }) {
			continue
		}
		if out == nil {
			out = http.Header{}
		}
		for _, v := range vs {
			if ck == "Location" {
				v = r.url(v)
			} else {
				v = r.scrub(v)
			}
			out.Add(ck, v)
		}
	}
	return out
}

// learnHeader learns the credentials in an Authorization or Cookie header.
func (r *redactor) learnHeader(v string) {
	if scheme, cred, ok := strings.Cut(strings.TrimSpace(v), " "); ok && !strings.Contains(scheme, "=") {
		cred = strings.TrimSpace(cred)
		r.learn(cred)
		// client_secret_basic: base64(client_id ":" secret).
		if strings.EqualFold(scheme, "basic") {
			if b, err := base64.StdEncoding.DecodeString(cred); err == nil {
				if _, pw, ok := strings.Cut(string(b), ":"); ok {
					r.learn(pw)
					if u, err := url.QueryUnescape(pw); err == nil {
						r.learn(u)
					}
				}
			}
		}
	}
	for part := range strings.SplitSeq(v, ";") {
		if _, val, ok := strings.Cut(part, "="); ok {
			r.learn(strings.TrimSpace(val))
		}
	}
	r.learn(v)
}

// body redacts a request or response body of the given content type.
func (r *redactor) body(contentType string, raw []byte) Body {
	if len(raw) == 0 {
		return Body{}
	}
	b := bodyOf(raw)
	if b.JSON != nil {
		var v any
		dec := json.NewDecoder(bytes.NewReader(b.JSON))
		dec.UseNumber()
		if dec.Decode(&v) == nil {
			v = r.json(v, "")
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if enc.Encode(v) == nil {
				return Body{JSON: json.RawMessage(bytes.TrimSpace(buf.Bytes()))}
			}
		}
		return Body{Text: r.scrub(string(raw))}
	}
	if strings.HasPrefix(strings.ToLower(contentType), "application/x-www-form-urlencoded") {
		s := r.params(strings.TrimSpace(string(raw)))
		if r.pseudo != nil {
			s = r.pseudo.replaceKnown(s, true)
		}
		return Body{Text: r.scrub(s)}
	}
	s := r.scrub(string(raw))
	if r.pseudo != nil {
		s = r.pseudo.replaceKnown(s, false)
	}
	return Body{Text: s}
}

// json redacts a decoded JSON value; key is the key it sits under.
func (r *redactor) json(v any, key string) any {
	switch v := v.(type) {
	case map[string]any:
		oauth := slices.ContainsFunc(grantKeys, func(k string) bool { _, ok := v[k]; return ok })
		// In key order, so the stand-ins are numbered the same way each
		// time the same answer is recorded.
		for _, k := range slices.Sorted(maps.Keys(v)) {
			val := v[k]
			lk := strings.ToLower(k)
			switch {
			case lk == "id_token":
				v[k] = r.idToken(val)
			case secretKeys[lk] || oauth && lk == "code":
				r.learnValue(val)
				v[k] = Redacted
			default:
				v[k] = r.json(val, k)
			}
		}
		if r.pseudo != nil {
			r.pseudo.object(v, key)
		}
		return v
	case []any:
		for i := range v {
			v[i] = r.json(v[i], key)
		}
		return v
	case string:
		if strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "http://") {
			return r.url(v)
		}
		return r.scrub(v)
	default:
		return v
	}
}

// learnValue learns every string in a JSON value.
func (r *redactor) learnValue(v any) {
	switch v := v.(type) {
	case string:
		r.learn(v)
	case []any:
		for _, x := range v {
			r.learnValue(x)
		}
	case map[string]any:
		for _, x := range v {
			r.learnValue(x)
		}
	}
}

// idToken keeps an ID token's header and claims, decoded (so a reader of
// the file sees what the token said, and a diff shows the claim that
// changed), and drops its signature: nothing in the file verifies, no one
// can present it as Entra's. The nonce claim is redacted too (the replayer
// puts the nonce of the sign-in in progress there). Personal claims are
// mapped when asked. A value that is not a JWT is redacted.
func (r *redactor) idToken(v any) any {
	s, _ := v.(string)
	r.learn(s)
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		r.learnValue(v)
		return Redacted
	}
	r.learn(parts[2])
	var claims map[string]any
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return Redacted
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&claims) != nil || claims == nil {
		return Redacted
	}
	var header map[string]any
	if hraw, err := base64.RawURLEncoding.DecodeString(parts[0]); err != nil || json.Unmarshal(hraw, &header) != nil {
		return Redacted
	}
	if _, ok := claims["nonce"]; ok {
		claims["nonce"] = Redacted
	}
	for k, c := range claims {
		if s, ok := c.(string); ok {
			claims[k] = r.scrub(s)
		}
	}
	if r.pseudo != nil {
		r.pseudo.claims(claims)
	}
	return map[string]any{"header": header, "claims": claims}
}

// final scrubs every secret learned during the run from an exchange
// recorded before it was learned.
func (r *redactor) final(x Exchange) Exchange {
	x.URL = r.scrubLearned(x.URL)
	x.Error = r.scrubLearned(x.Error)
	x.RequestHeader = r.finalHeader(x.RequestHeader)
	x.ResponseHeader = r.finalHeader(x.ResponseHeader)
	x.Request = r.finalBody(x.Request)
	x.Response = r.finalBody(x.Response)
	return x
}

func (r *redactor) finalHeader(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	out := make(http.Header, len(h))
	for k, vs := range h {
		for _, v := range vs {
			out.Add(k, r.scrubLearned(v))
		}
	}
	return out
}

func (r *redactor) finalBody(b Body) Body {
	if b.Text != "" {
		b.Text = r.scrubLearned(b.Text)
	}
	if b.JSON != nil {
		if s := r.scrubLearned(string(b.JSON)); s != string(b.JSON) {
			if json.Valid([]byte(s)) {
				b.JSON = json.RawMessage(s)
			} else {
				b = Body{Text: s}
			}
		}
	}
	return b
}
