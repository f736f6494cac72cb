package sqlstore_test

import (
	"os"
	"testing"

	"github.com/m365kit/m365kit/internal/pgtest"
)

// TestMain stops the PostgreSQL server the tests started, if any. The
// PostgreSQL tests never skip: pgtest.DSN fails them when no server can
// be had.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
