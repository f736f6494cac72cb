package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"
)

// DB is a database with the dialect it speaks. It is safe for concurrent use.
type DB struct {
	*sql.DB
	// Postgres is true for PostgreSQL, false for SQLite.
	Postgres bool
}

// IsPostgres reports whether dsn names a PostgreSQL database: a postgres://
// or postgresql:// URL, or a key=value DSN with host= or dbname=.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") ||
		strings.Contains(dsn, "host=") || strings.Contains(dsn, "dbname=")
}

// Open opens dsn: PostgreSQL (see IsPostgres) or else a SQLite file path.
// SQLite gets a busy timeout and write-ahead logging, and one connection, so
// a writer never meets "database is locked".
func Open(dsn string) (*DB, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, fmt.Errorf("-db: empty; give a SQLite file or a PostgreSQL DSN")
	}
	if IsPostgres(dsn) {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("-db: %w", err)
		}
		return &DB{DB: db, Postgres: true}, nil
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	db, err := sql.Open("sqlite", dsn+sep+"_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, fmt.Errorf("-db: %w", err)
	}
	db.SetMaxOpenConns(1)
	return &DB{DB: db}, nil
}

// Q rewrites a query written with ? placeholders for the database:
// PostgreSQL wants $1, $2, ...
func (db *DB) Q(query string) string {
	if !db.Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// CreateTables runs the CREATE TABLE IF NOT EXISTS statements of an
// example's schema, in order: a second run changes nothing.
func (db *DB) CreateTables(ctx context.Context, stmts ...string) error {
	for _, stmt := range stmts {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create tables: %w", err)
		}
	}
	return nil
}
