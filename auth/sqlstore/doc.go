// Package sqlstore is an auth.TokenStore on database/sql, for services that
// run on many machines and share one database: PostgreSQL in production,
// SQLite when embedded.
//
// The package imports no driver; the program picks one (for example
// github.com/jackc/pgx/v5/stdlib for PostgreSQL, modernc.org/sqlite for
// SQLite) and says which SQL dialect it speaks:
//
//	db, err := sql.Open("pgx", dsn)
//	...
//	store, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.Postgres})
//	...
//	if err := store.Migrate(ctx); err != nil { ... }
//	sealed, err := auth.Sealed(store, key)
//
// Values are written as given: wrap the store with auth.Sealed so refresh
// tokens are encrypted at rest.
//
// # Concurrency
//
// Save is one upsert statement, so writers on many machines never corrupt
// a value: the row holds one writer's complete value, and a version column
// counts every write. Of two concurrent writers of one key the later
// statement wins, which is safe for token caches because Entra ID does not
// revoke a refresh token when it rotates it: either writer's token works.
package sqlstore
