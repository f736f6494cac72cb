package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/m365kit/m365kit/internal/urlcheck"
)

// DefaultAuthority is the authority the App signs users in through: the
// Entra ID endpoint for work and school accounts of any tenant.
const DefaultAuthority = "https://login.microsoftonline.com/organizations"

// Config configures an App. ClientID, Credential, RedirectURL and Store
// are required; the rest have defaults.
type Config struct {
	// ClientID is the application (client) ID of the multi-tenant app
	// registration.
	ClientID string
	// Credential authenticates the app: Secret, CertificateFromPEM or
	// Assertion.
	Credential Credential
	// RedirectURL is the sign-in callback, exactly as registered.
	RedirectURL string
	// Store keeps each user's tokens. It must be a *SealedStore unless
	// AllowPlaintextStore is set.
	Store TokenStore
	// HTTPClient sends every request to Entra ID (token endpoint,
	// metadata, signing keys); nil means a new client with a 30-second
	// timeout. Tests pass graphtest's Server.HTTPClient. The App adds
	// retries on top of it: GETs
	// and refresh-token grants are retried on 429, 5xx and network
	// errors; authorization-code grants never are (a code is single-use).
	HTTPClient *http.Client
	// AllowTenant, if set, is asked for the tenant ID (lower case) of
	// every sign-in; false refuses the sign-in with ErrAccountNotAllowed.
	AllowTenant func(tenantID string) bool
	// Authority is the Entra ID authority URL (default DefaultAuthority).
	// Use https://login.microsoftonline.com/{tenant-id} for a
	// single-tenant app.
	Authority string
	// AllowPlaintextStore lets Store be a store that is not a
	// *SealedStore: set it only if the store encrypts values itself (a
	// KMS-backed store, an encrypted database column) or for tests.
	AllowPlaintextStore bool
	// AllowPersonalGuests lets personal Microsoft accounts invited as B2B
	// guests into a work tenant (idp live.com) sign in. Personal accounts
	// signing in from the consumer tenant are always refused.
	AllowPersonalGuests bool
	// SignInTTL is how long a pending sign-in stays valid (default 10
	// minutes, the life of an authorization code).
	SignInTTL time.Duration
}

// Credential is how the app proves its identity to Entra ID. Make one with
// Secret, CertificateFromPEM or Assertion. The zero value is not valid. A
// Credential is immutable and safe to share.
type Credential struct {
	cred confidential.Credential
	ok   bool
}

// Secret returns a client-secret credential. Prefer certificates in
// production; secrets expire (AADSTS7000222).
func Secret(secret string) (Credential, error) {
	c, err := confidential.NewCredFromSecret(secret)
	if err != nil {
		return Credential{}, errors.New("auth: client secret is empty")
	}
	return Credential{cred: c, ok: true}, nil
}

// CertificateFromPEM returns a certificate credential from a PEM
// certificate (or chain) and its unencrypted PEM RSA private key. The two
// may be the same file's contents.
func CertificateFromPEM(certPEM, keyPEM []byte) (Credential, error) {
	pemData := append(append(append([]byte(nil), certPEM...), '\n'), keyPEM...)
	certs, key, err := confidential.CertFromPEM(pemData, "")
	if err != nil {
		return Credential{}, fmt.Errorf("auth: certificate credential: %w", err)
	}
	c, err := confidential.NewCredFromCert(certs, key)
	if err != nil {
		return Credential{}, fmt.Errorf("auth: certificate credential: %w", err)
	}
	return Credential{cred: c, ok: true}, nil
}

// Assertion returns a credential that calls fn for a signed client
// assertion (a JWT) on each token request, for keys held in an HSM or a
// federated identity. fn must be safe for concurrent use.
func Assertion(fn func(ctx context.Context) (string, error)) (Credential, error) {
	if fn == nil {
		return Credential{}, errors.New("auth: assertion callback is nil")
	}
	c := confidential.NewCredFromAssertionCallback(func(ctx context.Context, _ confidential.AssertionRequestOptions) (string, error) {
		return fn(ctx)
	})
	return Credential{cred: c, ok: true}, nil
}

