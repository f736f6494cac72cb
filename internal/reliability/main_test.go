package reliability_test

import (
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/m365kit/m365kit/internal/pgtest"
)

// TestMain stops the PostgreSQL server a test started, if any. Tests that
// need none (the chaos suite, the fuzz targets and their workers) start
// none: the server starts on the first postgresDSN call.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// postgresDSN returns the DSN of the test server (internal/pgtest: the
// one M365KIT_TEST_POSTGRES_DSN names, or a throw-away PostgreSQL 15). The
// tests never skip: if no server can be had, the test fails and says why.
func postgresDSN(t *testing.T) string {
	t.Helper()
	return pgtest.DSN(t)
}
