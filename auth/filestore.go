package auth

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
// partial write; of two concurrent writers, the last rename wins. File
// names encode the key (lower-case base32), so any key is safe.
//
// FileStore writes values as given: wrap it with Sealed to encrypt them.
// It is safe for concurrent use, also by several processes sharing the
// directory.
type FileStore struct {
	dir string
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

// Load returns the value stored under key, or ErrNoToken.
func (s *FileStore) Load(ctx context.Context, key string) ([]byte, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("auth: file store: key %q: %w", key, ErrNoToken)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: file store: %w", err)
	}
	return b, nil
}

// Save writes value under key: to a temporary file in the same directory,
// synced, then renamed over the old file, and the directory synced.
func (s *FileStore) Save(ctx context.Context, key string, value []byte) (err error) {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
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
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("auth: file store: %w", err)
	}
	return nil
}
