package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// ErrNoToken is returned by a TokenStore's Load when nothing is stored
// under the key. Stores may wrap it; callers match it with errors.Is.
var ErrNoToken = errors.New("auth: no token stored")

// ErrConflict is returned by a TokenStore's conditional Save when the
// stored value is no longer the one the version names: another process
// saved or deleted it since it was loaded. Stores may wrap it; callers
// match it with errors.Is.
var ErrConflict = errors.New("auth: token store: value changed since it was loaded")

// TokenStore persists each signed-in user's token cache between runs and
// across processes. The key is the user's account ID (oid.tid); the value
// is an opaque blob holding the user's refresh token, so it is a secret.
//
// Load returns the value and its version, or ErrNoToken (possibly
// wrapped) when the key is absent. A version identifies the stored value:
// it is never 0, and a store never returns the same version for two
// different values of one key, not even after a Delete (a counter that
// survives deletes, a random start on each insert, or a hash of the value
// all qualify).
//
// Save with version 0 stores value whatever is stored (a sign-in, which
// always wins). Save with a version from Load is a compare-and-swap: it
// stores value only if the key still holds the value that Load returned,
// and otherwise stores nothing and returns ErrConflict (possibly wrapped),
// also when the key was deleted since. Either way the value is replaced
// atomically: a concurrent Load sees the old value or the new one, never a
// mix. The App loads again after a conflict, keeps the other process's
// tokens and adds the access tokens it obtained that they lack, and saves
// again conditionally, so no process overwrites tokens it never saw.
//
// Delete of an absent key is not an error. Implementations must be safe
// for concurrent use and should honour ctx.
type TokenStore interface {
	Load(ctx context.Context, key string) (value []byte, version int64, err error)
	Save(ctx context.Context, key string, value []byte, version int64) error
	Delete(ctx context.Context, key string) error
}

// checkKey rejects the keys no store accepts.
func checkKey(key string) error {
	if key == "" {
		return errors.New("auth: store key is empty")
	}
	return nil
}

// MemoryStore is a TokenStore in process memory, for tests and single
// process tools: everything is lost when the process ends. The zero value
// is ready to use. It is safe for concurrent use.
type MemoryStore struct {
	mu   sync.RWMutex
	m    map[string]memEntry
	last int64 // the last version given out, for any key
}

type memEntry struct {
	value   []byte
	version int64
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// Load returns a copy of the value stored under key and its version, or
// ErrNoToken.
func (s *MemoryStore) Load(ctx context.Context, key string) ([]byte, int64, error) {
	if err := checkKey(key); err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	s.mu.RLock()
	v, ok := s.m[key]
	s.mu.RUnlock()
	if !ok {
		return nil, 0, fmt.Errorf("auth: memory store: key %q: %w", key, ErrNoToken)
	}
	return slices.Clone(v.value), v.version, nil
}

// Save stores a copy of value under key: always with version 0, else only
// if version is still the key's version (or it returns ErrConflict).
// Versions count saves across the whole store, so none is ever reused.
func (s *MemoryStore) Save(ctx context.Context, key string, value []byte, version int64) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if version != 0 && s.m[key].version != version {
		return fmt.Errorf("auth: memory store: key %q: %w", key, ErrConflict)
	}
	if s.m == nil {
		s.m = map[string]memEntry{}
	}
	s.last++
	s.m[key] = memEntry{value: slices.Clone(value), version: s.last}
	return nil
}

// Delete removes key.
func (s *MemoryStore) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// Keys returns the stored keys in sorted order.
func (s *MemoryStore) Keys() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
