package setup

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

// Program is an example's whole program without the process around it:
// its arguments (without the program name), its output, and what it reads
// from its surroundings. Tests call it with a shared demo and buffers.
type Program func(ctx context.Context, args []string, stdout, stderr io.Writer, env Env) error

// Main runs program as the process: os.Args, os.Stdout and os.Stderr, the
// process environment, and a context cancelled by Ctrl-C. An error other
// than -h's is printed after the program's name and exits with status 1.
func Main(name string, program Program) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := program(ctx, os.Args[1:], os.Stdout, os.Stderr, Env{})
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}
