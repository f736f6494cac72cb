package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"testing"
)

// FuzzParseJWKS feeds the signing-keys parser arbitrary bodies, as a
// hostile or broken keys endpoint could send: it never panics, and every
// key it returns is one an ID token may be verified with (RSA of at least
// jwksMinRSABits, an odd public exponent of at least 3, a key ID).
func FuzzParseJWKS(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	good, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "kid": "k1", "n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
		"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
	}}})
	f.Add(good)
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"weak","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"even","n":"` + b64(key.N.Bytes()) + `","e":"Ag"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","kid":"ec","crv":"P-256","x":"AA","y":"AA"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		keys, err := parseJWKS(body)
		if err != nil {
			return
		}
		for kid, k := range keys {
			switch {
			case kid == "":
				t.Error("a key without a key ID")
			case k == nil || k.pub == nil:
				t.Errorf("key %q has no public key", kid)
			case k.pub.N.BitLen() < jwksMinRSABits:
				t.Errorf("key %q: %d-bit modulus accepted", kid, k.pub.N.BitLen())
			case k.pub.E < 3 || k.pub.E%2 == 0:
				t.Errorf("key %q: public exponent %d accepted", kid, k.pub.E)
			}
		}
	})
}
