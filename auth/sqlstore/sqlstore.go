package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"time"

	"github.com/m365kit/m365kit/auth"
)

// Dialect is the SQL dialect of the database behind the *sql.DB.
type Dialect int

// The dialects sqlstore speaks.
const (
	// Postgres is PostgreSQL: $1 placeholders, BYTEA values.
	Postgres Dialect = iota
	// SQLite is SQLite 3.24 or later: ? placeholders, BLOB values.
	SQLite
)

// String returns the dialect's name.
func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "postgres"
	case SQLite:
		return "sqlite"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// DefaultTable is the table Store uses unless Config.Table names another.
const DefaultTable = "m365kit_tokens"

// Config says which database dialect and table a Store uses. The zero
// Config is PostgreSQL with DefaultTable. Like auth.Config, it is plain
// data: a Store is a long-lived object built once from it.
type Config struct {
	// Dialect is the SQL dialect the database speaks (default Postgres).
	Dialect Dialect
	// Table is the table name (default DefaultTable). It may be
	// schema-qualified ("auth.tokens") and must be a plain SQL identifier.
	Table string
}

// identifier is what Config.Table accepts: a plain or schema-qualified SQL
// identifier that needs no quoting.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$`)

// Store is an auth.TokenStore in one SQL table. It is safe for concurrent
// use, also by many processes sharing the database.
type Store struct {
	db      *sql.DB
	dialect Dialect
	table   string

	load, save, saveIf, del string
}

var _ auth.TokenStore = (*Store)(nil)

// New returns a Store over db, configured by cfg; an error names the
// field that is wrong. Call Migrate once (at start-up) to create the
// table.
func New(db *sql.DB, cfg Config) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: db is nil")
	}
	if cfg.Dialect != Postgres && cfg.Dialect != SQLite {
		return nil, fmt.Errorf("sqlstore: Config.Dialect %d is not Postgres or SQLite", int(cfg.Dialect))
	}
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	if !identifier.MatchString(cfg.Table) {
		return nil, fmt.Errorf("sqlstore: Config.Table %q is not a plain SQL identifier", cfg.Table)
	}
	s := &Store{db: db, dialect: cfg.Dialect, table: cfg.Table}
	p1, p2, p3, p4 := "$1", "$2", "$3", "$4"
	if s.dialect == SQLite {
		p1, p2, p3, p4 = "?", "?", "?", "?"
	}
	s.load = "SELECT value, version FROM " + s.table + " WHERE key = " + p1
	s.save = "INSERT INTO " + s.table + " (key, value, version, updated_at) VALUES (" + p1 + ", " + p2 + ", " + p3 + ", " + p4 + ")" +
		" ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = " + s.table + ".version + 1, updated_at = excluded.updated_at"
	s.saveIf = "UPDATE " + s.table + " SET value = " + p1 + ", version = version + 1, updated_at = " + p2 +
		" WHERE key = " + p3 + " AND version = " + p4
	s.del = "DELETE FROM " + s.table + " WHERE key = " + p1
	return s, nil
}

// Schema returns the statement Migrate runs, for teams that manage their
// schema with their own migration tool.
func (s *Store) Schema() string {
	blob, ts := "BYTEA", "TIMESTAMPTZ"
	if s.dialect == SQLite {
		blob, ts = "BLOB", "TIMESTAMP"
	}
	return "CREATE TABLE IF NOT EXISTS " + s.table + " (\n" +
		"\tkey TEXT PRIMARY KEY,\n" +
		"\tvalue " + blob + " NOT NULL,\n" +
		"\tversion BIGINT NOT NULL DEFAULT 1,\n" +
		"\tupdated_at " + ts + " NOT NULL\n" +
		")"
}

// Migrate creates the table if it does not exist. It is safe to run on
// every start-up, from several processes at once.
func (s *Store) Migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, s.Schema()); err != nil {
		// Two PostgreSQL sessions creating the same table at once may
		// both pass IF NOT EXISTS; the loser fails on the catalog's
		// unique index. The table exists then, which is all we want.
		if exists, qerr := s.exists(ctx); qerr == nil && exists {
			return nil
		}
		return fmt.Errorf("sqlstore: migrate %s: %w", s.table, err)
	}
	return nil
}

func (s *Store) exists(ctx context.Context) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+s.table+" WHERE 1 = 0").Scan(&n)
	return err == nil, err
}

func checkKey(key string) error {
	if key == "" {
		return errors.New("sqlstore: key is empty")
	}
	return nil
}

// Load returns the value stored under key and its version, or an error
// matching auth.ErrNoToken.
func (s *Store) Load(ctx context.Context, key string) ([]byte, int64, error) {
	if err := checkKey(key); err != nil {
		return nil, 0, err
	}
	var v []byte
	var version int64
	err := s.db.QueryRowContext(ctx, s.load, key).Scan(&v, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, fmt.Errorf("sqlstore: key %q: %w", key, auth.ErrNoToken)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: load: %w", err)
	}
	return v, version, nil
}

// Save stores value under key in one statement. With version 0 it is an
// upsert: it creates the row with a random version, or replaces the value
// and adds one to the version. With a version from Load it is a
// compare-and-swap: an update of the row only where the version is still
// that one; when no row matches (another process saved or deleted the
// key since), it stores nothing and returns an error matching
// auth.ErrConflict.
func (s *Store) Save(ctx context.Context, key string, value []byte, version int64) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if value == nil {
		value = []byte{}
	}
	now := time.Now().UTC()
	if version == 0 {
		if _, err := s.db.ExecContext(ctx, s.save, key, value, firstVersion(), now); err != nil {
			return fmt.Errorf("sqlstore: save: %w", err)
		}
		return nil
	}
	res, err := s.db.ExecContext(ctx, s.saveIf, value, now, key, version)
	if err != nil {
		return fmt.Errorf("sqlstore: save: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: save: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: key %q: %w", key, auth.ErrConflict)
	}
	return nil
}

// firstVersion is the version of a new row: random, so that a key deleted
// and created again never takes up a version an earlier Load returned (a
// conditional save from before the Delete must fail). Below 2^62, it
// leaves room for 2^62 saves.
func firstVersion() int64 { return rand.Int64N(1<<62) + 1 }

// Delete removes key. Deleting an absent key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.del, key); err != nil {
		return fmt.Errorf("sqlstore: delete: %w", err)
	}
	return nil
}

// Version returns the key's version, as Load does, or an error matching
// auth.ErrNoToken. It grows by one with every save, from a random start
// each time the key is created, so operators can watch refresh activity
// and tests can prove no write was lost.
func (s *Store) Version(ctx context.Context, key string) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	p := "$1"
	if s.dialect == SQLite {
		p = "?"
	}
	var v int64
	err := s.db.QueryRowContext(ctx, "SELECT version FROM "+s.table+" WHERE key = "+p, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("sqlstore: key %q: %w", key, auth.ErrNoToken)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: version: %w", err)
	}
	return v, nil
}
