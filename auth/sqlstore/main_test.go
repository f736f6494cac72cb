package sqlstore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// postgresDSN is the DSN of the PostgreSQL server the tests use: the one
// M365KIT_TEST_POSTGRES_DSN names, or one TestMain starts.
var postgresDSN string

// pgBin is where Debian and Ubuntu install PostgreSQL 15. PG_BIN overrides it.
const pgBin = "/usr/lib/postgresql/15/bin"

// TestMain starts a throw-away PostgreSQL server for the package's tests,
// unless M365KIT_TEST_POSTGRES_DSN names one. The tests never skip: if no
// server can be had, the run fails and says why.
func TestMain(m *testing.M) {
	if dsn := os.Getenv("M365KIT_TEST_POSTGRES_DSN"); dsn != "" {
		postgresDSN = dsn
		os.Exit(m.Run())
	}
	dsn, stop, err := startPostgres()
	if err != nil {
		fmt.Fprintf(os.Stderr, "sqlstore tests need PostgreSQL: %v\n"+
			"Install PostgreSQL 15 (initdb and pg_ctl in %s or $PG_BIN), or set M365KIT_TEST_POSTGRES_DSN.\n", err, pgBin)
		os.Exit(1)
	}
	postgresDSN = dsn
	code := m.Run()
	stop()
	os.Exit(code)
}

// startPostgres runs initdb into a fresh temporary directory and starts a
// server listening only on a Unix socket in that directory. PostgreSQL
// refuses to run as root, so as root it runs as the postgres user through
// runuser, with the directory handed to that user.
func startPostgres() (dsn string, stop func(), err error) {
	bin := os.Getenv("PG_BIN")
	if bin == "" {
		bin = pgBin
	}
	for _, tool := range []string{"initdb", "pg_ctl"} {
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
	var prefix []string
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
		prefix = []string{"runuser", "-u", "postgres", "--"}
	}
	run := func(args ...string) error {
		args = append(append([]string(nil), prefix...), args...)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w\n%s", filepath.Base(args[len(prefix)]), err, out.String())
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		cleanup()
		return "", nil, err
	}
	const port = "5432" // only names the socket file in dir
	opts := "-c listen_addresses= -k " + dir + " -p " + port + " -c fsync=off"
	if err := run(filepath.Join(bin, "pg_ctl"), "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		cleanup()
		return "", nil, fmt.Errorf("%w\nserver log:\n%s", err, log)
	}
	stop = func() {
		_ = run(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
		cleanup()
	}
	return fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres sslmode=disable", dir, port), stop, nil
}
