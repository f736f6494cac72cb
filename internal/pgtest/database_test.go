package pgtest

import (
	"context"
	"database/sql"
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	for dsn, want := range map[string]string{
		"host=/tmp/x port=5432 user=postgres dbname=postgres sslmode=disable": "host=/tmp/x port=5432 user=postgres dbname=test_1 sslmode=disable",
		"host=/tmp/x user=postgres":                          "host=/tmp/x user=postgres dbname=test_1",
		"postgres://u:p@db.example:5432/app?sslmode=disable": "postgres://u:p@db.example:5432/test_1?sslmode=disable",
		"dbname=postgres host=h":                             "dbname=test_1 host=h",
	} {
		if got := withDatabase(dsn, "test_1"); got != want {
			t.Errorf("withDatabase(%q) = %q, want %q", dsn, got, want)
		}
	}
}

// TestDatabaseIsFreshAndDropped: two calls give two empty databases, and
// a database is gone once its test ends.
func TestDatabaseIsFreshAndDropped(t *testing.T) {
	t.Parallel()
	var name string
	t.Run("first", func(t *testing.T) {
		db, err := sql.Open("pgx", Database(t))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.QueryRowContext(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(t.Context(), "CREATE TABLE t (x int)"); err != nil {
			t.Fatal(err)
		}
	})
	db, err := sql.Open("pgx", Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var other string
	var tables int
	if err := db.QueryRowContext(t.Context(), "SELECT current_database(), (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')").Scan(&other, &tables); err != nil {
		t.Fatal(err)
	}
	if other == name || tables != 0 {
		t.Errorf("second database %q (first %q) has %d tables, want a new empty one", other, name, tables)
	}
	var exists bool
	if err := db.QueryRowContext(context.Background(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %q still exists after its test ended", name)
	}
}
