package auth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphclient/graphtest"
	"github.com/m365kit/m365kit/scopes"
)

// benchEnv signs adele in over store and returns a factory of Apps on it.
func benchEnv(b *testing.B, store auth.TokenStore) (newApp func() *auth.App, accountID string) {
	b.Helper()
	srv := graphtest.New(b)
	srv.AddApp(graphtest.App{ClientID: clientID, ClientSecret: secret, RedirectURIs: []string{redirectURL}})
	tenant := srv.AddTenant("contoso.com")
	tenant.Grant(clientID, scopes.For(scopes.Calendar)...)
	tenant.AddUser("adele@contoso.com", "Adele Vance")
	cred, _ := auth.Secret(secret)
	hc := srv.HTTPClient()
	newApp = func() *auth.App {
		app, err := auth.New(auth.Config{ClientID: clientID, Credential: cred, RedirectURL: redirectURL,
			Store: store, HTTPClient: hc, AllowPlaintextStore: true})
		if err != nil {
			b.Fatal(err)
		}
		return app
	}
	app := newApp()
	ctx := b.Context()
	u, p, _ := app.SignInURL(ctx, auth.SignInRequest{Features: []scopes.Feature{scopes.Calendar}, LoginHint: "adele@contoso.com"})
	cb, err := srv.Browse(ctx, u)
	if err != nil {
		b.Fatal(err)
	}
	user, err := app.CompleteSignIn(ctx, cb, p)
	if err != nil {
		b.Fatal(err)
	}
	return newApp, user.AccountID
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
