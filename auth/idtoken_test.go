package auth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testClient = "6731de76-14a6-49ae-97bc-6eba6914391e"
	testTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	testOID    = "f1b6d5c3-0000-4f6e-9c44-1a2b3c4d5e6f"
	testNonce  = "n-0S6_WzA2Mj"
	testHost   = "login.microsoftonline.com"
)

var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

var testNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func goodClaims() map[string]any {
	return map[string]any{
		"iss": "https://" + testHost + "/" + testTenant + "/v2.0", "aud": testClient,
		"iat": testNow.Unix(), "nbf": testNow.Unix(), "exp": testNow.Add(time.Hour).Unix(),
		"tid": testTenant, "oid": testOID, "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
		"nonce": testNonce, "name": "Adele Vance", "preferred_username": "adele@contoso.com", "ver": "2.0",
	}
}

// mint signs claims with key under header.
func mint(header, claims map[string]any, key *rsa.PrivateKey) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	sum := sha256.Sum256([]byte(in))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func goodHeader() map[string]any { return map[string]any{"typ": "JWT", "alg": "RS256", "kid": "k1"} }

func testCheck() *idTokenCheck {
	return &idTokenCheck{
		clientID: testClient, nonce: testNonce, host: testHost, now: testNow,
		keys: func(_ context.Context, tid, kid string) (*signingKey, error) {
			if kid != "k1" {
				return nil, invalid("signing key %q is not among the tenant's keys", kid)
			}
			return &signingKey{pub: &testKey().PublicKey, issuer: "https://" + testHost + "/{tenantid}/v2.0"}, nil
		},
	}
}

