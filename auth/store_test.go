package auth_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/internal/storetest"
)

// storeCases returns one fresh store of each kind the package ships.
func storeCases(t *testing.T) map[string]auth.TokenStore {
	t.Helper()
	fs, err := auth.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := auth.Sealed(auth.NewMemoryStore(), key(1))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]auth.TokenStore{
		"memory":      auth.NewMemoryStore(),
		"zero memory": &auth.MemoryStore{},
		"file":        fs,
		"sealed":      sealed,
	}
}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestStoreContract(t *testing.T) {
	t.Parallel()
	for name, s := range storeCases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			const k = "0f4a8c1e-oid.72f988bf-tid"
			if _, _, err := s.Load(ctx, k); !errors.Is(err, auth.ErrNoToken) {
				t.Fatalf("Load of a missing key: err = %v, want ErrNoToken", err)
			}
			want := []byte("blob \x00 with bytes")
			if err := s.Save(ctx, k, want, 0); err != nil {
				t.Fatal(err)
			}
			want2 := []byte("other user")
			if err := s.Save(ctx, "Other/Key:..", want2, 0); err != nil {
				t.Fatal(err)
			}
			got, _, err := s.Load(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Load (-want +got):\n%s", diff)
			}
			got[0] = 'X' // the caller's copy; the store must not change
			if again, _, _ := s.Load(ctx, k); !bytes.Equal(again, want) {
				t.Errorf("changing a loaded value changed the store: %q", again)
			}
			if err := s.Save(ctx, k, []byte("rotated"), 0); err != nil {
				t.Fatal(err)
			}
			if got, _, _ := s.Load(ctx, k); string(got) != "rotated" {
				t.Errorf("Load after overwrite = %q", got)
			}
			if err := s.Delete(ctx, k); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Load(ctx, k); !errors.Is(err, auth.ErrNoToken) {
				t.Errorf("Load after Delete: err = %v, want ErrNoToken", err)
			}
			if err := s.Delete(ctx, k); err != nil {
				t.Errorf("Delete of a missing key: %v", err)
			}
			if got, _, _ := s.Load(ctx, "Other/Key:.."); !bytes.Equal(got, want2) {
				t.Errorf("other key = %q, want %q", got, want2)
			}
			if err := s.Save(ctx, "", want, 0); err == nil {
				t.Error("Save with an empty key succeeded")
			}
			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			if _, _, err := s.Load(cancelled, "Other/Key:.."); !errors.Is(err, context.Canceled) {
				t.Errorf("Load with a cancelled context: err = %v", err)
			}
		})
	}
}

