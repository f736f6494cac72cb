package graphclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Sentinel errors matched by [*Error] through [errors.Is]:
//
//	if errors.Is(err, graphclient.ErrNotFound) { ... }
var (
	// ErrNotFound matches a 404 response or an itemNotFound code.
	ErrNotFound = errors.New("graphclient: not found")
	// ErrUnauthorized matches a 401 response: the token was missing,
	// expired or rejected.
	ErrUnauthorized = errors.New("graphclient: unauthorized")
	// ErrForbidden matches a 403 response: the signed-in user or the app
	// lacks a permission (often a scope that was never consented) or a
	// license.
	ErrForbidden = errors.New("graphclient: forbidden")
	// ErrThrottled matches a 429 response or a throttling code
	// (TooManyRequests, activityLimitReached).
	ErrThrottled = errors.New("graphclient: throttled")
	// ErrSyncReset matches a delta response saying the sync state is gone:
	// HTTP 410, or the code syncStateNotFound, resyncRequired or
	// syncStateInvalid at any innerError depth. The caller must drop its
	// cursor and synchronise again from the initial query.
	ErrSyncReset = errors.New("graphclient: sync state reset")
	// ErrInvalidInput matches an error about bad input: an argument, an
	// option or a request the caller built was refused before anything
	// was sent, and the error names the input and what is wrong with it.
	// It is the one bad-input sentinel of the SDK: calendar, mail, teams
	// and notify wrap it too, so its text carries no package prefix.
	ErrInvalidInput = errors.New("invalid input")
)

// maxErrorBody is how much of an error response body is read.
const maxErrorBody = 1 << 20

// maxInnerDepth bounds how many nested innerError objects are walked.
const maxInnerDepth = 32

// Error is a non-2xx response from Microsoft Graph, decoded from the Graph
// error envelope ({"error":{"code","message","innerError":{...}}}) and the
// response headers. A body that is empty or not JSON still yields an Error
// with the status and the request IDs.
//
// Match it with [errors.Is] against the sentinels ([ErrNotFound],
// [ErrUnauthorized], [ErrForbidden], [ErrThrottled], [ErrSyncReset]) and
// read the details with [errors.As]. An Error is a plain value: safe for
// concurrent reads once returned.
type Error struct {
	// StatusCode is the HTTP status, e.g. 404.
	StatusCode int
	// Code is the Graph error.code, e.g. "ErrorItemNotFound". It may be
	// empty. Compare codes with [Error.HasCode], which ignores case.
	Code string
	// Message is the Graph error.message. It is not localized and not
	// stable; never branch on it.
	Message string
	// InnerCodes are the codes of the nested innerError objects,
	// outermost first.
	InnerCodes []string
	// RequestID is the Graph request-id; quote it in support tickets.
	RequestID string
	// ClientRequestID is the client-request-id sent with the request
	// (graphclient sets a fresh GUID on every request).
	ClientRequestID string
	// Date is the innerError date, or else the response's Date header,
	// in UTC.
	Date time.Time
	// RetryAfter is the parsed Retry-After header (0 when absent).
	RetryAfter time.Duration
	// Method and URL identify the request. URL has secret query values
	// (access_token, client_secret, ...) redacted.
	Method, URL string
	// Location is the Location header of the response, if any (a 410 on
	// a delta query may carry the URL to restart from).
	Location string
	// Attempts is how many times the request was sent (1 without retries).
	Attempts int
	// Claims is the claims request of a claims challenge (a 401 whose
	// WWW-Authenticate says error="insufficient_claims"), decoded to
	// JSON; "" otherwise. The SDK does not declare the CP1 client
	// capability, so Graph should not send one; if it does, the token
	// cannot be refreshed silently: sign the user in again with this
	// value in auth.SignInRequest.Claims. Such an Error matches
	// ErrUnauthorized.
	Claims string

	path string // request path relative to the base URL, for Error()
}

// Error returns a one-line description carrying what support needs:
// "graphclient: GET me/events/AAMk: 404 ErrorItemNotFound: The specified
// object was not found in the store. (request-id ..., client-request-id ...)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("graphclient: ")
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteByte(' ')
		p := e.path
		if p == "" {
			p = e.URL
		}
		b.WriteString(p)
		b.WriteString(": ")
	}
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Code != "" {
		b.WriteByte(' ')
		b.WriteString(e.Code)
	}
	if len(e.InnerCodes) > 0 {
		b.WriteString(" [")
		b.WriteString(strings.Join(e.InnerCodes, "/"))
		b.WriteByte(']')
	}
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	if msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	var ids []string
	if e.RequestID != "" {
		ids = append(ids, "request-id "+e.RequestID)
	}
	if e.ClientRequestID != "" {
		ids = append(ids, "client-request-id "+e.ClientRequestID)
	}
	if !e.Date.IsZero() {
		ids = append(ids, "date "+e.Date.Format(time.RFC3339))
	}
	if e.Attempts > 1 {
		ids = append(ids, strconv.Itoa(e.Attempts)+" attempts")
	}
	if e.Claims != "" {
		ids = append(ids, "claims challenge: sign in again with Error.Claims")
	}
	if len(ids) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(ids, ", "))
		b.WriteByte(')')
	}
	return b.String()
}