func TestValidateIDToken(t *testing.T) {
	t.Parallel()
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		header func(h map[string]any)
		claims func(c map[string]any)
		key    *rsa.PrivateKey
		check  func(c *idTokenCheck)
		raw    string
		want   error
	}{
		{name: "valid"},
		{name: "aud as a one-element array", claims: func(c map[string]any) { c["aud"] = []string{testClient} }},
		{name: "client ID configured in upper case", check: func(c *idTokenCheck) { c.clientID = strings.ToUpper(testClient) }},
		{name: "expired within skew", claims: func(c map[string]any) { c["exp"] = testNow.Add(-4 * time.Minute).Unix() }},
		{name: "not before within skew", claims: func(c map[string]any) { c["nbf"] = testNow.Add(4 * time.Minute).Unix() }},
		{name: "expired", claims: func(c map[string]any) { c["exp"] = testNow.Add(-6 * time.Minute).Unix() }, want: ErrInvalidIDToken},
		{name: "no exp", claims: func(c map[string]any) { delete(c, "exp") }, want: ErrInvalidIDToken},
		{name: "exp not a number", claims: func(c map[string]any) { c["exp"] = "tomorrow" }, want: ErrInvalidIDToken},
		{name: "not yet valid", claims: func(c map[string]any) { c["nbf"] = testNow.Add(time.Hour).Unix() }, want: ErrInvalidIDToken},
		{name: "wrong audience", claims: func(c map[string]any) { c["aud"] = "00000003-0000-0000-c000-000000000000" }, want: ErrInvalidIDToken},
		{name: "two audiences", claims: func(c map[string]any) { c["aud"] = []string{testClient, "other"} }, want: ErrInvalidIDToken},
		{name: "wrong nonce", claims: func(c map[string]any) { c["nonce"] = "other" }, want: ErrInvalidIDToken},
		{name: "no nonce", claims: func(c map[string]any) { delete(c, "nonce") }, want: ErrInvalidIDToken},
		{name: "empty expected nonce", check: func(c *idTokenCheck) { c.nonce = "" }, claims: func(c map[string]any) { c["nonce"] = "" }, want: ErrInvalidIDToken},
		{name: "issuer of another tenant", claims: func(c map[string]any) {
			c["iss"] = "https://" + testHost + "/9f7e6c1a-1111-4b7a-8c5d-2e3f4a5b6c7d/v2.0"
		}, want: ErrInvalidIDToken},
		{name: "v1 issuer", claims: func(c map[string]any) { c["iss"] = "https://sts.windows.net/" + testTenant + "/" }, want: ErrInvalidIDToken},
		{name: "template issuer", claims: func(c map[string]any) { c["iss"] = "https://" + testHost + "/{tenantid}/v2.0" }, want: ErrInvalidIDToken},
		{name: "tid not a GUID", claims: func(c map[string]any) { c["tid"] = "contoso.com" }, want: ErrInvalidIDToken},
		{name: "no oid", claims: func(c map[string]any) { delete(c, "oid") }, want: ErrInvalidIDToken},
		{name: "signed by another key", key: other, want: ErrInvalidIDToken},
		{name: "unknown kid", header: func(h map[string]any) { h["kid"] = "k2" }, want: ErrInvalidIDToken},
		{name: "alg none", header: func(h map[string]any) { h["alg"] = "none" }, want: ErrInvalidIDToken},
		{name: "alg HS256", header: func(h map[string]any) { h["alg"] = "HS256" }, want: ErrInvalidIDToken},
		{name: "key limited to another issuer", check: func(c *idTokenCheck) {
			c.keys = func(context.Context, string, string) (*signingKey, error) {
				return &signingKey{pub: &testKey().PublicKey, issuer: "https://" + testHost + "/" + PersonalTenantID + "/v2.0"}, nil
			}
		}, want: ErrInvalidIDToken},
		{name: "personal account", claims: func(c map[string]any) {
			c["tid"] = PersonalTenantID
			c["iss"] = "https://" + testHost + "/" + PersonalTenantID + "/v2.0"
		}, want: ErrAccountNotAllowed},
		{name: "personal guest", claims: func(c map[string]any) { c["idp"] = "live.com" }, want: ErrAccountNotAllowed},
		{name: "personal guest by STS", claims: func(c map[string]any) {
			c["idp"] = "https://sts.windows.net/" + PersonalTenantID + "/"
		}, want: ErrAccountNotAllowed},
		{name: "personal guest allowed", check: func(c *idTokenCheck) { c.allowPersonalGuests = true }, claims: func(c map[string]any) { c["idp"] = "live.com" }},
		{name: "tenant refused", check: func(c *idTokenCheck) { c.allowTenant = func(string) bool { return false } }, want: ErrAccountNotAllowed},
		{name: "tenant allowed", check: func(c *idTokenCheck) { c.allowTenant = func(tid string) bool { return tid == testTenant } }},
		{name: "empty", raw: "-", want: ErrInvalidIDToken},
		{name: "two parts", raw: "a.b", want: ErrInvalidIDToken},
		{name: "garbage", raw: "!!.@@.##", want: ErrInvalidIDToken},
		{name: "too long", raw: strings.Repeat("a", maxIDToken+1), want: ErrInvalidIDToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, c, k := goodHeader(), goodClaims(), testKey()
			if tt.header != nil {
				tt.header(h)
			}
			if tt.claims != nil {
				tt.claims(c)
			}
			if tt.key != nil {
				k = tt.key
			}
			raw := mint(h, c, k)
			if tt.raw == "-" {
				raw = ""
			} else if tt.raw != "" {
				raw = tt.raw
			}
			chk := testCheck()
			if tt.check != nil {
				tt.check(chk)
			}
			cl, err := chk.validate(t.Context(), raw)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				if cl.Oid != testOID || cl.Tid != testTenant || cl.Name != "Adele Vance" {
					t.Errorf("claims = %+v", cl)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("validate: err = %v, want %v", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Reason == "" {
				t.Errorf("err %v is not an *Error with a reason", err)
			}
		})
	}
}

