package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"time"
)

// DefaultBin is where Debian and Ubuntu install PostgreSQL 15; PG_BIN
// overrides it.
const DefaultBin = "/usr/lib/postgresql/15/bin"

// Start returns the DSN of a PostgreSQL server and a function that stops it.
// The error says what is missing when no server can be had.
func Start() (dsn string, stop func(), err error) {
	if dsn := os.Getenv("M365KIT_TEST_POSTGRES_DSN"); dsn != "" {
		return dsn, func() {}, nil
	}
	bin := os.Getenv("PG_BIN")
	if bin == "" {
		bin = DefaultBin
	}
	for _, tool := range []string{"initdb", "pg_ctl"} {
		if _, err := os.Stat(filepath.Join(bin, tool)); err != nil {
			return "", nil, fmt.Errorf("%s not found (install PostgreSQL 15, set PG_BIN, or set M365KIT_TEST_POSTGRES_DSN): %w", tool, err)
		}
	}
	// Unix socket paths are limited to about 100 bytes: stay short.
	dir, err := os.MkdirTemp("/tmp", "m365ex")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	var prefix []string
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as the postgres user.
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
