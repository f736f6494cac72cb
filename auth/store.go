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

// TokenStore persists each signed-in user's token cache between runs and
// across processes. The key is the user's account ID (oid.tid); the value
// is an opaque blob holding the user's refresh token, so it is a secret.
//
// Load returns ErrNoToken (possibly wrapped) when the key is absent. Save
// replaces the value atomically: a concurrent Load sees the old value or
// the new one, never a mix. Delete of an absent key is not an error.
// Implementations must be safe for concurrent use and should honour ctx.
type TokenStore interface {
	Load(ctx context.Context, key string) ([]byte, error)
	Save(ctx context.Context, key string, value []byte) error
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
	mu sync.RWMutex
	m  map[string][]byte
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// Load returns a copy of the value stored under key, or ErrNoToken.
func (s *MemoryStore) Load(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	v, ok := s.m[key]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("auth: memory store: key %q: %w", key, ErrNoToken)
	}
	return slices.Clone(v), nil
}

// Save stores a copy of value under key.
func (s *MemoryStore) Save(ctx context.Context, key string, value []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[key] = slices.Clone(value)
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