// HasCode reports whether code equals, ignoring case, the error's code or
// the code of any nested innerError.
func (e *Error) HasCode(code string) bool {
	if code == "" {
		return false
	}
	if strings.EqualFold(e.Code, code) {
		return true
	}
	for _, c := range e.InnerCodes {
		if strings.EqualFold(c, code) {
			return true
		}
	}
	return false
}

func (e *Error) hasAnyCode(codes ...string) bool {
	for _, c := range codes {
		if e.HasCode(c) {
			return true
		}
	}
	return false
}

// Is reports whether e matches one of the package's sentinel errors, by
// status code or Graph error code, the way syscall.Errno matches
// fs.ErrNotExist.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound || e.hasAnyCode("itemNotFound", "ErrorItemNotFound", "ResourceNotFound")
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrThrottled:
		return e.StatusCode == http.StatusTooManyRequests || e.hasAnyCode("TooManyRequests", "activityLimitReached", "ApplicationThrottled")
	case ErrSyncReset:
		return e.StatusCode == http.StatusGone || e.hasAnyCode("syncStateNotFound", "resyncRequired", "syncStateInvalid")
	}
	return false
}

// wireError is the Graph error envelope. encoding/json matches keys
// case-insensitively, so "innerError" and "innererror" both land in Inner.
type wireError struct {
	Error *wireErrorBody `json:"error"`
}

type wireErrorBody struct {
	Code    json.RawMessage `json:"code"`
	Message json.RawMessage `json:"message"`
	Inner   *wireInner      `json:"innerError"`
}

type wireInner struct {
	Code            json.RawMessage `json:"code"`
	RequestID       json.RawMessage `json:"request-id"`
	ClientRequestID json.RawMessage `json:"client-request-id"`
	Date            json.RawMessage `json:"date"`
	Inner           *wireInner      `json:"innerError"`
}

// jsonString returns raw as a string if it is a JSON string or number,
// else "". It never fails: Graph documents fields whose types drift.
func jsonString(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String()
	}
	return ""
}

// parseErrorBody fills e from a Graph error envelope. It reports whether
// the body was a recognisable envelope.
func parseErrorBody(e *Error, body []byte) bool {
	var w wireError
	if err := json.Unmarshal(body, &w); err != nil || w.Error == nil {
		return false
	}
	e.Code = jsonString(w.Error.Code)
	e.Message = jsonString(w.Error.Message)
	in := w.Error.Inner
	for depth := 0; in != nil && depth < maxInnerDepth; depth++ {
		if c := jsonString(in.Code); c != "" {
			e.InnerCodes = append(e.InnerCodes, c)
		}
		if e.RequestID == "" {
			e.RequestID = jsonString(in.RequestID)
		}
		if e.ClientRequestID == "" {
			e.ClientRequestID = jsonString(in.ClientRequestID)
		}
		if e.Date.IsZero() {
			e.Date = parseGraphDate(jsonString(in.Date))
		}
		in = in.Inner
	}
	return true
}

// parseGraphDate parses the innerError date, which Graph writes with or
// without a zone ("2020-08-18T12:51:51" is UTC).
func parseGraphDate(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", http.TimeFormat} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// newError builds an *Error from a non-2xx response whose body has been
// read into body (possibly truncated or empty).
func newError(status int, h http.Header, body []byte, method, rawURL, path string, now time.Time) *Error {
	e := &Error{StatusCode: status, Method: method, URL: rawURL, path: path}
	if !parseErrorBody(e, body) {
		e.Message = bodySnippet(body)
	}
	if h != nil {
		if e.RequestID == "" {
			e.RequestID = h.Get("request-id")
		}
		if e.ClientRequestID == "" {
			e.ClientRequestID = h.Get("client-request-id")
		}
		if e.Date.IsZero() {
			if t, err := http.ParseTime(h.Get("Date")); err == nil {
				e.Date = t.UTC()
			}
		}
		if d, ok := parseRetryAfter(h.Get("Retry-After"), serverNow(h, now)); ok {
			e.RetryAfter = d
		}
		e.Location = h.Get("Location")
		if status == http.StatusUnauthorized {
			e.Claims = claimsChallenge(h)
		}
	}
	return e
}

// bodySnippet returns a short printable excerpt of a non-envelope error
// body, with anything that looks like a bearer token removed.
func bodySnippet(body []byte) string {
	const max = 200
	s := strings.TrimSpace(string(body))
	if s == "" {
		return ""
	}
	if !utf8.ValidString(s) {
		return fmt.Sprintf("(%d bytes of non-UTF-8 body)", len(body))
	}
	s = redactBearer(s)
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// redactBearer replaces the credential after every "Bearer " (any case).
func redactBearer(s string) string {
	lower := strings.ToLower(s)
	if !strings.Contains(lower, "bearer ") {
		return s
	}
	var b strings.Builder
	i := 0
	for {
		j := strings.Index(lower[i:], "bearer ")
		if j < 0 {
			b.WriteString(s[i:])
			return b.String()
		}
		j += i + len("bearer ")
		b.WriteString(s[i:j])
		b.WriteString("REDACTED")
		k := j
		for k < len(s) && s[k] != ' ' && s[k] != '"' && s[k] != ',' && s[k] != '\'' {
			k++
		}
		i = k
	}
}
