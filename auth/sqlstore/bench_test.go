package sqlstore_test

import (
	"bytes"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/auth/sqlstore"
	"github.com/m365kit/m365kit/internal/pgtest"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/scopes"
)

// BenchmarkToken measures silent token acquisition over a sealed sqlstore:
// "cached" is the App's in-process cache, "store" a new App's first call
// (one SELECT, open, MSAL cache lookup; no network).
func BenchmarkToken(b *testing.B) {
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

		sb := m365test.New(b)
		newApp := func() *auth.App {
			cfg := sb.AppConfig()
			cfg.Store = store
			app, err := auth.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			return app
		}
		sb.App = newApp()
		s, err := sb.SignIn(ctx, "adele", scopes.Calendar)
		if err != nil {
			b.Fatal(err)
		}
		user := s.User
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
