// Package neterr recognises transport errors that no retry can fix
// because the host cannot be reached at all: its name does not resolve, or
// it presents a certificate from an authority the client does not trust.
// Both are what a program sees when one of its HTTP clients still points
// at Microsoft's cloud while the rest talks to a graphtest fake.
package neterr

import (
	"crypto/x509"
	"errors"
	"net"
	"strings"
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
