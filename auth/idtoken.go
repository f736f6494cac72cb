package auth

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// PersonalTenantID is the tenant every personal Microsoft account
// (outlook.com, live.com) signs in from. The App refuses its users.
const PersonalTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"

// idTokenSkew is the clock skew allowed on exp and nbf.
const idTokenSkew = 5 * time.Minute

// maxIDToken bounds the size of an ID token the SDK parses.
const maxIDToken = 16 << 10

// idClaims are the ID-token claims the SDK reads.
type idClaims struct {
	Iss               string   `json:"iss"`
	Aud               audience `json:"aud"`
	Exp               *numeric `json:"exp"`
	Nbf               *numeric `json:"nbf"`
	Tid               string   `json:"tid"`
	Oid               string   `json:"oid"`
	Sub               string   `json:"sub"`
	Nonce             string   `json:"nonce"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	UPN               string   `json:"upn"`
	Email             string   `json:"email"`
	IDP               string   `json:"idp"`
}

// audience is the aud claim: a string or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = audience{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return errors.New("aud is neither a string nor an array of strings")
	}
	*a = ss
	return nil
}

// numeric is a JWT NumericDate: seconds since the epoch, possibly fractional.
type numeric struct{ t time.Time }

func (n *numeric) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return errors.New("a time claim is not a number")
	}
	if f < 0 || f > 1e11 {
		return errors.New("a time claim is out of range")
	}
	sec := int64(f)
	n.t = time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
	return nil
}

// jwtHeader is the JOSE header of an ID token.
type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// signingKey is one RSA key of a tenant's JWKS.
type signingKey struct {
	pub *rsa.PublicKey
	// issuer limits the tokens the key may verify ("{tenantid}" is the
	// token's tid); empty means no limit.
	issuer string
}

// keyFunc returns the key kid of tenant tid.
type keyFunc func(ctx context.Context, tid, kid string) (*signingKey, error)

// idTokenCheck holds what validating an ID token needs.
type idTokenCheck struct {
	clientID            string
	nonce               string
	host                string // authority host, for the issuer
	now                 time.Time
	allowPersonalGuests bool
	allowTenant         func(tenantID string) bool
	keys                keyFunc
}

// invalid returns an ErrInvalidIDToken error explaining why.
func invalid(format string, args ...any) *Error {
	return &Error{Op: "sign in", Kind: ErrInvalidIDToken, Reason: fmt.Sprintf(format, args...)}
}

// validate checks raw as the OpenID Connect and Entra ID multi-tenant rules
// ask: RS256 signature against the tenant's keys, issuer built from the
// token's own tid, audience, lifetime with skew, nonce; then refuses
// personal accounts and tenants the app does not allow.
func (c *idTokenCheck) validate(ctx context.Context, raw string) (*idClaims, error) {
	if raw == "" {
		return nil, invalid("no ID token in the token response")
	}
	if len(raw) > maxIDToken {
		return nil, invalid("ID token is %d bytes, more than %d", len(raw), maxIDToken)
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, invalid("ID token has %d parts, want 3", len(parts))
	}
	var h jwtHeader
	if err := decodeSegment(parts[0], &h); err != nil {
		return nil, invalid("header: %v", err)
	}
	if h.Alg != "RS256" {
		return nil, invalid("alg is %q, want RS256", h.Alg)
	}
	var cl idClaims
	if err := decodeSegment(parts[1], &cl); err != nil {
		return nil, invalid("claims: %v", err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, invalid("signature is not base64url")
	}
	if !isGUID(cl.Tid) {
		return nil, invalid("tid %q is not a GUID", clip(cl.Tid))
	}
	if !isGUID(cl.Oid) {
		return nil, invalid("oid %q is not a GUID", clip(cl.Oid))
	}
	key, err := c.keys(ctx, cl.Tid, h.Kid)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key.pub, crypto.SHA256, digest[:], sig); err != nil {
		return nil, invalid("signature does not verify against the tenant's key %q", clip(h.Kid))
	}
	wantIss := "https://" + c.host + "/" + cl.Tid + "/v2.0"
	if cl.Iss != wantIss {
		return nil, invalid("issuer %q is not %q", clip(cl.Iss), wantIss)
	}
	if key.issuer != "" && strings.ReplaceAll(key.issuer, "{tenantid}", cl.Tid) != cl.Iss {
		return nil, invalid("key %q may not sign tokens of issuer %q", clip(h.Kid), clip(cl.Iss))
	}
	if len(cl.Aud) != 1 || !strings.EqualFold(cl.Aud[0], c.clientID) { // GUIDs: case does not matter
		return nil, invalid("audience %q is not this app's client ID", clip(strings.Join(cl.Aud, " ")))
	}
	if cl.Exp == nil {
		return nil, invalid("no exp claim")
	}
	if !c.now.Before(cl.Exp.t.Add(idTokenSkew)) {
		return nil, invalid("expired at %s", cl.Exp.t.Format(time.RFC3339))
	}
	if cl.Nbf != nil && c.now.Add(idTokenSkew).Before(cl.Nbf.t) {
		return nil, invalid("not valid before %s", cl.Nbf.t.Format(time.RFC3339))
	}
	if c.nonce == "" || subtle.ConstantTimeCompare([]byte(cl.Nonce), []byte(c.nonce)) != 1 {
		return nil, invalid("nonce does not match the sign-in request")
	}
	if strings.EqualFold(cl.Tid, PersonalTenantID) {
		return nil, &Error{Op: "sign in", Kind: ErrAccountNotAllowed, Reason: "personal Microsoft accounts cannot sign in; use a work or school account"}
	}
	if !c.allowPersonalGuests && (strings.EqualFold(cl.IDP, "live.com") || strings.Contains(strings.ToLower(cl.IDP), PersonalTenantID)) {
		return nil, &Error{Op: "sign in", Kind: ErrAccountNotAllowed, Reason: "personal Microsoft accounts invited as guests cannot sign in"}
	}
	if c.allowTenant != nil && !c.allowTenant(strings.ToLower(cl.Tid)) {
		return nil, &Error{Op: "sign in", Kind: ErrAccountNotAllowed, Reason: "tenant " + cl.Tid + " is not allowed"}
	}
	return &cl, nil
}

// decodeSegment decodes one base64url JWT segment as JSON into v.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return errors.New("not base64url")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errors.New("not a JSON object of the expected shape")
	}
	return nil
}

// isGUID reports whether s is a GUID in its 8-4-4-4-12 hex form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// clip shortens attacker-controlled text quoted in errors.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// jwksCache fetches and caches each tenant's signing keys from
// https://{host}/{tid}/discovery/v2.0/keys. Concurrent lookups for one
// tenant share one fetch; a fetch for one tenant never holds up another's
// lookups. It is safe for concurrent use.
type jwksCache struct {
	hc   *http.Client
	host string
	now  func() time.Time

	mu       sync.Mutex
	sets     map[string]*keySet
	fetching map[string]*jwksFetch // in-progress fetches by tenant
}

type keySet struct {
	keys    map[string]*signingKey
	fetched time.Time
}

// jwksFetch is one in-progress fetch of a tenant's keys.
type jwksFetch struct {
	done chan struct{}
	err  error // set before done is closed
}

const (
	jwksTTL         = 24 * time.Hour  // refetch a tenant's keys this often
	jwksMinRefetch  = 5 * time.Minute // but on an unknown kid at most this often
	jwksMaxTenants  = 10000           // cache bound
	jwksMaxBodySize = 1 << 20         // response size limit
	jwksMinRSABits  = 2048            // weakest key accepted
)

func newJWKSCache(hc *http.Client, host string, now func() time.Time) *jwksCache {
	return &jwksCache{hc: hc, host: host, now: now, sets: map[string]*keySet{}, fetching: map[string]*jwksFetch{}}
}

// key returns key kid of tenant tid, fetching the tenant's key set when it
// is not cached, stale, or lacks kid (keys rotate; an unknown kid triggers
// a fetch at most every jwksMinRefetch).
func (j *jwksCache) key(ctx context.Context, tid, kid string) (*signingKey, error) {
	tid = strings.ToLower(tid)
	for {
		j.mu.Lock()
		now := j.now()
		if ks := j.sets[tid]; ks != nil && now.Sub(ks.fetched) < jwksTTL {
			if k := ks.keys[kid]; k != nil {
				j.mu.Unlock()
				return k, nil
			}
			if now.Sub(ks.fetched) < jwksMinRefetch {
				j.mu.Unlock()
				return nil, invalid("signing key %q is not among the tenant's keys", clip(kid))
			}
		}
		if f := j.fetching[tid]; f != nil {
			// Another sign-in is fetching this tenant's keys: wait for
			// it, then look again.
			j.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if f.err != nil && !(isContextErr(f.err) && ctx.Err() == nil) {
				return nil, f.err
			}
			continue
		}
		f := &jwksFetch{done: make(chan struct{})}
		j.fetching[tid] = f
		j.mu.Unlock()

		keys, err := j.fetch(ctx, tid)
		j.mu.Lock()
		delete(j.fetching, tid)
		if err == nil {
			if _, ok := j.sets[tid]; !ok && len(j.sets) >= jwksMaxTenants {
				for t := range j.sets { // drop one arbitrary tenant
					delete(j.sets, t)
					break
				}
			}
			j.sets[tid] = &keySet{keys: keys, fetched: j.now()}
		}
		f.err = err
		j.mu.Unlock()
		close(f.done)
		if err != nil {
			return nil, err
		}
		if k := keys[kid]; k != nil {
			return k, nil
		}
		return nil, invalid("signing key %q is not among the tenant's keys", clip(kid))
	}
}

// isContextErr reports whether err comes from a context ending.
func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// fetch downloads and parses the tenant's JWKS.
func (j *jwksCache) fetch(ctx context.Context, tid string) (map[string]*signingKey, error) {
	u := "https://" + j.host + "/" + tid + "/discovery/v2.0/keys"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, &Error{Op: "sign in", Kind: ErrTransient, Reason: "fetching signing keys", Err: err}
	}
	resp, err := j.hc.Do(req)
	if err != nil {
		return nil, &Error{Op: "sign in", Kind: ErrTransient, Reason: "fetching signing keys", Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, jwksMaxBodySize))
	if err != nil {
		return nil, &Error{Op: "sign in", Kind: ErrTransient, Reason: "reading signing keys", Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		kind := ErrInvalidIDToken
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			kind = ErrTransient
		}
		return nil, &Error{Op: "sign in", Kind: kind, StatusCode: resp.StatusCode, Reason: "signing keys endpoint answered " + resp.Status}
	}
	return parseJWKS(body)
}

// parseJWKS parses a JSON Web Key Set, keeping its RSA signing keys.
func parseJWKS(body []byte) (map[string]*signingKey, error) {
	var doc struct {
		Keys []struct {
			Kty    string `json:"kty"`
			Use    string `json:"use"`
			Kid    string `json:"kid"`
			N      string `json:"n"`
			E      string `json:"e"`
			Issuer string `json:"issuer"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, invalid("signing keys are not a JSON Web Key Set")
	}
	out := map[string]*signingKey{}
	for _, k := range doc.Keys {
		if k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") || k.Kid == "" {
			continue
		}
		nb, err1 := base64.RawURLEncoding.DecodeString(k.N)
		eb, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(eb) == 0 || len(eb) > 4 {
			continue
		}
		n := new(big.Int).SetBytes(nb)
		e := int(new(big.Int).SetBytes(eb).Int64())
		if n.BitLen() < jwksMinRSABits || e < 3 || e%2 == 0 {
			continue
		}
		out[k.Kid] = &signingKey{pub: &rsa.PublicKey{N: n, E: e}, issuer: k.Issuer}
	}
	return out, nil
}
