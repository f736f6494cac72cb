package graphtest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// b64 is the JWT flavour of base64: URL alphabet, no padding.
var b64 = base64.RawURLEncoding

// signingKey is the authority's ID-token signing key with its key ID.
type signingKey struct {
	key *rsa.PrivateKey
	kid string
}

// parseSigningKey decodes signingKeyPEM.
func parseSigningKey() (*signingKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(signingKeyPEM)))
	if block == nil {
		return nil, errors.New("graphtest: signing key: no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("graphtest: signing key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("graphtest: signing key is %T, not RSA", k)
	}
	der, err := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("graphtest: signing key: %w", err)
	}
	sum := sha1.Sum(der)
	return &signingKey{key: rk, kid: b64.EncodeToString(sum[:])}, nil
}

// jwk is one key of a JSON Web Key Set, as Entra's keys endpoint lists it.
type jwk struct {
	Kty    string `json:"kty"`
	Use    string `json:"use"`
	Kid    string `json:"kid"`
	X5t    string `json:"x5t"`
	N      string `json:"n"`
	E      string `json:"e"`
	Issuer string `json:"issuer"`
}

// jwk returns the public half of k as a JWK valid for issuer.
func (k *signingKey) jwk(issuer string) jwk {
	return jwk{
		Kty: "RSA", Use: "sig", Kid: k.kid, X5t: k.kid,
		N:      b64.EncodeToString(k.key.N.Bytes()),
		E:      b64.EncodeToString(big.NewInt(int64(k.key.E)).Bytes()),
		Issuer: issuer,
	}
}

// sign returns a compact RS256 JWT of claims. With corrupt set the
// signature is damaged, so verification fails while the token still parses.
func (k *signingKey) sign(claims map[string]any, corrupt bool) (string, error) {
	header := map[string]string{"typ": "JWT", "alg": "RS256", "kid": k.kid}
	hb, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("graphtest: ID token claims: %w", err)
	}
	input := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, k.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("graphtest: signing ID token: %w", err)
	}
	if corrupt {
		sig[len(sig)/2] ^= 0xff
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// parsedJWT is a compact JWT split into its parts.
type parsedJWT struct {
	header map[string]any
	claims map[string]any
	input  string // header.payload, what the signature covers
	sig    []byte
}

// parseJWT splits and decodes a compact JWT without verifying it.
func parseJWT(raw string) (*parsedJWT, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("a JWT has 3 parts, this one %d", len(parts))
	}
	p := &parsedJWT{input: parts[0] + "." + parts[1]}
	for i, dst := range []*map[string]any{&p.header, &p.claims} {
		b, err := b64.DecodeString(parts[i])
		if err != nil {
			return nil, fmt.Errorf("JWT part %d: %w", i+1, err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			return nil, fmt.Errorf("JWT part %d: %w", i+1, err)
		}
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || len(sig) == 0 {
		return nil, errors.New("JWT signature is missing or not base64url")
	}
	p.sig = sig
	return p, nil
}

// verify checks the JWT's RS256 or PS256 signature against pub.
func (p *parsedJWT) verify(pub *rsa.PublicKey) error {
	sum := sha256.Sum256([]byte(p.input))
	switch alg, _ := p.header["alg"].(string); alg {
	case "RS256":
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], p.sig)
	case "PS256":
		return rsa.VerifyPSS(pub, crypto.SHA256, sum[:], p.sig, nil)
	default:
		return fmt.Errorf("JWT alg is %q, want RS256 or PS256", alg)
	}
}
