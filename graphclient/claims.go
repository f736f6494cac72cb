package graphclient

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
)

// authParam matches one auth-param of a WWW-Authenticate challenge:
// name=token or name="quoted string".
var authParam = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)`)

// claimsChallenge returns the claims request of a claims challenge among
// the WWW-Authenticate headers of a 401 (Bearer … error="insufficient_claims",
// claims="<base64 JSON>"), decoded to its JSON, or "" when there is none
// or it does not decode to JSON. All of a challenge's fields sit in one
// header, per Microsoft's claims-challenge format.
func claimsChallenge(h http.Header) string {
	for _, v := range h.Values("WWW-Authenticate") {
		params := map[string]string{}
		for _, m := range authParam.FindAllStringSubmatch(v, -1) {
			val := m[2]
			if strings.HasPrefix(val, `"`) {
				val = strings.ReplaceAll(strings.Trim(val, `"`), `\"`, `"`)
			}
			params[strings.ToLower(m[1])] = val
		}
		if !strings.EqualFold(params["error"], "insufficient_claims") || params["claims"] == "" {
			continue
		}
		raw := strings.TrimRight(params["claims"], "=")
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(raw); err == nil && json.Valid(b) {
				return string(b)
			}
		}
	}
	return ""
}
