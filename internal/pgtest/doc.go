// Package pgtest runs a throw-away PostgreSQL server for the module's
// tests that need one, such as the PostgreSQL token store's (auth/sqlstore)
// and those of the examples that keep their state in PostgreSQL.
//
// A test binary gets at most one server, started the first time a test
// calls DSN and stopped by Main when the tests end:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		db, err := sql.Open("pgx", pgtest.DSN(t))
//		...
//	}
//
// The server comes from the PostgreSQL 15 binaries in DefaultBin (or the
// directory $PG_BIN names): initdb into a fresh temporary directory, then
// postgres listening only on a Unix socket in that directory (no TCP
// port, so parallel test binaries never collide). PostgreSQL refuses to
// run as root, so under root both run as the postgres user. The server is
// a child of the test process and receives SIGINT when the test process
// dies (on Linux), so a crashed or timed-out run leaves no server running;
// only its temporary directory stays behind.
//
// When $M365KIT_TEST_POSTGRES_DSN is set, DSN returns it and starts
// nothing (CI with a PostgreSQL service, or a developer's own server).
//
// A test that must start from an empty database calls Database instead of
// DSN: it creates a database for that test alone and drops it afterwards,
// so the test passes again under go test -count=N.
//
// Tests never skip for want of a server: DSN fails the test and says what
// to install or set.
//
// The package holds one process-wide server on purpose (one per test
// binary); DSN and Main are safe for concurrent use.
package pgtest
