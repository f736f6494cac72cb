package fleet

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	_ "modernc.org/sqlite" // driver "sqlite"
)

// defaultPoolSize is the PostgreSQL pool size Open chooses.
const defaultPoolSize = 16

// Database is the database fleet keeps its tables and River's queue in:
// PostgreSQL (through a pgx pool) for many worker processes, or SQLite
// (through database/sql on modernc.org/sqlite) embedded in one process.
// Make one with Postgres, SQLite or Open. It is a small value, safe to
// copy and for concurrent use.
type Database struct {
	pg     *pgxpool.Pool
	sqlite *sql.DB
	closer func()
}

// Postgres returns the Database of a pgx pool. fleet runs River on it
// with riverpgxv5 (LISTEN/NOTIFY wake-ups). The caller keeps closing it.
func Postgres(pool *pgxpool.Pool) Database { return Database{pg: pool} }

// SQLite returns the Database of a *sql.DB opened with modernc.org/sqlite
// (driver name "sqlite"). fleet runs River on it with riversqlite. SQLite
// takes one writer at a time: open it with WAL journaling and a busy
// timeout and call db.SetMaxOpenConns(1), as Open does. The caller keeps
// closing it.
func SQLite(db *sql.DB) Database { return Database{sqlite: db} }

// Open opens the database a worker's -db flag names: a PostgreSQL URL
// (postgres:// or postgresql://) or libpq key=value string (containing
// "host=" or "dbname="), with a pool of 16 connections unless it sets
// pool_max_conns, else the path of a SQLite file, created if absent (WAL
// journal, 5-second busy timeout, one connection). Close it when done.
func Open(ctx context.Context, dsn string) (Database, error) {
	const op = "Open"
	if strings.TrimSpace(dsn) == "" {
		return Database{}, invalid(op, "dsn", "is empty")
	}
	if isPostgresDSN(dsn) {
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			// pgx's errors may quote the DSN, password included.
			return Database{}, &Error{Op: op, Input: "dsn", Err: errors.New("is not a PostgreSQL URL or key=value string pgx accepts")}
		}
		if !strings.Contains(dsn, "pool_max_conns") {
			// pgx's default (4 on a 2-core machine) starves a worker:
			// its jobs, the webhook's intake and River's own queries
			// each take a connection for a transaction.
			cfg.MaxConns = max(cfg.MaxConns, defaultPoolSize)
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return Database{}, &Error{Op: op, Err: errors.New("cannot open the PostgreSQL pool")}
		}
		if err := pool.Ping(ctx); err != nil {
			pool.Close()
			return Database{}, &Error{Op: op, Err: fmt.Errorf("PostgreSQL: %w", err)}
		}
		return Database{pg: pool, closer: pool.Close}, nil
	}
	db, err := sql.Open("sqlite", "file:"+dsn+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(on)&_txlock=immediate")
	if err != nil {
		return Database{}, &Error{Op: op, Input: "dsn", Err: err}
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return Database{}, &Error{Op: op, Input: "dsn", Err: err}
	}
	return Database{sqlite: db, closer: func() { db.Close() }}, nil
}

func isPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") ||
		strings.Contains(dsn, "host=") || strings.Contains(dsn, "dbname=")
}

// Close closes a database that Open opened; for one the caller made with
// Postgres or SQLite it does nothing.
func (d Database) Close() {
	if d.closer != nil {
		d.closer()
	}
}

// Pool returns the PostgreSQL pool, or nil for SQLite.
func (d Database) Pool() *pgxpool.Pool { return d.pg }

// DB returns the SQLite *sql.DB, or nil for PostgreSQL.
func (d Database) DB() *sql.DB { return d.sqlite }

// IsPostgres reports whether the database is PostgreSQL.
func (d Database) IsPostgres() bool { return d.pg != nil }

func (d Database) valid() bool { return (d.pg == nil) != (d.sqlite == nil) }

// begin starts a transaction.
func (d Database) begin(ctx context.Context) (*Tx, error) {
	if d.pg != nil {
		tx, err := d.pg.Begin(ctx)
		if err != nil {
			return nil, err
		}
		return &Tx{pg: tx}, nil
	}
	tx, err := d.sqlite.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &Tx{sql: tx}, nil
}

