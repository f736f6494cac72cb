package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// fileKeyEncoding turns a key into a file name that is safe on every file
// system, case-insensitive ones included: lower-case base32 without padding.
var fileKeyEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// maxFileKey is the longest key a FileStore accepts: its encoded name plus
// the suffix must fit the 255-byte file-name limit.
const maxFileKey = 150

// FileStore is a TokenStore keeping one file per key in a directory. Files
// are created with mode 0600 and replaced by an atomic rename, so a reader
// in this or another process sees the old value or the new one, never a
// partial write. A value's version is a hash of its bytes; a conditional
// Save compares it with the stored file's under a lock on the directory
// (flock on the directory on Unix; LockFileEx on a file named .lock in it
// on Windows), so it holds across processes. File names encode the key
// (lower-case base32), so any key is safe.
//
// FileStore writes values as given: wrap it with Sealed to encrypt them.
// It is safe for concurrent use, also by several processes sharing the
// directory on a local file system (on systems other than Unix and
// Windows, and on network file systems without working locks, a
// conditional Save is checked only within the process).
type FileStore struct {
	dir string
	mu  sync.Mutex // serialises this process's writers; lockDir the others
}

// NewFileStore returns a FileStore in dir, creating the directory with
// mode 0700 if it does not exist.
func NewFileStore(dir string) (*FileStore, error) {
	if dir == "" {
		return nil, errors.New("auth: file store: dir is empty")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("auth: file store: %w", err)
	}
	return &FileStore{dir: dir}, nil
}

func (s *FileStore) path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	if len(key) > maxFileKey {
		return "", fmt.Errorf("auth: file store: key is %d bytes, longer than %d", len(key), maxFileKey)
	}
	return filepath.Join(s.dir, fileKeyEncoding.EncodeToString([]byte(key))+".tok"), nil
}

// Load returns the value stored under key and its version, or
// ErrNoToken.
func (s *FileStore) Load(ctx context.Context, key string) ([]byte, int64, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	b, err := s.read(key, p)
	if err != nil {
		return nil, 0, err
	}
	return b, fileVersion(b), nil
}

func (s *FileStore) read(key, p string) ([]byte, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("auth: file store: key %q: %w", key, ErrNoToken)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: file store: %w", err)
	}
	return b, nil
}

// fileVersion is a value's version: the first 63 bits of its SHA-256,
// never 0. Equal versions mean equal values, which is all a conditional
// Save needs: it replaces a value only if nobody changed it since.
func fileVersion(b []byte) int64 {
	sum := sha256.Sum256(b)
	v := int64(binary.BigEndian.Uint64(sum[:8]) >> 1)
	if v == 0 {
		v = 1
	}
	return v
}

// lock takes the directory's lock, against this process's other writers
// and other processes', and returns its release.
func (s *FileStore) lock() (func(), error) {
	s.mu.Lock()
	unlock, err := lockDir(s.dir)
	if err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("auth: file store: lock: %w", err)
	}
	return func() {
		unlock()
		s.mu.Unlock()
	}, nil
}

// Save writes value under key: to a temporary file in the same directory,
// synced, then renamed over the old file, and the directory synced. With
// a version other than 0 it first checks, under the directory's lock,
// that the stored value is still the one of that version, and returns
// ErrConflict if not (or if the key is gone).
func (s *FileStore) Save(ctx context.Context, key string, value []byte, version int64) (err error) {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if version != 0 {
		cur, err := s.read(key, p)
		if errors.Is(err, ErrNoToken) || (err == nil && fileVersion(cur) != version) {
			return fmt.Errorf("auth: file store: key %q: %w", key, ErrConflict)
		}
		if err != nil {
			return err
		}
	}
	f, err := os.CreateTemp(s.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("auth: file store: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	// CreateTemp already uses 0600; Chmod guards against a permissive umask
	// on platforms where it does not.
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("auth: file store: %w", err)
	}
	if _, err := f.Write(value); err != nil {
		return fmt.Errorf("auth: file store: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("auth: file store: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("auth: file store: %w", err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return fmt.Errorf("auth: file store: %w", err)
	}
	s.syncDir()
	return nil
}

// syncDir flushes the directory, so that a rename (a rotated refresh
// token) survives a crash of the machine. Best effort: some systems
// cannot sync a directory, and the value is already in place.
func (s *FileStore) syncDir() {
	if d, err := os.Open(s.dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// Delete removes the file for key.
func (s *FileStore) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("auth: file store: %w", err)
	}
	return nil
}
