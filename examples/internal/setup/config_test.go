package setup

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testClientID = "00001111-aaaa-2222-bbbb-3333cccc4444"

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir)
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a PEM file"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := func(extra map[string]string) map[string]string {
		m := map[string]string{
			EnvClientID:     testClientID,
			EnvClientSecret: "s3cr3t~value",
			EnvRedirectURL:  "http://localhost:8400/callback",
			EnvConfigDir:    dir,
		}
		for k, v := range extra {
			if v == "-" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantVar string // the variable the error names; "" for success
		want    string // in the error's problem
		kind    string // CredentialKind on success
	}{
		{name: "secret", env: base(nil), kind: "secret"},
		{name: "certificate", env: base(map[string]string{EnvClientSecret: "-", EnvClientCert: certFile, EnvClientKey: keyFile}), kind: "certificate"},
		{name: "https redirect", env: base(map[string]string{EnvRedirectURL: "https://app.example.com/auth/callback"}), kind: "secret"},
		{name: "hex store key", env: base(map[string]string{EnvStoreKey: strings.Repeat("ab", 32)}), kind: "secret"},
		{name: "no client ID", env: base(map[string]string{EnvClientID: "-"}), wantVar: EnvClientID, want: "not set"},
		{name: "client ID not a GUID", env: base(map[string]string{EnvClientID: "my-app"}), wantVar: EnvClientID, want: "GUID"},
		{name: "no credential", env: base(map[string]string{EnvClientSecret: "-"}), wantVar: EnvClientSecret, want: "not set"},
		{name: "secret ID instead of value", env: base(map[string]string{EnvClientSecret: "aaaabbbb-0000-1111-2222-333344445555"}), wantVar: EnvClientSecret, want: "secret's ID"},
		{name: "secret and certificate", env: base(map[string]string{EnvClientCert: certFile, EnvClientKey: keyFile}), wantVar: EnvClientSecret, want: "not both"},
		{name: "certificate without key", env: base(map[string]string{EnvClientSecret: "-", EnvClientCert: certFile}), wantVar: EnvClientKey, want: "not set"},
		{name: "key without certificate", env: base(map[string]string{EnvClientSecret: "-", EnvClientKey: keyFile}), wantVar: EnvClientCert, want: "not set"},
		{name: "certificate file missing", env: base(map[string]string{EnvClientSecret: "-", EnvClientCert: filepath.Join(dir, "nope.pem"), EnvClientKey: keyFile}), wantVar: EnvClientCert, want: "cannot read"},
		{name: "key file missing", env: base(map[string]string{EnvClientSecret: "-", EnvClientCert: certFile, EnvClientKey: filepath.Join(dir, "nope.pem")}), wantVar: EnvClientKey, want: "cannot read"},
		{name: "certificate not PEM", env: base(map[string]string{EnvClientSecret: "-", EnvClientCert: garbage, EnvClientKey: keyFile}), wantVar: EnvClientCert, want: "credential"},
		{name: "no redirect", env: base(map[string]string{EnvRedirectURL: "-"}), wantVar: EnvRedirectURL, want: "not set"},
		{name: "relative redirect", env: base(map[string]string{EnvRedirectURL: "/callback"}), wantVar: EnvRedirectURL, want: "absolute"},
		{name: "http redirect elsewhere", env: base(map[string]string{EnvRedirectURL: "http://app.example.com/callback"}), wantVar: EnvRedirectURL, want: "https"},
		{name: "bad store key", env: base(map[string]string{EnvStoreKey: "short"}), wantVar: EnvStoreKey, want: "32-byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Load(envOf(tt.env))
			if tt.wantVar == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if cfg == nil || cfg.CredentialKind != tt.kind || cfg.ClientID != testClientID || cfg.Dir != dir {
					t.Fatalf("Load = %+v", cfg)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Variable != tt.wantVar || !strings.Contains(ce.Error(), tt.want) {
				t.Fatalf("Load err = %v; want a ConfigError naming %s and saying %q", err, tt.wantVar, tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.wantVar+": ") {
				t.Errorf("error %q does not start with the variable", err)
			}
			for _, k := range []string{EnvClientSecret, EnvStoreKey} {
				if v := tt.env[k]; v != "" && strings.Contains(err.Error(), v) {
					t.Errorf("error %q leaks the value of %s", err, k)
				}
			}
		})
	}
}

func TestLoadNothingIsDemo(t *testing.T) {
	t.Parallel()
	cfg, err := Load(envOf(map[string]string{EnvStoreKey: strings.Repeat("ab", 32), EnvConfigDir: "/x"}))
	if cfg != nil || err != nil {
		t.Fatalf("Load with no client variables = %+v, %v; want the demo (nil, nil)", cfg, err)
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{0xfe}, 32)
	for _, s := range []string{hex.EncodeToString(key), "/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v4=", "_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v4", " " + hex.EncodeToString(key) + "\n"} {
		got, err := ParseKey(s)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "abc", hex.EncodeToString(key[:16]), strings.Repeat("zz", 32)} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
}

// The store's key file is created once with mode 0600, reused, and refused
// when others can read it.
func TestStoreKeyFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "m365kit")
	cfg := &Config{Dir: dir}
	s1, err := cfg.Store()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "store.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	if err := s1.Save(t.Context(), "oid.tid", []byte("token cache"), 0); err != nil {
		t.Fatal(err)
	}
	s2, err := cfg.Store()
	if err != nil {
		t.Fatal(err)
	}
	if v, _, err := s2.Load(t.Context(), "oid.tid"); err != nil || string(v) != "token cache" {
		t.Fatalf("second store Load = %q, %v; the key file was not reused", v, err)
	}
	raw, err := os.ReadDir(filepath.Join(dir, "tokens"))
	if err != nil || len(raw) != 1 {
		t.Fatalf("tokens dir: %v %v", raw, err)
	}
	blob, _ := os.ReadFile(filepath.Join(dir, "tokens", raw[0].Name()))
	if bytes.Contains(blob, []byte("token cache")) {
		t.Error("the token file is not encrypted")
	}

	if err := os.Chmod(filepath.Join(dir, "store.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Store(); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable key file was accepted: %v", err)
	}

	// M365KIT_STORE_KEY wins over the key file.
	other := &Config{Dir: dir, storeKey: bytes.Repeat([]byte{9}, 32)}
	s3, err := other.Store()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s3.Load(t.Context(), "oid.tid"); err == nil {
		t.Error("a store with another key opened the tokens")
	}
}

func TestAccount(t *testing.T) {
	t.Parallel()
	cfg := &Config{Dir: filepath.Join(t.TempDir(), "m365kit")}
	if got := cfg.Account(); got != "" {
		t.Fatalf("Account before SaveAccount = %q", got)
	}
	if err := cfg.SaveAccount("oid.tid"); err != nil {
		t.Fatal(err)
	}
	if got := cfg.Account(); got != "oid.tid" {
		t.Fatalf("Account = %q", got)
	}
}

func TestDomain(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"adele@Contoso.com": "contoso.com", "a@b@c.org": "c.org", "nobody": ""} {
		if got := Domain(in); got != want {
			t.Errorf("Domain(%q) = %q, want %q", in, got, want)
		}
	}
}

// writeCert writes a self-signed certificate and its RSA key as PEM files.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "m365kit test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
