// Package urlcheck holds the URL checks auth, consent and graphclient
// apply to the URLs in their configuration.
package urlcheck

import (
	"net"
	"net/url"
	"strings"
)

// IsLoopback reports whether host (without port) is localhost or a
// loopback IP address: the hosts where plain http is allowed.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Shown returns raw as an error message may quote it: scheme, host and
// path only. User info, query and fragment are left out, since
// configuration often carries secrets there; a string that does not
// parse as a URL is not shown at all.
func Shown(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(not a URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
}
