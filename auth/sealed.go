package auth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// sealedMagic starts every sealed blob: format version 1.
const sealedMagic = "m3s1"

// keyIDLen is the length of the key ID written in each blob: the first
// bytes of SHA-256 of the key, enough to pick the key, useless to guess it.
const keyIDLen = 4

// SealedStore is a TokenStore that encrypts values with AES-256-GCM before
// handing them to another store. Each blob carries the ID of the key that
// sealed it and is bound to its store key, so a blob copied to another
// user's key does not open. It is safe for concurrent use if the inner
// store is.
type SealedStore struct {
	inner TokenStore
	keys  []sealKey
}

type sealKey struct {
	id   [keyIDLen]byte
	aead cipher.AEAD
}

// Sealed returns a store that encrypts every value with the first key and
// decrypts with whichever key sealed it. To rotate, put the new key first
// and keep the old ones after it until every value has been saved again
// (each token refresh saves). Keys are 32 bytes (AES-256); keep them out
// of the store they protect.
func Sealed(store TokenStore, keys ...[]byte) (*SealedStore, error) {
	if store == nil {
		return nil, errors.New("auth: sealed store: store is nil")
	}
	if len(keys) == 0 {
		return nil, errors.New("auth: sealed store: no key given")
	}
	s := &SealedStore{inner: store}
	for i, k := range keys {
		if len(k) != 32 {
			return nil, fmt.Errorf("auth: sealed store: key %d is %d bytes, want 32", i, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("auth: sealed store: key %d: %w", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("auth: sealed store: key %d: %w", i, err)
		}
		sum := sha256.Sum256(k)
		var sk sealKey
		copy(sk.id[:], sum[:keyIDLen])
		sk.aead = aead
		for j, prev := range s.keys {
			if prev.id == sk.id {
				return nil, fmt.Errorf("auth: sealed store: keys %d and %d are the same", j, i)
			}
		}
		s.keys = append(s.keys, sk)
	}
	return s, nil
}

// Load opens the value stored under key and returns it with the inner
// store's version. A value that was not sealed by one of the store's keys,
// or was altered, is an error.
func (s *SealedStore) Load(ctx context.Context, key string) ([]byte, int64, error) {
	blob, version, err := s.inner.Load(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	v, err := s.open(key, blob)
	if err != nil {
		return nil, 0, err
	}
	return v, version, nil
}

// Save seals value with the first key and stores it under key, on the
// inner store's terms for version (see TokenStore).
func (s *SealedStore) Save(ctx context.Context, key string, value []byte, version int64) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return s.inner.Save(ctx, key, s.seal(key, value), version)
}

// Delete removes key from the inner store.
func (s *SealedStore) Delete(ctx context.Context, key string) error {
	return s.inner.Delete(ctx, key)
}

func (s *SealedStore) seal(key string, value []byte) []byte {
	k := s.keys[0]
	ns := k.aead.NonceSize()
	out := make([]byte, 0, len(sealedMagic)+keyIDLen+ns+len(value)+k.aead.Overhead())
	out = append(out, sealedMagic...)
	out = append(out, k.id[:]...)
	nonce := out[len(out) : len(out)+ns]
	_, _ = rand.Read(nonce) // crypto/rand.Read never returns an error
	out = out[:len(out)+ns]
	return k.aead.Seal(out, nonce, value, []byte(key))
}

// open decrypts a sealed blob; key is the additional data it was bound to.
func (s *SealedStore) open(key string, blob []byte) ([]byte, error) {
	head := len(sealedMagic) + keyIDLen
	if len(blob) < head || string(blob[:len(sealedMagic)]) != sealedMagic {
		return nil, fmt.Errorf("auth: sealed store: value for key %q is not sealed", key)
	}
	var id [keyIDLen]byte
	copy(id[:], blob[len(sealedMagic):head])
	for _, k := range s.keys {
		if k.id != id {
			continue
		}
		rest := blob[head:]
		if len(rest) < k.aead.NonceSize()+k.aead.Overhead() {
			return nil, fmt.Errorf("auth: sealed store: value for key %q is truncated", key)
		}
		nonce, ct := rest[:k.aead.NonceSize()], rest[k.aead.NonceSize():]
		pt, err := k.aead.Open(nil, nonce, ct, []byte(key))
		if err != nil {
			return nil, fmt.Errorf("auth: sealed store: value for key %q does not open: altered, or sealed for another key", key)
		}
		return pt, nil
	}
	return nil, fmt.Errorf("auth: sealed store: value for key %q was sealed with an unknown key (id %x)", key, id)
}
