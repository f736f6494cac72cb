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
// Each Save is one statement, so writers on many machines never corrupt a
// value: the row holds one writer's complete value. A version column grows
// with every write (from a random start when the row is created, so a
// deleted and re-created key never repeats a version). auth saves
// refreshed tokens conditionally: an UPDATE that matches only the version
// it loaded. When another process wrote the row in between (a new
// sign-in, another refresh) nothing is stored and Save reports
// auth.ErrConflict; auth then loads the newer tokens, keeps them, adds
// its own access tokens and tries again, so a refresh never overwrites a
// refresh token it did not see. A sign-in saves unconditionally: it is
// the user's newest grant.
package sqlstore
