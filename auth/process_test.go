package auth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/m365kit/m365kit/auth"
)

// writerEnv, when set, makes the test binary a FileStore writer process
// for TestFileStoreAcrossProcesses instead of running tests.
const writerEnv = "M365KIT_FILESTORE_WRITER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(writerEnv); dir != "" {
		os.Exit(fileStoreWriter(dir, os.Getenv(writerEnv+"_ID")))
	}
	os.Exit(m.Run())
}

// writerValue is what writer id writes in round r: large enough that a
// torn write would show, and recognisable.
func writerValue(id string, r int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("writer %s round %d;", id, r)), 3000)
}

const writerRounds = 40

// fileStoreWriter saves and loads one key over and over, checking every
// value it reads is some writer's complete value.
func fileStoreWriter(dir, id string) int {
	ctx := context.Background()
	s, err := auth.NewFileStore(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	for r := range writerRounds {
		if err := increment(ctx, s, counterKey); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if err := s.Save(ctx, "adele.contoso", writerValue(id, r), 0); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		v, _, err := s.Load(ctx, "adele.contoso")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if !whole(v) {
			fmt.Fprintf(os.Stderr, "torn value: %d bytes\n", len(v))
			return 3
		}
	}
	return 0
}

// counterKey holds a number every writer increments with conditional
// saves, once per round: a lost update shows as a smaller final count.
const counterKey = "counter"

// increment adds one to the number under key: load, then save on the
// loaded version, again from the load when another writer came first.
func increment(ctx context.Context, s auth.TokenStore, key string) error {
	for {
		v, version, err := s.Load(ctx, key)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(string(v))
		if err != nil {
			return err
		}
		err = s.Save(ctx, key, []byte(strconv.Itoa(n+1)), version)
		if !errors.Is(err, auth.ErrConflict) {
			return err
		}
	}
}

// whole reports whether v is writerValue of some writer and round.
func whole(v []byte) bool {
	var id string
	var r int
	if _, err := fmt.Sscanf(string(v[:bytes.IndexByte(v, ';')+1]), "writer %s round %d;", &id, &r); err != nil {
		return false
	}
	return bytes.Equal(v, writerValue(id, r))
}

// TestFileStoreAcrossProcesses runs writers in separate processes on one
// directory: no reader ever sees a torn value, no conditional save loses
// another process's update, and no temporary file is left behind.
func TestFileStoreAcrossProcesses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := auth.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(t.Context(), counterKey, []byte("0"), 0); err != nil {
		t.Fatal(err)
	}
	var cmds []*exec.Cmd
	for i := range 4 {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), writerEnv+"="+dir, writerEnv+"_ID="+strconv.Itoa(i))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("writer %d: %s", i, out.String())
			}
		})
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	v, _, err := s.Load(t.Context(), "adele.contoso")
	if err != nil || !whole(v) {
		t.Fatalf("final value torn or missing: %d bytes, %v", len(v), err)
	}
	if n, _, err := s.Load(t.Context(), counterKey); err != nil || string(n) != strconv.Itoa(len(cmds)*writerRounds) {
		t.Errorf("counter = %s (%v), want %d: conditional saves lost updates", n, err, len(cmds)*writerRounds)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("%d files in the store directory, want 2 (temporary files left behind?)", len(entries))
	}
}
