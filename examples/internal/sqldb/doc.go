// Package sqldb opens the database the sync examples keep their data and
// cursors in: PostgreSQL through pgx's database/sql driver when given a
// PostgreSQL DSN, else an embedded SQLite file through modernc.org/sqlite
// (pure Go, no C toolchain).
package sqldb
