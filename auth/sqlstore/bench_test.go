package sqlstore_test

import (
	"bytes"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/auth/sqlstore"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/internal/pgtest"
	"github.com/m365kit/m365kit/scopes"
)

// BenchmarkToken measures silent token acquisition over a sealed sqlstore:
// "cached" is the App's in-process cache, "store" a new App's first call
// (one SELECT, open, MSAL cache lookup; no network).
func BenchmarkToken(b *testing.B) {
	const clientID, secret, redirect = "6731de76-14a6-49ae-97bc-6eba6914391e", "s3cret", "https://app.example.com/cb"
	dbs := map[string]struct {
		driver, dsn string
		dialect     sqlstore.Dialect
	}{
		"postgres": {"pgx", pgtest.DSN(b), sqlstore.Postgres},
		"sqlite":   {"sqlite", "file:" + filepath.Join(b.TempDir(), "bench.db") + "?_pragma=journal_mode(WAL)", sqlstore.SQLite},
	}
	for name, d := range dbs {
		db, err := sql.Open(d.driver, d.dsn)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = db.Close() })
		raw, err := sqlstore.New(db, sqlstore.Config{Dialect: d.dialect, Table: "bench_tokens"})
		if err != nil {
			b.Fatal(err)
		}
		ctx := b.Context()
		if err := raw.Migrate(ctx); err != nil {
			b.Fatal(err)
		}
		store, _ := auth.Sealed(raw, bytes.Repeat([]byte{4}, 32))

		srv := graphtest.New(b)
		srv.AddApp(graphtest.App{ClientID: clientID, ClientSecret: secret, RedirectURIs: []string{redirect}})
		tenant := srv.AddTenant("contoso.com")
		tenant.Grant(clientID, scopes.For(scopes.Calendar)...)
		tenant.AddUser("adele@contoso.com", "Adele Vance")
		cred, _ := auth.Secret(secret)
		newApp := func() *auth.App {
			app, err := auth.New(auth.Config{ClientID: clientID, Credential: cred, RedirectURL: redirect, Store: store, HTTPClient: srv.HTTPClient()})
			if err != nil {
				b.Fatal(err)
			}
			return app
		}
		app := newApp()
		u, p, _ := app.SignInURL(auth.SignInRequest{Features: []scopes.Feature{scopes.Calendar}, LoginHint: "adele@contoso.com"})
		cb, err := srv.Browse(ctx, u)
		if err != nil {
			b.Fatal(err)
		}
		user, err := app.CompleteSignIn(ctx, cb, p)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/cached", func(b *testing.B) {
			src := newApp().TokenSource(user.AccountID, scopes.Calendar)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := src.Token(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/store", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				src := newApp().TokenSource(user.AccountID, scopes.Calendar)
				b.StartTimer()
				if _, err := src.Token(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
