package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/scopes"
)

// signedIn starts a sandbox (graphtest's demo tenant), signs adele in with
// the calendar feature over store and returns her account ID and a factory
// of Apps on the same fake over any store (plain stores allowed), as other
// processes would have. The factory is safe to call from a fuzz function.
func signedIn(tb testing.TB, store auth.TokenStore) (newApp func(auth.TokenStore) (*auth.App, error), accountID string) {
	tb.Helper()
	sb := m365test.New(tb)
	newApp = func(store auth.TokenStore) (*auth.App, error) {
		cfg := sb.AppConfig()
		cfg.Store, cfg.AllowPlaintextStore = store, true
		return auth.New(cfg)
	}
	app, err := newApp(store)
	if err != nil {
		tb.Fatal(err)
	}
	sb.App = app
	s, err := sb.SignIn(context.Background(), "adele", scopes.Calendar)
	if err != nil {
		tb.Fatal(err)
	}
	return newApp, s.User.AccountID
}

// benchEnv is signedIn for benchmarks: a factory of Apps over store.
func benchEnv(b *testing.B, store auth.TokenStore) (newApp func() *auth.App, accountID string) {
	b.Helper()
	factory, acct := signedIn(b, store)
	return func() *auth.App {
		app, err := factory(store)
		if err != nil {
			b.Fatal(err)
		}
		return app
	}, acct
}

// BenchmarkToken measures silent token acquisition. "cached" is the steady
// state: the App's in-process cache of unexpired access tokens. "store" is
// the first call of a process (a new App): the sealed blob is loaded from
// the store, opened and searched by MSAL, without network.
func BenchmarkToken(b *testing.B) {
	fs, err := auth.NewFileStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	for name, inner := range map[string]auth.TokenStore{"memory": auth.NewMemoryStore(), "file": fs} {
		store, _ := auth.Sealed(inner, key(5))
		newApp, acct := benchEnv(b, store)
		b.Run(name+"/cached", func(b *testing.B) {
			src := newApp().TokenSource(acct, scopes.Calendar)
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := src.Token(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/store", func(b *testing.B) {
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				src := newApp().TokenSource(acct, scopes.Calendar)
				b.StartTimer()
				if _, err := src.Token(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestSignInWithCertificate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "m365kit test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})

	e := newEnv(t)
	const certClient = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	e.srv.AddApp(graphtest.App{ClientID: certClient, Certificate: cert, RedirectURIs: []string{redirectURL}})
	e.tenant.Grant(certClient, scopes.For(scopes.Calendar)...)
	cred, err := auth.CertificateFromPEM(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	app := e.newApp(t, func(c *auth.Config) { c.ClientID, c.Credential = certClient, cred })
	u, err := e.signIn(ctx, t, app, "adele@contoso.com", scopes.Calendar)
	if err != nil {
		t.Fatal(err)
	}
	e.expireStored(ctx, t, u.AccountID)
	if _, err := e.newApp(t, func(c *auth.Config) { c.ClientID, c.Credential = certClient, cred }).TokenSource(u.AccountID, scopes.Calendar).Token(ctx); err != nil {
		t.Fatalf("refresh with the certificate: %v", err)
	}
}
