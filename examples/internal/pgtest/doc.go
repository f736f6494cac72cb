// Package pgtest starts a throw-away PostgreSQL server for the examples'
// tests, the way auth/sqlstore's tests do: initdb into a temporary directory
// and a server listening only on a Unix socket there. M365KIT_TEST_POSTGRES_DSN
// names an existing server instead.
package pgtest
