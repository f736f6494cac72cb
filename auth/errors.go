package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/m365kit/m365kit/scopes"
)

// Sentinel errors. Every error the App returns for one of these outcomes
// is an *Error that matches the sentinel with errors.Is.
var (
	// ErrNotSignedIn means the store holds no tokens for the account: the
	// user never signed in, or signed out.
	ErrNotSignedIn = errors.New("auth: not signed in")
	// ErrReauthRequired means the user must sign in again interactively:
	// the refresh token was revoked or expired through inactivity, the
	// password was reset, or multi-factor authentication or a Conditional
	// Access policy now requires interaction. Error.Claims carries the
	// claims challenge to pass to the next sign-in, if Entra sent one.
	ErrReauthRequired = errors.New("auth: the user must sign in again")
	// ErrConsentRequired means nobody consented to some permission the
	// request needs. Error.Missing names the permissions.
	ErrConsentRequired = errors.New("auth: consent required")
	// ErrTransient means Entra ID or the network failed in a way that a
	// later retry may fix; the App already retried where that was safe.
	// It also covers a token answer with status 200 that does not decode
	// or lacks what a token response must hold (a proxy's page, a
	// truncated body, a field of an unexpected type): the tokens in it
	// cannot be read, so they are not saved; the stored ones stay, and the
	// next call refreshes again. Error.Reason says which case it was.
	ErrTransient = errors.New("auth: temporary failure")
	// ErrInvalidState means a sign-in callback did not carry the state of
	// the pending sign-in (forged, replayed or mixed-up requests) or the
	// pending sign-in expired.
	ErrInvalidState = errors.New("auth: sign-in state does not match")
	// ErrInvalidIDToken means the ID token failed validation: signature,
	// issuer, audience, lifetime or nonce.
	ErrInvalidIDToken = errors.New("auth: invalid ID token")
	// ErrAccountNotAllowed means the account is a personal Microsoft
	// account, or its tenant is one Config.AllowTenant refuses.
	ErrAccountNotAllowed = errors.New("auth: account not allowed")
	// ErrSignInFailed means the authority redirected back with an error
	// (the user declined, the tenant blocked the app...), or refused the
	// authorization code.
	ErrSignInFailed = errors.New("auth: sign-in failed")
)

// Error is the error type of this package. Kind says which sentinel it
// matches; the other fields carry what support needs. It never holds a
// token, code or secret, and nothing it wraps does: MSAL's errors (whose
// text can quote a whole token response, and whose request can be sent
// again with the app's secret and the user's refresh token or code and
// PKCE verifier) are read for their details and dropped, never wrapped.
type Error struct {
	// Op is what failed: "sign in", "token" or "sign out".
	Op string
	// AccountID is the account (oid.tid) the operation was for, if known.
	AccountID string
	// Reason explains failures the SDK itself detected, such as which
	// ID-token check failed.
	Reason string
	// Code is the OAuth error code Entra returned ("invalid_grant").
	Code string
	// SubError is Entra's suberror ("bad_token", "consent_required").
	SubError string
	// Codes are the AADSTS numbers Entra returned.
	Codes []int
	// Description is Entra's error_description (it may name the user).
	Description string
	// Claims is the claims challenge Entra sent with the error, to pass to
	// the next interactive sign-in.
	Claims string
	// Missing lists the permissions that lack consent, for
	// ErrConsentRequired from a Source: the requested scopes the user's
	// last token did not carry. A sign-in refused for consent leaves it
	// empty; the authority does not say which permissions it lacked.
	Missing []scopes.Permission
	// StatusCode is the HTTP status of the failed token request, if any.
	StatusCode int
	// CorrelationID and TraceID identify the request for Microsoft support.
	CorrelationID string
	TraceID       string
	// Timestamp is when Entra answered, from its error body's timestamp
	// or else the response's Date header; zero when unknown.
	Timestamp time.Time
	// Kind is the sentinel the error matches (ErrReauthRequired, ...).
	Kind error
	// Err is the underlying error, if any.
	Err error

	// loaded is the SHA-256 of the stored blob the failed refresh started
	// from, to notice another process's rotation. Never the blob itself:
	// it holds the refresh token, and %#v prints unexported fields.
	loaded [sha256.Size]byte
}

// Error returns a one-line summary: the operation, the kind, the OAuth
// error and AADSTS code. It holds no secrets.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("auth: ")
	b.WriteString(e.Op)
	if e.AccountID != "" {
		b.WriteString(" for " + e.AccountID)
	}
	if e.Kind != nil {
		b.WriteString(": " + strings.TrimPrefix(e.Kind.Error(), "auth: "))
	}
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	if e.Code != "" {
		b.WriteString(": " + e.Code)
		if e.SubError != "" {
			b.WriteString("/" + e.SubError)
		}
	}
	if n := e.AADSTS(); n != 0 {
		fmt.Fprintf(&b, " (AADSTS%d)", n)
	}
	if len(e.Missing) > 0 {
		names := make([]string, len(e.Missing))
		for i, p := range e.Missing {
			names[i] = p.Name
		}
		b.WriteString(": missing " + strings.Join(names, ", "))
	}
	if e.CorrelationID != "" {
		b.WriteString(" correlation-id " + e.CorrelationID)
	}
	if e.Err != nil && e.Code == "" && e.Reason == "" {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// AADSTS returns the first AADSTS code of the error, or 0. consent.Diagnose
// uses it to explain the error.
func (e *Error) AADSTS() int {
	if len(e.Codes) > 0 {
		return e.Codes[0]
	}
	// Fall back to the description's "AADSTSnnnnn:" prefix.
	if d, ok := strings.CutPrefix(e.Description, "AADSTS"); ok {
		end := strings.IndexFunc(d, func(r rune) bool { return r < '0' || r > '9' })
		if end > 0 {
			n, _ := strconv.Atoi(d[:end])
			return n
		}
	}
	return 0
}

// Is reports whether e is of the kind target names.
func (e *Error) Is(target error) bool { return e.Kind != nil && e.Kind == target }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// entraError is Entra's token-endpoint error body.
type entraError struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	Codes         []int  `json:"error_codes"`
	SubError      string `json:"suberror"`
	Claims        string `json:"claims"`
	CorrelationID string `json:"correlation_id"`
	TraceID       string `json:"trace_id"`
	Timestamp     string `json:"timestamp"`
}