func TestStoreConcurrentWriters(t *testing.T) {
	t.Parallel()
	for name, s := range storeCases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			var wg sync.WaitGroup
			vals := make([][]byte, 8)
			for i := range vals {
				vals[i] = bytes.Repeat([]byte{byte('a' + i)}, 64<<10)
				wg.Go(func() {
					for range 10 {
						if err := s.Save(ctx, "k", vals[i], 0); err != nil {
							t.Error(err)
						}
						if got, _, err := s.Load(ctx, "k"); err != nil {
							t.Error(err)
						} else if len(got) != 64<<10 || bytes.Count(got, got[:1]) != len(got) {
							t.Errorf("torn value read: %d bytes", len(got))
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

func TestFileStoreFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "tokens")
	s, err := auth.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"../../etc/passwd", "A.b", "a.B", strings.Repeat("x", 150)}
	for _, k := range keys {
		if err := s.Save(t.Context(), k, []byte(k), 0); err != nil {
			t.Fatalf("Save(%q): %v", k, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(keys) {
		t.Errorf("%d files for %d keys (keys differing only in case must not collide)", len(entries), len(keys))
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", e.Name(), info.Mode().Perm())
		}
		if strings.ContainsAny(e.Name(), `/\:`) || strings.HasPrefix(e.Name(), ".") {
			t.Errorf("unsafe file name %q", e.Name())
		}
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", st.Mode().Perm())
	}
	if err := s.Save(t.Context(), strings.Repeat("x", 151), nil, 0); err == nil {
		t.Error("Save with a 151-byte key succeeded")
	}
	if _, err := auth.NewFileStore(""); err == nil {
		t.Error("NewFileStore(\"\") succeeded")
	}
}

func TestSealedRotationAndTampering(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	inner := auth.NewMemoryStore()
	old, err := auth.Sealed(inner, key(1))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte(`{"RefreshToken":{"x":{"secret":"refresh-secret"}}}`)
	if err := old.Save(ctx, "alice", secret, 0); err != nil {
		t.Fatal(err)
	}
	raw, _, _ := inner.Load(ctx, "alice")
	if bytes.Contains(raw, []byte("refresh-secret")) {
		t.Fatal("sealed value holds the secret in clear text")
	}

	rotated, err := auth.Sealed(inner, key(2), key(1))
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := rotated.Load(ctx, "alice"); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("old key no longer opens after rotation: %q, %v", got, err)
	}
	if err := rotated.Save(ctx, "alice", secret, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := old.Load(ctx, "alice"); err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Errorf("a new write was not sealed with the first key: old store err = %v", err)
	}
	newOnly, _ := auth.Sealed(inner, key(2))
	if _, _, err := newOnly.Load(ctx, "alice"); err != nil {
		t.Errorf("new key alone does not open a rotated value: %v", err)
	}

	// A blob moved to another user's key does not open.
	raw, _, _ = inner.Load(ctx, "alice")
	_ = inner.Save(ctx, "mallory", raw, 0)
	if _, _, err := rotated.Load(ctx, "mallory"); err == nil {
		t.Error("alice's blob opened under mallory's key")
	}
	// Any flipped bit is detected.
	for i := range raw {
		bad := bytes.Clone(raw)
		bad[i] ^= 0x10
		_ = inner.Save(ctx, "alice", bad, 0)
		if _, _, err := rotated.Load(ctx, "alice"); err == nil {
			t.Fatalf("flipping byte %d went unnoticed", i)
		}
	}
	_ = inner.Save(ctx, "plain", []byte("{}"), 0)
	if _, _, err := rotated.Load(ctx, "plain"); err == nil || strings.Contains(err.Error(), "{}") {
		t.Errorf("clear-text value: err = %v", err)
	}
}

func TestSealedRejectsBadKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		store auth.TokenStore
		keys  [][]byte
		want  string
	}{
		{"nil store", nil, [][]byte{key(1)}, "store is nil"},
		{"no key", auth.NewMemoryStore(), nil, "no key"},
		{"short key", auth.NewMemoryStore(), [][]byte{key(1)[:16]}, "key 0 is 16 bytes, want 32"},
		{"duplicate", auth.NewMemoryStore(), [][]byte{key(1), key(1)}, "keys 0 and 1 are the same"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := auth.Sealed(tt.store, tt.keys...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestStoreConditionalSave(t *testing.T) {
	t.Parallel()
	for name, s := range storeCases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			storetest.Conditional(t, s)
		})
	}
}

// TestStoreIncrements: conditional saves from several store values over
// the same data (one per process) lose no update.
func TestStoreIncrements(t *testing.T) {
	t.Parallel()
	mem := auth.NewMemoryStore()
	dir := t.TempDir()
	for name, open := range map[string]func() auth.TokenStore{
		"memory": func() auth.TokenStore { return mem },
		"file": func() auth.TokenStore {
			s, err := auth.NewFileStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			storetest.Increments(t, open, 6, 25)
		})
	}
}

// TestSignInSurvivesRefresh: process A refreshes a user's tokens while
// process B signs the user in again; B's refresh token must survive A's
// save, whichever store they share.
func TestSignInSurvivesRefresh(t *testing.T) {
	t.Parallel()
	for _, when := range []storetest.Interleaving{storetest.DuringRefresh, storetest.BeforeSave} {
		t.Run("memory/"+when.String(), func(t *testing.T) {
			t.Parallel()
			mem := auth.NewMemoryStore()
			storetest.SignInSurvivesRefresh(t, func() auth.TokenStore { return mem }, when)
		})
		t.Run("file/"+when.String(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			storetest.SignInSurvivesRefresh(t, func() auth.TokenStore {
				s, err := auth.NewFileStore(dir)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}, when)
		})
	}
}
