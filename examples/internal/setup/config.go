package setup

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/m365kit/m365kit/auth"
)

// The environment variables the examples read.
const (
	EnvClientID     = "M365KIT_CLIENT_ID"     // Application (client) ID of the app registration
	EnvClientSecret = "M365KIT_CLIENT_SECRET" // a client secret's Value
	EnvClientCert   = "M365KIT_CLIENT_CERT"   // PEM file of the certificate (chain)
	EnvClientKey    = "M365KIT_CLIENT_KEY"    // PEM file of its unencrypted RSA private key
	EnvRedirectURL  = "M365KIT_REDIRECT_URL"  // the redirect URI registered on the app
	EnvStoreKey     = "M365KIT_STORE_KEY"     // 32-byte token-store key, base64 or hex
	EnvConfigDir    = "M365KIT_CONFIG_DIR"    // overrides os.UserConfigDir()/m365kit
)

// ConfigError is a configuration problem: the variable at fault and what is
// wrong with it. It never holds the variable's value, which may be a secret.
// It is a plain value, safe for concurrent reads.
type ConfigError struct {
	Variable string
	Problem  string
	Err      error
}

// Error returns "<variable>: <problem>".
func (e *ConfigError) Error() string {
	if e.Err != nil {
		return e.Variable + ": " + e.Problem + ": " + e.Err.Error()
	}
	return e.Variable + ": " + e.Problem
}

// Unwrap returns the underlying error, if any.
func (e *ConfigError) Unwrap() error { return e.Err }

// Config is the configuration of a real Microsoft 365 tenant. A nil *Config
// means "run against the demo tenant". It is not changed after Load, so it is
// safe for concurrent use.
type Config struct {
	// ClientID is the app registration's Application (client) ID.
	ClientID string
	// Credential is the client secret or certificate.
	Credential auth.Credential
	// CredentialKind is "secret" or "certificate", for display.
	CredentialKind string
	// RedirectURL is the registered redirect URI.
	RedirectURL string
	// Dir is the directory for the token store, its key file and the last
	// signed-in account: M365KIT_CONFIG_DIR, else os.UserConfigDir()/m365kit.
	Dir string
	// storeKey is the key from M365KIT_STORE_KEY; nil means the key file.
	storeKey []byte
}

