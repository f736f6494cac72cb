package sqlstore_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/auth/sqlstore"
	"github.com/m365kit/m365kit/internal/pgtest"
	"github.com/m365kit/m365kit/internal/storetest"
)

var tableSeq atomic.Int64

// backend opens handles on one database of a dialect. Every call of open
// returns a new *sql.DB on the same database, as separate processes have.
type backend struct {
	name    string
	dialect sqlstore.Dialect
	open    func(t *testing.T) *sql.DB
}

func backends(t *testing.T) []backend {
	t.Helper()
	sqliteFile := filepath.Join(t.TempDir(), "tokens.db")
	return []backend{
		{"postgres", sqlstore.Postgres, func(t *testing.T) *sql.DB {
			t.Helper()
			db, err := sql.Open("pgx", pgtest.DSN(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		}},
		{"sqlite", sqlstore.SQLite, func(t *testing.T) *sql.DB {
			t.Helper()
			db, err := sql.Open("sqlite", "file:"+sqliteFile+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		}},
	}
}

// newStore returns a migrated store on a fresh table of its own.
func newStore(t *testing.T, b backend, db *sql.DB, table string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.New(db, sqlstore.Config{Dialect: b.dialect, Table: table})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func freshTable() string { return fmt.Sprintf("tokens_%d", tableSeq.Add(1)) }

func TestStoreRoundTrip(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := newStore(t, b, b.open(t), freshTable())

			if _, _, err := s.Load(ctx, "alice.tenant"); !errors.Is(err, auth.ErrNoToken) {
				t.Fatalf("Load of a missing key: err = %v, want auth.ErrNoToken", err)
			}
			blob := []byte{0, 1, 2, 0xff, 'x'}
			if err := s.Save(ctx, "alice.tenant", blob, 0); err != nil {
				t.Fatal(err)
			}
			if err := s.Save(ctx, "bob.tenant", []byte("bob"), 0); err != nil {
				t.Fatal(err)
			}
			got, first, err := s.Load(ctx, "alice.tenant")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(blob, got); diff != "" {
				t.Errorf("Load after Save (-want +got):\n%s", diff)
			}
			if err := s.Save(ctx, "alice.tenant", []byte("rotated"), 0); err != nil {
				t.Fatal(err)
			}
			if got, _, _ := s.Load(ctx, "alice.tenant"); string(got) != "rotated" {
				t.Errorf("Load after second Save = %q, want %q", got, "rotated")
			}
			if v, err := s.Version(ctx, "alice.tenant"); err != nil || v != first+1 {
				t.Errorf("Version = %d, %v; want %d, one more than the first save's", v, err, first+1)
			}
			if err := s.Delete(ctx, "alice.tenant"); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Load(ctx, "alice.tenant"); !errors.Is(err, auth.ErrNoToken) {
				t.Errorf("Load after Delete: err = %v, want auth.ErrNoToken", err)
			}
			if err := s.Delete(ctx, "alice.tenant"); err != nil {
				t.Errorf("Delete of a missing key: %v", err)
			}
			if got, _, _ := s.Load(ctx, "bob.tenant"); string(got) != "bob" {
				t.Errorf("another key changed: %q", got)
			}
			if err := s.Save(ctx, "", []byte("x"), 0); err == nil {
				t.Error("Save with an empty key succeeded")
			}
		})
	}
}

func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			table := freshTable()
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for range 4 {
				wg.Go(func() {
					s, err := sqlstore.New(b.open(t), sqlstore.Config{Dialect: b.dialect, Table: table})
					if err == nil {
						err = s.Migrate(t.Context())
					}
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("Migrate: %v", err)
				}
			}
			s := newStore(t, b, b.open(t), table) // a fifth run on an existing table
			if err := s.Save(t.Context(), "k", []byte("v"), 0); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestConcurrentWritersNeverCorruptOrLose runs writers on separate *sql.DB
// handles, as separate processes would, rotating one user's token. Every
// write must be counted and the final value must be one writer's complete
// value.
func TestConcurrentWritersNeverCorruptOrLose(t *testing.T) {
	t.Parallel()
	const writers, rounds = 6, 25
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			table := freshTable()
			first := newStore(t, b, b.open(t), table)
			if err := first.Save(ctx, "adele.contoso", []byte("signed in"), 0); err != nil {
				t.Fatal(err)
			}
			start, err := first.Version(ctx, "adele.contoso")
			if err != nil {
				t.Fatal(err)
			}
			value := func(w, r int) []byte {
				// Large enough that a torn write would show.
				return bytes.Repeat([]byte(fmt.Sprintf("writer %d round %d;", w, r)), 400)
			}
			var wg sync.WaitGroup
			errs := make(chan error, writers*rounds)
			for w := range writers {
				s := newStore(t, b, b.open(t), table)
				wg.Go(func() {
					for r := range rounds {
						if err := s.Save(ctx, "adele.contoso", value(w, r), 0); err != nil {
							errs <- err
							return
						}
						if _, _, err := s.Load(ctx, "adele.contoso"); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			s := newStore(t, b, b.open(t), table)
			v, err := s.Version(ctx, "adele.contoso")
			if err != nil {
				t.Fatal(err)
			}
			if v != start+writers*rounds {
				t.Errorf("version = %d, want %d: a write was lost", v, start+writers*rounds)
			}
			got, _, err := s.Load(ctx, "adele.contoso")
			if err != nil {
				t.Fatal(err)
			}
			var ok bool
			for w := range writers {
				ok = ok || bytes.Equal(got, value(w, rounds-1))
			}
			if !ok {
				t.Errorf("final value is no writer's last value: %.60q...", got)
			}
		})
	}
}

// TestSealedOverSQL checks the combination services deploy: values in the
// table are ciphertext, and open again through the sealed store.
func TestSealedOverSQL(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			raw := newStore(t, b, b.open(t), freshTable())
			sealed, err := auth.Sealed(raw, bytes.Repeat([]byte{7}, 32))
			if err != nil {
				t.Fatal(err)
			}
			secret := []byte(`{"RefreshToken":{"secret":"0.AAAA-refresh"}}`)
			if err := sealed.Save(ctx, "adele.contoso", secret, 0); err != nil {
				t.Fatal(err)
			}
			stored, _, err := raw.Load(ctx, "adele.contoso")
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(stored, []byte("refresh")) {
				t.Error("the table holds the refresh token in clear text")
			}
			got, _, err := sealed.Load(ctx, "adele.contoso")
			if err != nil || !bytes.Equal(got, secret) {
				t.Errorf("sealed Load = %q, %v", got, err)
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	tests := []struct {
		name string
		db   *sql.DB
		cfg  sqlstore.Config
		want string
	}{
		{"nil db", nil, sqlstore.Config{}, "db is nil"},
		{"table with quote", db, sqlstore.Config{Table: `t"; DROP TABLE x; --`}, "Config.Table"},
		{"blank table", db, sqlstore.Config{Table: " "}, "Config.Table"},
		{"unknown dialect", db, sqlstore.Config{Dialect: sqlstore.Dialect(9)}, "Config.Dialect 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := sqlstore.New(tt.db, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestSchema(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	for _, d := range []sqlstore.Dialect{sqlstore.Postgres, sqlstore.SQLite} {
		s, err := sqlstore.New(db, sqlstore.Config{Dialect: d, Table: "app.tokens"})
		if err != nil {
			t.Fatal(err)
		}
		got := s.Schema()
		for _, want := range []string{"CREATE TABLE IF NOT EXISTS app.tokens", "key TEXT PRIMARY KEY", "version BIGINT"} {
			if !strings.Contains(got, want) {
				t.Errorf("%v schema lacks %q:\n%s", d, want, got)
			}
		}
		if d == sqlstore.Postgres && !slices.Contains(strings.Fields(got), "BYTEA") {
			t.Errorf("postgres schema does not store BYTEA:\n%s", got)
		}
	}
}

func TestConditionalSave(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			storetest.Conditional(t, newStore(t, b, b.open(t), freshTable()))
		})
	}
}

// TestConditionalIncrements: writers on separate *sql.DB handles, as
// separate processes, increment one value through Load and conditional
// Save; none of their updates is lost.
func TestConditionalIncrements(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			table := freshTable()
			storetest.Increments(t, func() auth.TokenStore { return newStore(t, b, b.open(t), table) }, 6, 20)
		})
	}
}

// TestSignInSurvivesRefresh: process A reads a user's tokens to refresh
// them, process B signs the user in again and commits, A writes back: B's
// refresh token survives, on PostgreSQL and SQLite, with B landing during
// A's refresh request or just before A's save.
func TestSignInSurvivesRefresh(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		for _, when := range []storetest.Interleaving{storetest.DuringRefresh, storetest.BeforeSave} {
			t.Run(b.name+"/"+when.String(), func(t *testing.T) {
				t.Parallel()
				table := freshTable()
				storetest.SignInSurvivesRefresh(t, func() auth.TokenStore { return newStore(t, b, b.open(t), table) }, when)
			})
		}
	}
}
