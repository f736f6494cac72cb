// Package programtest holds what the example programs' tests share.
package programtest

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/m365kit/m365kit/examples/internal/setup"
)

// NoEnv is an environment with nothing configured: the programs run
// against the demo tenant.
func NoEnv(string) string { return "" }

// BadArgs is a command line a program must refuse, and a part of the error
// it must say (the flag or argument at fault).
type BadArgs struct {
	Args []string
	Want string
}

// RejectsArgs runs program with each command line of tests in an empty
// environment and requires an error containing its Want.
func RejectsArgs(t *testing.T, program setup.Program, tests []BadArgs) {
	t.Helper()
	for _, tt := range tests {
		err := program(t.Context(), tt.Args, new(bytes.Buffer), new(bytes.Buffer), setup.Env{Getenv: NoEnv})
		if err == nil || !strings.Contains(err.Error(), tt.Want) {
			t.Errorf("run %v: err = %v, want one containing %q", tt.Args, err, tt.Want)
		}
	}
}

// ServesUntilStopped runs a server program with args until it prints
// marker on stdout (it is listening), then cancels its context and
// requires it to return nil: a server example stops cleanly on Ctrl-C.
func ServesUntilStopped(t *testing.T, program setup.Program, env setup.Env, marker string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &markerWriter{marker: []byte(marker), hit: make(chan struct{})}
	errc := make(chan error, 1)
	go func() { errc <- program(ctx, args, out, new(bytes.Buffer), env) }()
	select {
	case <-out.hit:
	case err := <-errc:
		t.Fatalf("the program ended before printing %q: %v\n%s", marker, err, out.String())
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("the program, stopped: %v", err)
	}
}

// markerWriter collects output and closes hit when a write holds marker.
type markerWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker []byte
	hit    chan struct{}
	closed bool
}

func (w *markerWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.closed && bytes.Contains(w.buf.Bytes(), w.marker) {
		w.closed = true
		close(w.hit)
	}
	return len(p), nil
}

func (w *markerWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
