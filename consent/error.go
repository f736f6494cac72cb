package consent

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrInvalidState means the callback's state is missing, forged,
	// tampered with, signed with another key, or expired. The callback is
	// not trusted; the administrator starts again from a fresh consent URL.
	ErrInvalidState = errors.New("consent: invalid state")
	// ErrDeclined matches an *Error for a refused consent: AADSTS65004
	// (UserDeclinedConsent), or access_denied / permission_denied without
	// a code.
	ErrDeclined = errors.New("consent: declined")
	// ErrConsentRequired matches an *Error saying consent is still needed:
	// AADSTS65001 (DelegationDoesNotExist), 90094 (AdminConsentRequired),
	// 90095 (AdminConsentRequiredRequestAccess).
	ErrConsentRequired = errors.New("consent: consent required")
)

// Error is Microsoft's answer when consent was not granted: the OAuth
// error fields from the redirect, with the AADSTS code and the trace and
// correlation IDs Entra puts into the description. Quote TraceID and
// CorrelationID in a support ticket; Diagnose explains AADSTSCode. An
// Error is a plain value, safe for concurrent reads.
type Error struct {
	// ErrorCode is the OAuth error, such as "consent_required" or
	// "access_denied".
	ErrorCode string
	// ErrorDescription is Microsoft's message without the trace lines,
	// such as "AADSTS65004: The resource owner or authorization server
	// denied the request.". Control characters are replaced by spaces.
	ErrorDescription string
	// AADSTSCode is the Entra code from the description (65004), or 0.
	AADSTSCode int
	// TraceID and CorrelationID identify the request at Microsoft.
	TraceID, CorrelationID string
	// Timestamp is when Microsoft answered, in UTC; zero when not given.
	Timestamp time.Time
	// Tenant is the tenant the redirect names, if any (a claim, as in
	// Grant.TenantID).
	Tenant string
	// ReturnTo is the Request's ReturnTo, from the verified state, so the
	// caller can send the administrator back to where they started.
	ReturnTo string
}

// AADSTS returns the Entra code, or 0. It makes *Error an [AADSTSCoder].
func (e *Error) AADSTS() int { return e.AADSTSCode }

// Error returns "consent: <error>: <description> (trace ID …, correlation ID …)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("consent: ")
	b.WriteString(e.ErrorCode)
	if e.ErrorDescription != "" {
		b.WriteString(": ")
		b.WriteString(e.ErrorDescription)
	} else if e.AADSTSCode != 0 {
		fmt.Fprintf(&b, ": AADSTS%d", e.AADSTSCode)
	}
	var ids []string
	if e.TraceID != "" {
		ids = append(ids, "trace ID "+e.TraceID)
	}
	if e.CorrelationID != "" {
		ids = append(ids, "correlation ID "+e.CorrelationID)
	}
	if len(ids) > 0 {
		b.WriteString(" (" + strings.Join(ids, ", ") + ")")
	}
	return b.String()
}

// Is reports whether e matches ErrDeclined or ErrConsentRequired.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrDeclined:
		if e.AADSTSCode != 0 {
			return e.AADSTSCode == 65004
		}
		return e.ErrorCode == "access_denied" || e.ErrorCode == "permission_denied"
	case ErrConsentRequired:
		switch e.AADSTSCode {
		case 65001, 90094, 90095:
			return true
		}
	}
	return false
}

// maxDescription bounds what an error keeps from the attacker-reachable
// callback URL.
const maxDescription = 1024

var (
	reAADSTS      = regexp.MustCompile(`AADSTS(\d{1,9})\b`)
	reTrace       = regexp.MustCompile(`(?i)Trace ID:\s*([0-9a-f-]{8,64})`)
	reCorrelation = regexp.MustCompile(`(?i)Correlation ID:\s*([0-9a-f-]{8,64})`)
	reTimestamp   = regexp.MustCompile(`(?i)Timestamp:\s*(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)`)
	reTrailer     = regexp.MustCompile(`(?is)\s*(Trace ID:|Correlation ID:|Timestamp:).*$`)
)

// newError builds an Error from the redirect's error and
// error_description, pulling out the AADSTS code, the trace and correlation
// IDs and the timestamp that Entra appends to the description.
func newError(code, description string) *Error {
	e := &Error{ErrorCode: clean(code, 64)}
	if m := reAADSTS.FindStringSubmatch(description); m != nil {
		e.AADSTSCode, _ = strconv.Atoi(m[1])
	}
	if m := reTrace.FindStringSubmatch(description); m != nil {
		e.TraceID = m[1]
	}
	if m := reCorrelation.FindStringSubmatch(description); m != nil {
		e.CorrelationID = m[1]
	}
	if m := reTimestamp.FindStringSubmatch(description); m != nil {
		ts := strings.Replace(m[1], " ", "T", 1)
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			e.Timestamp = t.UTC()
		}
	}
	e.ErrorDescription = clean(reTrailer.ReplaceAllString(description, ""), maxDescription)
	return e
}

// clean replaces control characters with spaces, collapses runs of space,
// and cuts s to at most n bytes, so text from a URL is safe to log.
func clean(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == ' ' || r == '\u2028' || r == '\u2029'
	}), " ")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}
