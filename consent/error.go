package consent

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
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
// correlation IDs Entra puts into the description. Its fields for Entra's
// error have the names of [auth.Error]'s (Code, Description, Codes,
// TraceID, CorrelationID). Quote TraceID and CorrelationID in a support
// ticket; Diagnose explains the AADSTS code. An Error is a plain value,
// safe for concurrent reads.
//
// [auth.Error]: https://pkg.go.dev/github.com/m365kit/m365kit/auth#Error
type Error struct {
	// Code is the OAuth error, such as "consent_required" or
	// "access_denied".
	Code string
	// Description is Microsoft's error_description without the trace
	// lines, such as "AADSTS65004: The resource owner or authorization
	// server denied the request.". Control characters are replaced by
	// spaces.
	Description string
	// Codes are the AADSTS numbers in the description ([65004]); empty
	// when there is none.
	Codes []int
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

// AADSTS returns the first AADSTS code, or 0. It makes *Error an
// [AADSTSCoder].
func (e *Error) AADSTS() int {
	if len(e.Codes) > 0 {
		return e.Codes[0]
	}
	return 0
}

// Error returns "consent: <error>: <description> (trace ID …, correlation ID …)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("consent: ")
	b.WriteString(e.Code)
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	} else if n := e.AADSTS(); n != 0 {
		fmt.Fprintf(&b, ": AADSTS%d", n)
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
		if n := e.AADSTS(); n != 0 {
			return n == 65004
		}
		return e.Code == "access_denied" || e.Code == "permission_denied"
	case ErrConsentRequired:
		switch e.AADSTS() {
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
	e := &Error{Code: clean(code, 64)}
	for _, m := range reAADSTS.FindAllStringSubmatch(description, 8) {
		if n, err := strconv.Atoi(m[1]); err == nil && !slices.Contains(e.Codes, n) {
			e.Codes = append(e.Codes, n)
		}
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
	e.Description = clean(reTrailer.ReplaceAllString(description, ""), maxDescription)
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