// FuzzIDToken feeds arbitrary tokens to the validator: it must never
// panic, and whatever it accepts must satisfy every check.
func FuzzIDToken(f *testing.F) {
	f.Add(mint(goodHeader(), goodClaims(), testKey()))
	c := goodClaims()
	c["aud"] = []any{testClient, 7}
	f.Add(mint(goodHeader(), c, testKey()))
	c = goodClaims()
	c["exp"] = 1e300
	f.Add(mint(goodHeader(), c, testKey()))
	f.Add(mint(map[string]any{"alg": "none"}, goodClaims(), testKey()))
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.")
	f.Add("..")
	f.Add("a.b.c.d")
	f.Fuzz(func(t *testing.T, raw string) {
		chk := testCheck()
		cl, err := chk.validate(context.Background(), raw)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		if cl.Nonce != testNonce || len(cl.Aud) != 1 || cl.Aud[0] != testClient || cl.Tid == PersonalTenantID ||
			cl.Iss != "https://"+testHost+"/"+cl.Tid+"/v2.0" || cl.Exp == nil || !testNow.Before(cl.Exp.t.Add(idTokenSkew)) {
			t.Fatalf("accepted a token that fails a check: %+v", cl)
		}
	})
}

// FuzzPendingCookie feeds arbitrary cookie values to the opener: it must
// never panic, and it may only accept what the key sealed.
func FuzzPendingCookie(f *testing.F) {
	key := make([]byte, 32)
	want := Pending{State: "s", Nonce: "n", Verifier: "v", Expires: testNow}
	c, err := PendingCookie(key, want)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(c.Value)
	f.Add("")
	f.Add(strings.Repeat("A", 60))
	f.Add(c.Value[:len(c.Value)-2])
	f.Fuzz(func(t *testing.T, value string) {
		p, err := openPending(key, value)
		if err != nil {
			if !errors.Is(err, ErrInvalidState) {
				t.Fatalf("error %v is not ErrInvalidState", err)
			}
			return
		}
		if p.State != want.State || p.Nonce != want.Nonce || p.Verifier != want.Verifier || !p.Expires.Equal(want.Expires) {
			t.Fatalf("opened a cookie the key did not seal: %+v", p)
		}
	})
}

func TestPendingCookie(t *testing.T) {
	t.Parallel()
	key := make([]byte, 32)
	p := Pending{State: "state", Nonce: "nonce", Verifier: "verifier", Expires: testNow, ReturnTo: "/meetings"}
	c, err := PendingCookie(key, p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.Value, "verifier") || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteNoneMode || !c.Expires.Equal(testNow) {
		t.Errorf("cookie %+v", c)
	}
	r := httptest.NewRequest(http.MethodPost, "/cb", nil)
	r.AddCookie(c)
	got, err := ReadPendingCookie(r, key)
	if err != nil || got.Verifier != "verifier" || got.ReturnTo != "/meetings" {
		t.Fatalf("ReadPendingCookie = %+v, %v", got, err)
	}
	other := make([]byte, 32)
	other[0] = 1
	if _, err := ReadPendingCookie(r, other); !errors.Is(err, ErrInvalidState) {
		t.Errorf("another key opened the cookie: %v", err)
	}
	if _, err := ReadPendingCookie(httptest.NewRequest(http.MethodPost, "/cb", nil), key); !errors.Is(err, ErrInvalidState) {
		t.Errorf("no cookie: %v", err)
	}
	if _, err := PendingCookie(key[:16], p); err == nil {
		t.Error("a 16-byte key was accepted")
	}
	if c := ClearPendingCookie(); c.MaxAge >= 0 || c.Name != PendingCookieName {
		t.Errorf("ClearPendingCookie = %+v", c)
	}
}