// App signs users in and hands out their delegated tokens. It is safe for
// concurrent use; create one per process and share it.
type App struct {
	clientID    string
	cred        confidential.Credential
	redirectURL string
	authority   string // https://host/tenant
	host        string
	store       TokenStore
	hc          *http.Client     // retrying client given to MSAL
	now         func() time.Time // time.Now; tests set another through export_test.go
	allowTenant func(string) bool
	allowGuests bool
	signInTTL   time.Duration
	jwks        *jwksCache

	mu      sync.Mutex
	flights map[string]*flight   // in-progress acquisitions by cache key
	locks   map[string]*acctLock // per-account locks
	atMu    sync.RWMutex
	atCache map[string]map[string]cachedToken // account -> scopes key -> token
	atPuts  int                               // insertions, for sweeping
}

// New checks cfg and returns an App. An error names the field that is
// wrong.
func New(cfg Config) (*App, error) {
	if strings.TrimSpace(cfg.ClientID) == "" {
		return nil, errors.New("auth: Config.ClientID is empty")
	}
	if !cfg.Credential.ok {
		return nil, errors.New("auth: Config.Credential is not set (use auth.Secret, auth.CertificateFromPEM or auth.Assertion)")
	}
	ru, err := url.Parse(cfg.RedirectURL)
	if err != nil || !ru.IsAbs() || ru.Host == "" || ru.Fragment != "" {
		return nil, fmt.Errorf("auth: Config.RedirectURL %q is not an absolute URL without fragment", urlcheck.Shown(cfg.RedirectURL))
	}
	if ru.Scheme != "https" && !urlcheck.IsLoopback(ru.Hostname()) {
		return nil, fmt.Errorf("auth: Config.RedirectURL %q must use https (http is allowed for localhost only)", urlcheck.Shown(cfg.RedirectURL))
	}
	if cfg.Store == nil {
		return nil, errors.New("auth: Config.Store is nil")
	}
	if _, sealed := cfg.Store.(*SealedStore); !sealed && !cfg.AllowPlaintextStore {
		return nil, errors.New("auth: Config.Store is not sealed: wrap it with auth.Sealed, or set Config.AllowPlaintextStore if it encrypts values itself")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	authority := cfg.Authority
	if authority == "" {
		authority = DefaultAuthority
	}
	au, err := url.Parse(authority)
	if err != nil || au.Scheme != "https" || au.Host == "" || au.RawQuery != "" ||
		len(strings.Split(strings.Trim(au.Path, "/"), "/")) != 1 || strings.Trim(au.Path, "/") == "" {
		return nil, fmt.Errorf("auth: Config.Authority %q is not https://host/tenant without user info or query", urlcheck.Shown(authority))
	}
	tenant := strings.Trim(au.Path, "/")
	if strings.EqualFold(tenant, "common") || strings.EqualFold(tenant, "consumers") {
		return nil, fmt.Errorf("auth: Config.Authority %q admits personal accounts; use organizations or a tenant ID", urlcheck.Shown(authority))
	}
	if cfg.SignInTTL < 0 {
		return nil, errors.New("auth: Config.SignInTTL is negative")
	}
	a := &App{
		clientID:    cfg.ClientID,
		cred:        cfg.Credential.cred,
		redirectURL: cfg.RedirectURL,
		authority:   "https://" + au.Host + "/" + tenant,
		host:        au.Host,
		store:       cfg.Store,
		hc:          retryingClient(hc),
		now:         time.Now,
		allowTenant: cfg.AllowTenant,
		allowGuests: cfg.AllowPersonalGuests,
		signInTTL:   cfg.SignInTTL,
		flights:     map[string]*flight{},
		locks:       map[string]*acctLock{},
		atCache:     map[string]map[string]cachedToken{},
	}
	if a.signInTTL == 0 {
		a.signInTTL = 10 * time.Minute
	}
	a.jwks = newJWKSCache(a.hc, a.host, func() time.Time { return a.now() })
	// Build one client now so a configuration MSAL refuses fails here.
	if _, err := a.client(&cacheAdapter{store: a.store}); err != nil {
		return nil, fmt.Errorf("auth: Config: %w", err)
	}
	return a, nil
}

// client returns a new MSAL confidential client over the shared
// configuration. MSAL's client is not safe to share across users (its
// in-memory cache is swapped per call), so every operation gets its own,
// with its own cache adapter.
func (a *App) client(c *cacheAdapter) (confidential.Client, error) {
	return confidential.New(a.authority, a.clientID, a.cred,
		confidential.WithHTTPClient(a.hc),
		confidential.WithCache(c),
		confidential.WithInstanceDiscovery(false))
}
