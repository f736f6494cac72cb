package pgtest

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
)

// DefaultBin is where Debian and Ubuntu install PostgreSQL 15's server
// binaries. $PG_BIN overrides it.
const DefaultBin = "/usr/lib/postgresql/15/bin"

// EnvDSN names the environment variable that points the tests at an
// existing server instead of starting one.
const EnvDSN = "M365KIT_TEST_POSTGRES_DSN"

// server is the test binary's one PostgreSQL server.
var server struct {
	once sync.Once
	dsn  string
	err  error

	mu   sync.Mutex
	stop func() error // nil until started, and again once stopped
}

// DSN returns a libpq-style DSN (host=... port=... user=postgres
// dbname=postgres sslmode=disable) of the test binary's PostgreSQL server,
// starting the server on the first call; or $M365KIT_TEST_POSTGRES_DSN if
// set. When no server can be had, DSN fails tb, naming what is missing.
func DSN(tb testing.TB) string {
	tb.Helper()
	server.once.Do(func() {
		if dsn := os.Getenv(EnvDSN); dsn != "" {
			server.dsn = dsn
			return
		}
		started := make(chan struct{})
		go func() {
			// The server gets its parent-death signal when the thread
			// that started it exits. This goroutine keeps that thread
			// locked, and therefore alive, for the rest of the process.
			runtime.LockOSThread()
			dsn, stop, err := start()
			server.mu.Lock()
			server.dsn, server.stop, server.err = dsn, stop, err
			server.mu.Unlock()
			close(started)
			select {}
		}()
		<-started
	})
	if server.err != nil {
		tb.Fatalf("this test needs PostgreSQL: %v\n"+
			"Install PostgreSQL 15 (initdb, postgres and pg_isready in %s, or set PG_BIN), or set %s.",
			server.err, DefaultBin, EnvDSN)
	}
	return server.dsn
}

// Main runs m's tests, stops the server DSN started (if any) and returns
// the exit code for os.Exit.
func Main(m *testing.M) int {
	code := m.Run()
	if err := Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
	}
	return code
}

// Stop stops the server DSN started and removes its directory. It does
// nothing when no server was started or it is already stopped. Main calls
// it; call it yourself only from a TestMain that does not use Main.
func Stop() error {
	server.mu.Lock()
	stop := server.stop
	server.stop = nil
	server.mu.Unlock()
	if stop == nil {
		return nil
	}
	return stop()
}

// syncBuffer is the server's log: written by the server's output copier,
// read when start-up fails.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
