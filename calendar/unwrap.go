package calendar

import (
	"encoding/base64"
	"net/url"
	"strings"
	"unicode/utf8"
)

// unwrapOnce removes one layer of link rewriting: Outlook SafeLinks,
// Proofpoint URL Defense v1/v2/v3, Mimecast (when the target is in the
// URL), Barracuda, FireEye, Trend Micro and Google redirects. ok is false
// when u is not a wrapper or its target cannot be recovered.
func unwrapOnce(u *url.URL) (*url.URL, bool) {
	host := strings.ToLower(u.Hostname())
	var target string
	switch {
	case strings.HasSuffix(host, ".safelinks.protection.outlook.com"),
		strings.HasSuffix(host, ".safelinks.protection.office365.us"),
		strings.HasSuffix(host, ".safelinks.protection.outlook.us"),
		strings.HasSuffix(host, ".safelinks.protection.outlook.cn"):
		target = u.Query().Get("url")
	case host == "urldefense.proofpoint.com" && strings.HasPrefix(u.Path, "/v2/"):
		target = proofpointV2(u.Query().Get("u"))
	case host == "urldefense.proofpoint.com" && strings.HasPrefix(u.Path, "/v1/"):
		target = u.Query().Get("u")
	case host == "urldefense.com" && strings.HasPrefix(u.Path, "/v3/__"):
		target = proofpointV3(u)
	case strings.HasSuffix(host, "mimecast.com"), strings.HasSuffix(host, "mimecastprotect.com"):
		// Mimecast's short links (/s/<code>?domain=…) do not carry the
		// target; only the older forms with a url parameter do.
		q := u.Query()
		target = q.Get("url")
		if target == "" {
			target = q.Get("u")
		}
	case host == "linkprotect.cudasvc.com":
		target = u.Query().Get("a")
	case host == "protect2.fireeye.com", host == "protect.fireeye.com":
		target = u.Query().Get("u")
	case strings.HasSuffix(host, ".trendmicro.com") && strings.Contains(u.Path, "/clicktime/"):
		target = u.Query().Get("url")
	case (host == "www.google.com" || host == "google.com") && u.Path == "/url":
		q := u.Query()
		target = q.Get("q")
		if target == "" {
			target = q.Get("url")
		}
	case host == "l.facebook.com" || host == "l.messenger.com":
		target = u.Query().Get("u")
	default:
		return nil, false
	}
	if target == "" {
		return nil, false
	}
	next, ok := parseCandidate(target)
	if !ok || next.String() == u.String() {
		return nil, false
	}
	return next, true
}

// proofpointV2 decodes a URL Defense v2 u= value: "_" stands for "/" and
// "-XX" for the byte %XX.
func proofpointV2(s string) string {
	if s == "" {
		return ""
	}
	s = strings.ReplaceAll(s, "_", "/")
	s = strings.ReplaceAll(s, "-", "%")
	out, err := url.PathUnescape(s)
	if err != nil {
		return ""
	}
	return out
}

// runLengths is the alphabet URL Defense v3 uses for run lengths after
// "**": the character at index i means i+2 replaced characters.
const runLengths = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// proofpointV3 decodes https://urldefense.com/v3/__<url>__;<b64>!!<sig>$:
// each "*" in <url> stands for the next character of base64url(<b64>), and
// "**X" for a run of them whose length X encodes.
func proofpointV3(u *url.URL) string {
	raw := u.EscapedPath()
	if u.RawQuery != "" || u.ForceQuery {
		raw += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		raw += "#" + u.EscapedFragment()
	}
	rest, ok := strings.CutPrefix(raw, "/v3/__")
	if !ok {
		return ""
	}
	end := strings.LastIndex(rest, "__;")
	if end < 0 {
		end = strings.LastIndex(rest, "__")
		if end < 0 {
			return ""
		}
		return rest[:end]
	}
	inner, tail := rest[:end], rest[end+3:]
	if !strings.Contains(inner, "*") {
		return inner
	}
	enc := tail
	if k := strings.IndexByte(enc, '!'); k >= 0 {
		enc = enc[:k]
	}
	dec, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(enc, "="))
	if err != nil {
		return ""
	}
	repl := string(dec)
	var b strings.Builder
	for i := 0; i < len(inner); i++ {
		if inner[i] != '*' {
			b.WriteByte(inner[i])
			continue
		}
		n := 1
		if i+2 < len(inner) && inner[i+1] == '*' {
			k := strings.IndexByte(runLengths, inner[i+2])
			if k < 0 {
				return ""
			}
			n = k + 2
			i += 2
		}
		for range n {
			r, size := utf8.DecodeRuneInString(repl)
			if size == 0 {
				return ""
			}
			b.WriteRune(r)
			repl = repl[size:]
		}
	}
	return b.String()
}
