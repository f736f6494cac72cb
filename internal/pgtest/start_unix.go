//go:build unix

package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// startTimeout bounds initdb plus the server's start-up.
const startTimeout = 2 * time.Minute

// stopTimeout is how long a fast shutdown may take before the server is
// killed.
const stopTimeout = 30 * time.Second

// start runs initdb into a fresh temporary directory and starts postgres
// as a child process listening only on a Unix socket in that directory.
// Call it on a locked OS thread that outlives the server.
func start() (dsn string, stop func() error, err error) {
	bin := os.Getenv("PG_BIN")
	if bin == "" {
		bin = DefaultBin
	}
	for _, tool := range []string{"initdb", "postgres", "pg_isready"} {
		if _, err := os.Stat(filepath.Join(bin, tool)); err != nil {
			return "", nil, fmt.Errorf("%s not found: %w", tool, err)
		}
	}
	// A Unix socket path is limited to about 100 bytes, and under root
	// the postgres user must reach the directory: /tmp serves both.
	dir, err := os.MkdirTemp("/tmp", "m365pg")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	cred, err := serverCredential(dir)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	command := func(ctx context.Context, name string, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, filepath.Join(bin, name), args...)
		cmd.SysProcAttr = procAttr(cred)
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		return cmd
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()

	data := filepath.Join(dir, "data")
	if out, err := command(ctx, "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}

	const port = "5432" // only names the socket file in dir
	log := new(syncBuffer)
	srv := command(context.Background(), "postgres", "-D", data, "-k", dir, "-p", port,
		"-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200")
	srv.Stdout, srv.Stderr = log, log
	if err := srv.Start(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("starting postgres: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	stop = func() error {
		defer cleanup()
		_ = srv.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-exited:
			return nil
		case <-time.After(stopTimeout):
			_ = srv.Process.Kill()
			<-exited
			return fmt.Errorf("postgres did not stop within %v; killed", stopTimeout)
		}
	}

	// Wait until the server accepts connections.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if command(ctx, "pg_isready", "-q", "-h", dir, "-p", port, "-U", "postgres", "-d", "postgres").Run() == nil {
			return fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres sslmode=disable", dir, port), stop, nil
		}
		select {
		case werr := <-exited:
			cleanup()
			return "", nil, fmt.Errorf("postgres exited (%v):\n%s", werr, log)
		case <-ctx.Done():
			_ = stop()
			return "", nil, fmt.Errorf("postgres did not accept connections within %v:\n%s", startTimeout, log)
		case <-tick.C:
		}
	}
}

// serverCredential returns the credential to run PostgreSQL with: nil
// (the current user) unless running as root, which PostgreSQL refuses;
// then the postgres user's, after handing dir to that user.
func serverCredential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root and there is no postgres user to run the server as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("postgres user: %w", err)
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
