package sqldb

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestIsPostgresAndQ(t *testing.T) {
	t.Parallel()
	for dsn, want := range map[string]bool{
		"postgres://u:p@localhost:5432/app":     true,
		"postgresql://localhost/app":            true,
		"host=/tmp/sock port=5432 dbname=app":   true,
		"/var/lib/app/calendar.db":              false,
		"calendar.db":                           false,
		"file:calendar.db?_pragma=foreign_keys": false,
	} {
		if got := IsPostgres(dsn); got != want {
			t.Errorf("IsPostgres(%q) = %v, want %v", dsn, got, want)
		}
	}
	pg, lite := &DB{Postgres: true}, &DB{}
	const q = "INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a) DO UPDATE SET b = ?"
	if got, want := pg.Q(q), "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO UPDATE SET b = $3"; got != want {
		t.Errorf("Postgres Q = %q, want %q", got, want)
	}
	if got := lite.Q(q); got != q {
		t.Errorf("SQLite Q = %q, want it unchanged", got)
	}
}

func TestOpenSQLite(t *testing.T) {
	t.Parallel()
	db, err := Open(filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if _, err := Open("  "); err == nil {
		t.Error("an empty DSN was accepted")
	}
}

// TestCreateTables: the statements run in order, a second run changes
// nothing, and a bad statement is an error naming the step.
func TestCreateTables(t *testing.T) {
	t.Parallel()
	db, err := Open(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS a (id TEXT PRIMARY KEY)`,
		`CREATE TABLE IF NOT EXISTS b (id TEXT PRIMARY KEY, a TEXT REFERENCES a(id))`,
	}
	for range 2 {
		if err := db.CreateTables(t.Context(), stmts...); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('a', 'b')`).Scan(&n); err != nil || n != 2 {
		t.Errorf("tables a and b: %d (%v), want 2", n, err)
	}
	if err := db.CreateTables(t.Context(), `CREATE TABLE oops (`); err == nil || !strings.Contains(err.Error(), "create tables") {
		t.Errorf("a bad statement: %v", err)
	}
}