// inTx runs f in a transaction and commits it, or rolls back if f fails.
func (d Database) inTx(ctx context.Context, f func(tx *Tx) error) error {
	tx, err := d.begin(ctx)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.rollback()
		return err
	}
	return tx.commit(ctx)
}

// Tx is a transaction fleet opened, handed to a Sink: the same type on
// both databases, so one sink serves PostgreSQL in production and SQLite
// in tests. Write placeholders as $1, $2, ... on both (SQLite accepts
// them). Postgres and SQLite return the transaction underneath for what
// Tx does not offer (pgx's CopyFrom, batches).
//
// A Tx is not safe for concurrent use, and it belongs to fleet: never
// commit or roll it back.
type Tx struct {
	pg  pgx.Tx
	sql *sql.Tx
}

// Postgres returns the pgx transaction underneath, or nil on SQLite.
func (tx *Tx) Postgres() pgx.Tx { return tx.pg }

// SQLite returns the database/sql transaction underneath, or nil on
// PostgreSQL.
func (tx *Tx) SQLite() *sql.Tx { return tx.sql }

// Exec runs a statement and returns the number of rows it affected.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if tx.pg != nil {
		tag, err := tx.pg.Exec(ctx, query, args...)
		if err != nil {
			return 0, err
		}
		return tag.RowsAffected(), nil
	}
	res, err := tx.sql.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// QueryRow runs a query that returns at most one row. Row.Scan reports no
// row with an error matching sql.ErrNoRows on both databases.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *Row {
	if tx.pg != nil {
		return &Row{pg: tx.pg.QueryRow(ctx, query, args...)}
	}
	return &Row{sql: tx.sql.QueryRowContext(ctx, query, args...)}
}

// Query runs a query. Close the Rows when done.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*Rows, error) {
	if tx.pg != nil {
		rs, err := tx.pg.Query(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		return &Rows{pg: rs}, nil
	}
	rs, err := tx.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return &Rows{sql: rs}, nil
}

func (tx *Tx) commit(ctx context.Context) error {
	if tx.pg != nil {
		return tx.pg.Commit(ctx)
	}
	return tx.sql.Commit()
}

// rollback rolls back; it ignores errors (the transaction may be done).
func (tx *Tx) rollback() {
	if tx.pg != nil {
		// A cancelled job context must not keep the rollback from being
		// sent.
		_ = tx.pg.Rollback(context.Background())
		return
	}
	_ = tx.sql.Rollback()
}

// Row is the result of Tx.QueryRow.
type Row struct {
	pg  pgx.Row
	sql *sql.Row
}

// Scan copies the row's columns into dest; with no row it returns an
// error matching sql.ErrNoRows.
func (r *Row) Scan(dest ...any) error {
	if r.pg != nil {
		return r.pg.Scan(dest...)
	}
	return r.sql.Scan(dest...)
}

// Rows is the result of Tx.Query.
type Rows struct {
	pg  pgx.Rows
	sql *sql.Rows
}

// Next prepares the next row for Scan; false at the end or on error.
func (r *Rows) Next() bool {
	if r.pg != nil {
		return r.pg.Next()
	}
	return r.sql.Next()
}

// Scan copies the current row's columns into dest.
func (r *Rows) Scan(dest ...any) error {
	if r.pg != nil {
		return r.pg.Scan(dest...)
	}
	return r.sql.Scan(dest...)
}

// Err returns the error that ended the iteration, if any.
func (r *Rows) Err() error {
	if r.pg != nil {
		return r.pg.Err()
	}
	return r.sql.Err()
}

// Close releases the rows. It is safe to call more than once.
func (r *Rows) Close() error {
	if r.pg != nil {
		r.pg.Close()
		return r.pg.Err()
	}
	return r.sql.Close()
}

// queryRow runs a read outside any transaction.
func (d Database) queryRow(ctx context.Context, query string, args ...any) *Row {
	if d.pg != nil {
		return &Row{pg: d.pg.QueryRow(ctx, query, args...)}
	}
	return &Row{sql: d.sqlite.QueryRowContext(ctx, query, args...)}
}

// query runs a read outside any transaction.
func (d Database) query(ctx context.Context, query string, args ...any) (*Rows, error) {
	if d.pg != nil {
		rs, err := d.pg.Query(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		return &Rows{pg: rs}, nil
	}
	rs, err := d.sqlite.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return &Rows{sql: rs}, nil
}
