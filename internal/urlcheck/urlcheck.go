// Package urlcheck holds the URL checks auth, consent and graphclient
// apply to the URLs in their configuration.
package urlcheck

import (
	"fmt"
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

// MaxLocalPath bounds a return-to path: it travels in a state parameter or
// a cookie.
const MaxLocalPath = 1024

// LocalPath checks p, where to send the browser after a round trip through
// Microsoft, against open redirects: empty, or a path on the same site
// starting with "/", without a scheme or host, without the "//" or "/\"
// prefix (browsers read "\" as "/"), backslashes or control characters,
// and at most MaxLocalPath bytes. The error says what is wrong; the caller
// names its field.
func LocalPath(p string) error {
	switch {
	case p == "":
		return nil
	case len(p) > MaxLocalPath:
		return fmt.Errorf("is %d bytes, want at most %d", len(p), MaxLocalPath)
	case p[0] != '/':
		return fmt.Errorf("%q is not a path starting with \"/\"", p)
	case len(p) > 1 && (p[1] == '/' || p[1] == '\\'):
		return fmt.Errorf("%q would leave the site (it starts with %q)", p, p[:2])
	}
	for _, c := range []byte(p) {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("%q contains a control character", p)
		}
		if c == '\\' {
			return fmt.Errorf("%q contains a backslash", p)
		}
	}
	if u, err := url.Parse(p); err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return fmt.Errorf("%q is not a path on this site", p)
	}
	return nil
}
