package setup

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain runs the helper process of TestMainExitStatus when asked to.
func TestMain(m *testing.M) {
	if mode := os.Getenv("SETUP_MAIN_HELPER"); mode != "" {
		Main("helper", func(_ context.Context, args []string, stdout, _ io.Writer, env Env) error {
			if env.Demo != nil || env.Getenv != nil {
				return errorString("Main passed a non-zero Env")
			}
			switch mode {
			case "fail":
				return errorString("the program failed")
			case "help":
				return flag.ErrHelp
			}
			_, err := io.WriteString(stdout, "ran with "+strings.Join(args, " "))
			return err
		})
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type errorString string

func (e errorString) Error() string { return string(e) }

// TestMainExitStatus runs Main in a child process: a program's error is
// printed after its name with status 1; -h's ErrHelp and success exit 0.
func TestMainExitStatus(t *testing.T) {
	t.Parallel()
	for mode, want := range map[string]struct {
		code           int
		stdout, stderr string
	}{
		"ok":   {0, "ran with -x y", ""},
		"fail": {1, "", "helper: the program failed\n"},
		"help": {0, "", ""},
	} {
		cmd := exec.Command(os.Args[0], "-x", "y")
		cmd.Env = append(os.Environ(), "SETUP_MAIN_HELPER="+mode)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != want.code || stdout.String() != want.stdout || stderr.String() != want.stderr {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d, %q, %q", mode, code, stdout.String(), stderr.String(), want.code, want.stdout, want.stderr)
		}
	}
}