var guid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Load reads the configuration through getenv (os.Getenv when nil). With none
// of the client variables set it returns nil, nil: the demo. A variable that
// is set but wrong, or one that is missing while others are set, is a
// *ConfigError naming it.
func Load(getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	id, secret, cert, key, redirect := get(EnvClientID), get(EnvClientSecret), get(EnvClientCert), get(EnvClientKey), get(EnvRedirectURL)
	if id == "" && secret == "" && cert == "" && key == "" && redirect == "" {
		return nil, nil
	}
	cfg := &Config{ClientID: id, RedirectURL: redirect}
	switch {
	case id == "":
		return nil, &ConfigError{Variable: EnvClientID, Problem: "not set; it is the Application (client) ID on the app registration's Overview page"}
	case !guid.MatchString(id):
		return nil, &ConfigError{Variable: EnvClientID, Problem: "is not a GUID like 00001111-aaaa-2222-bbbb-3333cccc4444"}
	}

	switch {
	case secret != "" && (cert != "" || key != ""):
		return nil, &ConfigError{Variable: EnvClientSecret, Problem: "set either " + EnvClientSecret + " or " + EnvClientCert + " and " + EnvClientKey + ", not both"}
	case secret != "":
		if guid.MatchString(secret) {
			return nil, &ConfigError{Variable: EnvClientSecret, Problem: "looks like the secret's ID (a GUID); use the secret's Value, shown once when it was created"}
		}
		c, err := auth.Secret(secret)
		if err != nil {
			return nil, &ConfigError{Variable: EnvClientSecret, Problem: "not usable", Err: err}
		}
		cfg.Credential, cfg.CredentialKind = c, "secret"
	case cert != "" || key != "":
		if cert == "" {
			return nil, &ConfigError{Variable: EnvClientCert, Problem: "not set; " + EnvClientKey + " needs the certificate's PEM file next to it"}
		}
		if key == "" {
			return nil, &ConfigError{Variable: EnvClientKey, Problem: "not set; " + EnvClientCert + " needs the private key's PEM file next to it"}
		}
		certPEM, err := os.ReadFile(cert)
		if err != nil {
			return nil, &ConfigError{Variable: EnvClientCert, Problem: "cannot read the certificate file", Err: err}
		}
		keyPEM, err := os.ReadFile(key)
		if err != nil {
			return nil, &ConfigError{Variable: EnvClientKey, Problem: "cannot read the private key file", Err: err}
		}
		c, err := auth.CertificateFromPEM(certPEM, keyPEM)
		if err != nil {
			return nil, &ConfigError{Variable: EnvClientCert, Problem: "the certificate and key do not make a credential", Err: err}
		}
		cfg.Credential, cfg.CredentialKind = c, "certificate"
	default:
		return nil, &ConfigError{Variable: EnvClientSecret, Problem: "not set; set it (or " + EnvClientCert + " and " + EnvClientKey + ") to the app's credential"}
	}

	if redirect == "" {
		return nil, &ConfigError{Variable: EnvRedirectURL, Problem: "not set; use the redirect URI registered on the app, such as http://localhost:8400/callback"}
	}
	u, err := url.Parse(redirect)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" {
		return nil, &ConfigError{Variable: EnvRedirectURL, Problem: "is not an absolute URL without a fragment"}
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && IsLoopback(u.Hostname())) {
		return nil, &ConfigError{Variable: EnvRedirectURL, Problem: "must use https (http is allowed for localhost only)"}
	}

	if k := get(EnvStoreKey); k != "" {
		b, err := ParseKey(k)
		if err != nil {
			return nil, &ConfigError{Variable: EnvStoreKey, Problem: err.Error()}
		}
		cfg.storeKey = b
	}
	if d := get(EnvConfigDir); d != "" {
		cfg.Dir = d
	} else {
		base, err := os.UserConfigDir()
		if err != nil {
			return nil, &ConfigError{Variable: EnvConfigDir, Problem: "not set and there is no user config directory", Err: err}
		}
		cfg.Dir = filepath.Join(base, "m365kit")
	}
	return cfg, nil
}

// IsLoopback reports whether host is localhost or a loopback IP.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseKey decodes a 32-byte key written as 64 hex digits or as base64
// (standard or URL alphabet, padded or not).
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("is not a 32-byte key in hex (64 digits) or base64; make one with: openssl rand -hex 32")
}

// Store returns the token store: an auth.FileStore in Dir/tokens sealed with
// the key from M365KIT_STORE_KEY, or else with the key in Dir/store.key,
// which it creates (32 random bytes, mode 0600) on first use.
func (c *Config) Store() (*auth.SealedStore, error) {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("token store: %w", err)
	}
	key := c.storeKey
	if key == nil {
		var err error
		if key, err = keyFile(filepath.Join(c.Dir, "store.key")); err != nil {
			return nil, err
		}
	}
	files, err := auth.NewFileStore(filepath.Join(c.Dir, "tokens"))
	if err != nil {
		return nil, fmt.Errorf("token store: %w", err)
	}
	return auth.Sealed(files, key)
}

// keyFile reads the hex key in path, creating it when it does not exist. A
// key file others can read is refused.
func keyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("token store key %s: %w", path, err)
		}
		if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("token store key %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("token store key %s: %w", path, err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("token store key %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("token store key %s: mode %v lets other users read it; chmod 600 it", path, fi.Mode().Perm())
	}
	key, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("token store key %s: %w", path, err)
	}
	return key, nil
}

// App returns the auth.App of the configuration with its token store. hc is
// the HTTP client for Entra ID (nil: auth's default).
func (c *Config) App(store auth.TokenStore, hc *http.Client) (*auth.App, error) {
	return auth.New(auth.Config{
		ClientID:    c.ClientID,
		Credential:  c.Credential,
		RedirectURL: c.RedirectURL,
		Store:       store,
		HTTPClient:  hc,
	})
}

// SaveAccount records the account ID of the last user who signed in, so the
// other examples can act for them without a flag.
func (c *Config) SaveAccount(accountID string) error {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.Dir, "account"), []byte(accountID+"\n"), 0o600)
}

// Account returns the account ID SaveAccount recorded, or "".
func (c *Config) Account() string {
	b, err := os.ReadFile(filepath.Join(c.Dir, "account"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
