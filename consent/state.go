package consent

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/m365kit/m365kit/scopes"
)

// The state token is
//
//	"c1." + base64url(JSON payload) + "." + base64url(HMAC-SHA256(key, stateContext + base64url(payload)))
//
// The context string keeps a state signed for consent from being accepted
// anywhere else that happens to share the key.
const (
	statePrefix  = "c1."
	stateContext = "m365kit/consent/state/v1\x00"
	// maxState bounds what Complete is willing to decode.
	maxState = 4096
	// maxClockSkew is how far in the future an issue time may lie, for
	// backends whose clocks differ a little.
	maxClockSkew = 5 * time.Minute
)

// statePayload is what the state carries, in short JSON names.
type statePayload struct {
	Nonce    string   `json:"n"`
	Issued   int64    `json:"i"`
	Expires  int64    `json:"e"`
	Tenant   string   `json:"t,omitempty"`
	Features []string `json:"f,omitempty"`
	Scopes   []string `json:"s,omitempty"`
	ReturnTo string   `json:"r,omitempty"`
}

// sign returns a fresh state for the validated request.
func (f *Flow) sign(r request) (state, nonce string, err error) {
	now := f.now()
	p := statePayload{
		Nonce:    rand.Text(),
		Issued:   now.Unix(),
		Expires:  now.Add(f.ttl).Unix(),
		Tenant:   r.tenant,
		Scopes:   r.explicit,
		ReturnTo: r.returnTo,
	}
	for _, ft := range r.features {
		p.Features = append(p.Features, string(ft))
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return "", "", fmt.Errorf("consent: encoding state: %w", err)
	}
	body := base64.RawURLEncoding.EncodeToString(raw)
	return statePrefix + body + "." + base64.RawURLEncoding.EncodeToString(f.mac(body)), p.Nonce, nil
}

func (f *Flow) mac(body string) []byte {
	m := hmac.New(sha256.New, f.key)
	m.Write([]byte(stateContext))
	m.Write([]byte(body))
	return m.Sum(nil)
}

// verifiedState is a state whose signature and lifetime checked out.
type verifiedState struct {
	nonce    string
	issued   time.Time
	tenant   string
	features []scopes.Feature
	explicit []string
	returnTo string
}

// requested returns the unqualified scope names the state asked for.
func (v *verifiedState) requested() []string {
	if len(v.explicit) > 0 {
		return v.explicit
	}
	return scopes.For(v.features...)
}

// verify checks the state's signature, then its lifetime, then its content.
// Every failure wraps ErrInvalidState; the message never repeats the state.
func (f *Flow) verify(state string) (*verifiedState, error) {
	if state == "" {
		return nil, fmt.Errorf("%w: the callback carries no state", ErrInvalidState)
	}
	if len(state) > maxState {
		return nil, fmt.Errorf("%w: state is %d bytes, longer than any this package issues", ErrInvalidState, len(state))
	}
	rest, ok := strings.CutPrefix(state, statePrefix)
	if !ok {
		return nil, fmt.Errorf("%w: state was not issued by this package", ErrInvalidState)
	}
	body, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return nil, fmt.Errorf("%w: state is malformed", ErrInvalidState)
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, f.mac(body)) {
		return nil, fmt.Errorf("%w: state signature does not match (tampered, or signed with another key)", ErrInvalidState)
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("%w: state is malformed", ErrInvalidState)
	}
	var p statePayload
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("%w: state is malformed", ErrInvalidState)
	}
	now := f.now()
	expires := time.Unix(p.Expires, 0)
	if !now.Before(expires) {
		return nil, fmt.Errorf("%w: consent link expired at %s; start again", ErrInvalidState, expires.UTC().Format(time.RFC3339))
	}
	issued := time.Unix(p.Issued, 0)
	if issued.After(now.Add(maxClockSkew)) || p.Nonce == "" {
		return nil, fmt.Errorf("%w: state is malformed", ErrInvalidState)
	}
	v := &verifiedState{nonce: p.Nonce, issued: issued.UTC(), tenant: p.Tenant, explicit: p.Scopes, returnTo: p.ReturnTo}
	for _, s := range p.Features {
		ft, err := scopes.ParseFeature(s)
		if err != nil {
			return nil, fmt.Errorf("%w: state names an unknown feature", ErrInvalidState)
		}
		v.features = append(v.features, ft)
	}
	// Signed by us, so these hold; checked again so a leaked key cannot
	// turn the callback into an open redirect.
	if checkReturnTo(p.ReturnTo) != nil {
		return nil, fmt.Errorf("%w: state carries an unsafe ReturnTo", ErrInvalidState)
	}
	return v, nil
}
