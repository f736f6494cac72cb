// Package neterr sorts transport errors for the retry loops of graphclient
// and auth. Transient recognises the failures another attempt may not
// meet (timeouts, dropped or refused connections). Unreachable recognises
// those no retry can fix because the host cannot be reached at all: its
// name does not resolve, or it presents a certificate from an authority
// the client does not trust. Both are what a program sees when one of its
// HTTP clients still points at Microsoft's cloud while the rest talks to a
// graphtest fake.
package neterr

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"reflect"
	"strings"
	"syscall"
)

// Unreachable reports whether err says its host cannot be reached by name
// or by trust, and a short reason: "no such host" or "certificate signed
// by unknown authority".
func Unreachable(err error) (reason string, ok bool) {
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		return "no such host", true
	}
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		return "certificate signed by unknown authority", true
	}
	return "", false
}

// microsoftHosts are the production hosts a graphtest fake stands in for.
var microsoftHosts = []string{"graph.microsoft.com", "login.microsoftonline.com"}

// IsMicrosoftHost reports whether host (with or without a port) is one of
// the Microsoft cloud hosts graphtest fakes.
func IsMicrosoftHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	for _, m := range microsoftHosts {
		if strings.EqualFold(host, m) {
			return true
		}
	}
	return false
}

// Error is an unreachable-host failure in one short line. It wraps the
// transport error, so errors.As still finds the *net.DNSError or
// x509.UnknownAuthorityError underneath.
type Error struct {
	// Prefix says what failed, such as "graphclient: GET me/events".
	Prefix string
	// Host is the host that could not be reached.
	Host string
	// Reason is what Unreachable returned.
	Reason string
	// Hint says how to fix it; empty for none.
	Hint string
	// Err is the transport error.
	Err error
}

// Error returns "<prefix>: cannot reach <host>: <reason>[ (<hint>)]".
func (e *Error) Error() string {
	s := e.Prefix + ": cannot reach " + e.Host + ": " + e.Reason
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Unwrap returns the transport error.
func (e *Error) Unwrap() error { return e.Err }

// Transient reports whether err, returned by an HTTP client's Do or while
// reading a response body, is a transport failure that another attempt may
// not meet: a timeout (of a dial, a TLS handshake, a read or the client),
// a connection refused, reset, aborted or closed mid-exchange (EOF), a
// failed socket operation (*net.OpError) or an HTTP/2 stream reset or
// GOAWAY. Anything else is not: an error a RoundTripper made up (a
// recording that holds no answer, a test's fake) would fail the same way
// again, and retrying it only delays the error. Names that do not resolve
// and untrusted certificates (see Unreachable) are not transient, nor are
// context errors other than timeouts: callers check their own context
// before asking.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if _, unreachable := Unreachable(err); unreachable {
		return false
	}
	var ci x509.CertificateInvalidError
	var hn x509.HostnameError
	if errors.As(err, &ci) || errors.As(err, &hn) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	return http2Reset(err)
}

// http2Reset reports whether err is net/http's HTTP/2 stream reset or
// GOAWAY: the server (or a proxy) reset the stream or shut the connection
// down, as it does when a handler aborts. Their types are unexported, so
// they are recognised by name.
func http2Reset(err error) bool {
	for err != nil {
		if t := reflect.TypeOf(err); t.PkgPath() == "net/http" {
			switch t.Name() {
			case "http2StreamError", "http2GoAwayError":
				return true
			}
		}
		if s := err.Error(); strings.HasPrefix(s, "http2: client connection lost") || s == "http: server closed idle connection" {
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}
