package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/m365kit/m365kit/scopes"
)

// Pending is a sign-in in progress: what SignInURL generated and
// CompleteSignIn needs back. It holds secrets (the PKCE verifier), so keep
// it server-side or in the sealed cookie PendingCookie makes; never in a
// URL or a log.
type Pending struct {
	// State is the value the authority echoes on the callback.
	State string `json:"s"`
	// Nonce is the value the ID token must carry.
	Nonce string `json:"n"`
	// Verifier is the PKCE code verifier.
	Verifier string `json:"v"`
	// Features are the features the sign-in asked consent for.
	Features []scopes.Feature `json:"f,omitempty"`
	// Expires is when the sign-in stops being accepted.
	Expires time.Time `json:"e"`
	// ReturnTo is SignInRequest.ReturnTo: empty or a path on the
	// application's own site (SignInURL checked it), safe to redirect to.
	ReturnTo string `json:"r,omitempty"`
}

// PendingCookieName is the name of the cookie PendingCookie makes.
const PendingCookieName = "m365kit_signin"

// maxCookie bounds the cookie value ReadPendingCookie accepts.
const maxCookie = 4096

// PendingCookie returns a cookie holding p sealed with AES-256-GCM under
// key (32 bytes): the browser can neither read nor change it. It is
// HttpOnly, Secure and SameSite=None, because the authority posts the
// callback form from its own site (response_mode=form_post), and it
// expires with p.
func PendingCookie(key []byte, p Pending) (*http.Cookie, error) {
	aead, err := cookieAEAD(key)
	if err != nil {
		return nil, err
	}
	plain, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("auth: pending cookie: %w", err)
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	_, _ = rand.Read(nonce)
	sealed := aead.Seal(nonce, nonce, plain, []byte(PendingCookieName))
	c := &http.Cookie{
		Name:     PendingCookieName,
		Value:    base64.RawURLEncoding.EncodeToString(sealed),
		Path:     "/",
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteNoneMode,
	}
	if !p.Expires.IsZero() {
		c.Expires = p.Expires.UTC()
	}
	return c, nil
}

// ClearPendingCookie returns a cookie that deletes the pending-sign-in
// cookie; set it once the sign-in completed or failed.
func ClearPendingCookie() *http.Cookie {
	return &http.Cookie{Name: PendingCookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteNoneMode}
}

// ReadPendingCookie returns the Pending sealed in r's cookie. It checks
// that key sealed it and nobody changed it; CompleteSignIn checks expiry.
func ReadPendingCookie(r *http.Request, key []byte) (Pending, error) {
	c, err := r.Cookie(PendingCookieName)
	if err != nil {
		return Pending{}, &Error{Op: "sign in", Kind: ErrInvalidState, Reason: "no pending sign-in cookie"}
	}
	return openPending(key, c.Value)
}

// openPending opens a sealed cookie value.
func openPending(key []byte, value string) (Pending, error) {
	aead, err := cookieAEAD(key)
	if err != nil {
		return Pending{}, err
	}
	bad := &Error{Op: "sign in", Kind: ErrInvalidState, Reason: "pending sign-in cookie is not valid"}
	if len(value) > maxCookie {
		return Pending{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return Pending{}, bad
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(PendingCookieName))
	if err != nil {
		return Pending{}, bad
	}
	var p Pending
	if err := json.Unmarshal(plain, &p); err != nil {
		return Pending{}, bad
	}
	return p, nil
}

func cookieAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("auth: pending cookie: key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errors.New("auth: pending cookie: bad key")
	}
	return cipher.NewGCM(block)
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