func TestJWKSCache(t *testing.T) {
	t.Parallel()
	var fetches atomic.Int32
	var fail atomic.Bool
	pub := &testKey().PublicKey
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if r.PathValue("tenant") != testTenant {
			http.Error(w, "unknown tenant", http.StatusBadRequest)
			return
		}
		small, _ := rsa.GenerateKey(rand.Reader, 1024)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{
			{"kty": "RSA", "use": "sig", "kid": "k1", "n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
				"issuer": "https://" + testHost + "/{tenantid}/v2.0"},
			{"kty": "RSA", "use": "sig", "kid": "weak", "n": b64(small.N.Bytes()), "e": "AQAB"},
			{"kty": "EC", "use": "sig", "kid": "ec"},
		}})
	})
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	now := testNow
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	j := newJWKSCache(srv.Client(), strings.TrimPrefix(srv.URL, "https://"), clock)
	ctx := t.Context()

	k, err := j.key(ctx, testTenant, "k1")
	if err != nil || k.pub.N.Cmp(pub.N) != 0 || k.issuer == "" {
		t.Fatalf("key = %+v, %v", k, err)
	}
	if _, err := j.key(ctx, strings.ToUpper(testTenant), "k1"); err != nil || fetches.Load() != 1 {
		t.Errorf("second lookup fetched again (%d fetches), err %v", fetches.Load(), err)
	}
	for _, kid := range []string{"weak", "ec", "k9"} {
		if _, err := j.key(ctx, testTenant, kid); !errors.Is(err, ErrInvalidIDToken) {
			t.Errorf("kid %s: err = %v, want ErrInvalidIDToken", kid, err)
		}
	}
	if fetches.Load() != 1 {
		t.Errorf("unknown kids refetched within the minimum interval: %d fetches", fetches.Load())
	}
	advance(jwksMinRefetch + time.Second)
	_, _ = j.key(ctx, testTenant, "k9")
	if fetches.Load() != 2 {
		t.Errorf("an unknown kid after the interval: %d fetches, want 2", fetches.Load())
	}
	fail.Store(true)
	if _, err := j.key(ctx, "9f7e6c1a-1111-4b7a-8c5d-2e3f4a5b6c7d", "k1"); !errors.Is(err, ErrTransient) {
		t.Errorf("keys endpoint down: err = %v, want ErrTransient", err)
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// TestJWKSCacheConcurrent: lookups for one tenant share one fetch, and a
// tenant whose keys endpoint hangs holds up neither other tenants' sign-ins
// nor a waiter whose context ends.
func TestJWKSCacheConcurrent(t *testing.T) {
	t.Parallel()
	const slowTenant = "9f7e6c1a-1111-4b7a-8c5d-2e3f4a5b6c7d"
	pub := &testKey().PublicKey
	var fetches atomic.Int32
	slowEntered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("tenant") == slowTenant {
			once.Do(func() { close(slowEntered) })
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		} else {
			fetches.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{
			{"kty": "RSA", "use": "sig", "kid": "k1", "n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())},
		}})
	})
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	j := newJWKSCache(srv.Client(), strings.TrimPrefix(srv.URL, "https://"), func() time.Time { return testNow })
	ctx := t.Context()

	slowDone := make(chan error, 1)
	go func() { _, err := j.key(ctx, slowTenant, "k1"); slowDone <- err }()
	<-slowEntered

	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() { _, errs[i] = j.key(ctx, testTenant, "k1") })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("lookup %d while another tenant's fetch hangs: %v", i, err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("20 concurrent lookups made %d fetches, want 1", n)
	}

	waitCtx, cancel := context.WithCancel(ctx)
	waited := make(chan error, 1)
	go func() { _, err := j.key(waitCtx, slowTenant, "k1"); waited <- err }()
	cancel()
	if err := <-waited; !errors.Is(err, context.Canceled) {
		t.Errorf("waiter with a cancelled context: err = %v, want context.Canceled", err)
	}
	select {
	case err := <-slowDone:
		t.Fatalf("the hanging fetch returned early: %v", err)
	default:
	}
}
