package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
)

// Database creates an empty database on the test binary's server (see DSN)
// for tb alone, drops it when tb ends, and returns its DSN: a test that
// must start from nothing does so even when run again in the same process
// (go test -count=N) or next to tests sharing the server. With
// $M365KIT_TEST_POSTGRES_DSN, that DSN's user needs the CREATEDB privilege.
func Database(tb testing.TB) string {
	tb.Helper()
	base := DSN(tb)
	db, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "test_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: creating a database for the test: %v", err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			tb.Errorf("pgtest: %v", err)
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: dropping the test's database: %v", err)
		}
	})
	return withDatabase(base, name)
}

var dbnameRE = regexp.MustCompile(`(^|\s)dbname=\S*`)

// withDatabase returns dsn (a postgres:// URL or libpq keyword/value
// pairs) naming database name instead of its own.
func withDatabase(dsn, name string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			u.Path = "/" + name
			return u.String()
		}
	}
	if dbnameRE.MatchString(dsn) {
		return dbnameRE.ReplaceAllString(dsn, "${1}dbname="+name)
	}
	return strings.TrimSpace(dsn) + " dbname=" + name
}
