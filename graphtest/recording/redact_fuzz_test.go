package recording

import (
	"strings"
	"testing"
)

// FuzzRedact proves that no secret survives recording: whatever the value
// of the access, refresh and ID tokens, the authorization code, the PKCE
// verifier and challenge, the client secret and assertion, state, nonce,
// clientState, validation tokens and the Authorization, Cookie and
// Set-Cookie headers, in JSON bodies, forms, headers, URLs and fragments,
// the recording's file holds it in no form (raw, URL-, JSON- or
// base64url-encoded).
func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiIwMDAwMDAwMy0wMDAwIn0.c2lnbmF0dXJl",
		"0.AUoA7Q3hXk4_s3cr3t",
		"M.C547_BAY.0.U.-Cs*Aa!",
		"abc~DEF.ghi-JKL_mno",
		`q"uo\te&amp=#frag;semi`,
		"1.AXYA",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// A secret is printable, without spaces (headers refuse
		// control characters), and long enough to be one: the
		// markers around it keep it from matching the file's own text.
		s = strings.Map(func(r rune) rune {
			if r <= ' ' || r >= 0x7f {
				return -1
			}
			return r
		}, s)
		secret := "Sk3" + s + "9xQ"
		for len(secret) < 12 {
			secret += "_"
		}
		file := secretExchanges(t, secret, Config{})
		if l := leaks(file, secret); len(l) > 0 {
			t.Fatalf("secret %q survives recording as %q:\n%s", secret, l, file)
		}
	})
}
