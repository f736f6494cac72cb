package reliability_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// pg is the PostgreSQL server of the tests that need one: the one
// M365KIT_TEST_POSTGRES_DSN names, or one started on first use and
// stopped by TestMain. Tests that need none (the chaos suite, the fuzz
// targets and their workers) start none.
var pg struct {
	once sync.Once
	dsn  string
	stop func() error
	err  error
}

// postgresDSN returns the DSN of the test server, starting it on first
// use. The tests never skip: if no server can be had, the test fails and
// says why.
func postgresDSN(t *testing.T) string {
	t.Helper()
	pg.once.Do(func() {
		if dsn := os.Getenv("M365KIT_TEST_POSTGRES_DSN"); dsn != "" {
			pg.dsn = dsn
			return
		}
		started := make(chan struct{})
		go func() {
			// The server is our child and gets a signal when the thread
			// that started it dies (Pdeathsig): this goroutine keeps
			// that thread for the whole run.
			runtime.LockOSThread()
			pg.dsn, pg.stop, pg.err = startPostgres()
			close(started)
			select {}
		}()
		<-started
	})
	if pg.err != nil {
		t.Fatalf("these tests need PostgreSQL: %v\n"+
			"Install PostgreSQL 15 (initdb and postgres in %s, or set PG_BIN), or set M365KIT_TEST_POSTGRES_DSN.", pg.err, pgBin)
	}
	return pg.dsn
}

// pgBin is where Debian and Ubuntu install PostgreSQL 15. PG_BIN overrides it.
const pgBin = "/usr/lib/postgresql/15/bin"

// TestMain stops the PostgreSQL server a test started, if any. The
// harness is auth/sqlstore's (main_test.go there), copied, since test
// helpers cannot be shared across packages, and started lazily.
func TestMain(m *testing.M) {
	code := m.Run()
	if pg.stop != nil {
		if err := pg.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping PostgreSQL: %v\n", err)
		}
	}
	os.Exit(code)
}

// startPostgres runs initdb into a fresh temporary directory and starts a
// postgres server as a child process, listening only on a Unix socket in
// that directory. PostgreSQL refuses to run as root, so as root both run
// as the postgres user (setuid in the child), with the directory handed to
// that user.
func startPostgres() (dsn string, stop func() error, err error) {
	bin := os.Getenv("PG_BIN")
	if bin == "" {
		bin = pgBin
	}
	for _, tool := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(bin, tool)); err != nil {
			return "", nil, fmt.Errorf("%s not found: %w", tool, err)
		}
	}
	// Unix socket paths are limited to about 100 bytes: stay short.
	dir, err := os.MkdirTemp("/tmp", "m365pg")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			cleanup()
			return "", nil, fmt.Errorf("running as root and there is no postgres user to run the server as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			cleanup()
			return "", nil, err
		}
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// The server gets SIGINT (fast shutdown) when this thread dies, so a
	// crashed or timed-out test run leaves no server behind. Go sets the
	// parent-death signal after switching credentials, so it survives
	// the switch to the postgres user.
	command := func(ctx context.Context, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT}
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		return cmd
	}
	data := filepath.Join(dir, "data")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	initdb := command(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	initdb.Stdout, initdb.Stderr = &out, &out
	if err := initdb.Run(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("initdb: %w\n%s", err, out.String())
	}

	const port = "5432" // only names the socket file in dir
	var log bytes.Buffer
	server := command(context.Background(), filepath.Join(bin, "postgres"), "-D", data, "-k", dir, "-p", port,
		"-c", "listen_addresses=", "-c", "fsync=off", "-c", "max_connections=200")
	server.Stdout, server.Stderr = &log, &log
	if err := server.Start(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("starting postgres: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- server.Wait() }()

	dsn = fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres sslmode=disable", dir, port)
	stop = func() error {
		defer cleanup()
		_ = server.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-exited:
			return nil
		case <-time.After(30 * time.Second):
			_ = server.Process.Kill()
			<-exited
			return errors.New("postgres did not stop within 30s; killed")
		}
	}
	// Wait until the server accepts connections.
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, err := sql.Open("pgx", dsn)
		if err == nil {
			pctx, pcancel := context.WithTimeout(context.Background(), 2*time.Second)
			err = db.PingContext(pctx)
			pcancel()
			_ = db.Close()
		}
		if err == nil {
			return dsn, stop, nil
		}
		select {
		case werr := <-exited:
			cleanup()
			return "", nil, fmt.Errorf("postgres exited (%v):\n%s", werr, log.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = stop()
			return "", nil, fmt.Errorf("postgres did not accept connections within 60s: %v\n%s", err, log.String())
		}
	}
}