// classify turns an MSAL error into an *Error. requested are the Graph
// scopes asked for; granted (may be nil) those known to be consented.
//
// MSAL's error is never kept: its text may quote a token response whole
// (a 200 answer that does not decode), and its request can be replayed
// with the client secret and the refresh token or code. classify copies
// out what callers need and wraps only errors known to hold no secret:
// context errors and network errors (see safeCause).
func classify(op, accountID string, err error, requested, granted []string) *Error {
	e := &Error{Op: op, AccountID: accountID, Kind: ErrTransient}
	var ce msalerrors.CallErr
	if !errors.As(err, &ce) || ce.Resp == nil {
		var bad msalerrors.InvalidJsonErr
		switch {
		case errors.As(err, &bad):
			// Status 200 (or 201), but the body does not decode: a proxy's
			// page, a truncated body, a field of an unexpected type. Any
			// tokens in it cannot be read, so they cannot be saved; the
			// stored tokens stay as they were (Entra does not revoke a
			// refresh token when it issues the next one), and a later
			// call asks again.
			e.Reason = "Entra's answer (status 200) does not decode; tokens in it, if any, were not saved"
		case safeCause(err) != nil:
			e.Err = safeCause(err)
			e.Reason = "network: " + e.Err.Error()
		case strings.Contains(err.Error(), "no token found"):
			e.Kind = ErrNotSignedIn
			e.Reason = "no refresh token stored"
		case strings.Contains(err.Error(), "declined scopes are present"):
			e.Reason = "the token endpoint's answer lacks requested scopes; its tokens were not saved"
		default:
			// MSAL refused an answer that decoded (no access_token, no
			// expiry, a malformed client_info or ID token) or failed
			// before sending. Its text may quote the answer.
			e.Reason = "MSAL could not use the token endpoint's answer; tokens in it, if any, were not saved"
		}
		return e
	}
	e.StatusCode = ce.Resp.StatusCode
	var body entraError
	if ce.Resp.Body != nil {
		raw, _ := io.ReadAll(io.LimitReader(ce.Resp.Body, 64<<10))
		_ = json.Unmarshal(raw, &body)
	}
	e.Code, e.SubError, e.Codes, e.Claims = body.Error, body.SubError, body.Codes, body.Claims
	e.CorrelationID, e.TraceID = body.CorrelationID, body.TraceID
	if e.CorrelationID == "" {
		e.CorrelationID = ce.Resp.Header.Get("client-request-id")
	}
	if e.TraceID == "" {
		e.TraceID = ce.Resp.Header.Get("x-ms-request-id")
	}
	if t, err := time.Parse("2006-01-02 15:04:05Z", body.Timestamp); err == nil {
		e.Timestamp = t.UTC()
	} else if t, err := http.ParseTime(ce.Resp.Header.Get("Date")); err == nil {
		e.Timestamp = t.UTC()
	}
	if d, _, ok := strings.Cut(body.Description, "\r\n"); ok {
		e.Description = d
	} else {
		e.Description = body.Description
	}
	if body.Error == "" {
		// Not Entra's error body (a proxy's page, an empty body): its
		// text is never kept, it could echo the request.
		e.Reason = "the token endpoint answered HTTP " + strconv.Itoa(e.StatusCode)
	}
	switch {
	case body.Error == "consent_required" || body.SubError == "consent_required" || slices.Contains(body.Codes, 65001):
		e.Kind = ErrConsentRequired
		e.Missing = missingPermissions(requested, granted)
	case body.Error == "invalid_grant" || body.Error == "interaction_required" || body.Error == "login_required":
		e.Kind = ErrReauthRequired
	case body.Error == "temporarily_unavailable" || e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests:
		e.Kind = ErrTransient
	default:
		// invalid_client, unauthorized_client, invalid_scope...: the
		// app's configuration, not the user. Retrying does not help, so
		// it is not ErrTransient.
		e.Kind = nil
	}
	return e
}

// safeCause returns what of err may be kept in an *Error: the context's
// error when a context ended, or the network failure (a *url.Error naming
// the endpoint, without its query); nil for anything else.
func safeCause(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		return nil
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil {
		return nil
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
}

// missingPermissions returns the catalog entries of requested that granted
// does not cover; with granted unknown, every requested one.
func missingPermissions(requested, granted []string) []scopes.Permission {
	var out []scopes.Permission
	have := map[string]bool{}
	for _, g := range granted {
		have[strings.ToLower(scopes.Normalize(g))] = true
	}
	for _, r := range requested {
		n := scopes.Normalize(r)
		if have[strings.ToLower(n)] {
			continue
		}
		p, ok := scopes.ByName(n)
		if !ok {
			p = scopes.Permission{Name: n}
		}
		out = append(out, p)
	}
	return out
}

// isCallErr reports whether err came from an HTTP call to Entra.
func isCallErr(err error) bool {
	var ce msalerrors.CallErr
	return errors.As(err, &ce)
}
