package notify

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// Registration is what the caller stores per subscription: whose it is and
// the subscription as created or renewed, clientState included. It is a
// plain value; treat it as a secret (it holds the clientState).
type Registration struct {
	// Owner is the caller's key for the user, e.g. the auth account ID
	// (oid.tid). Notifications carry it to the callback.
	Owner        string
	Subscription Subscription
}

// Lookup finds the Registration of a subscription ID. For an ID it does not
// know it returns an error matching ErrUnknownSubscription; any other error
// is a failure of the store (the Handler then asks Graph to retry).
// Implementations must be safe for concurrent use.
type Lookup interface {
	Lookup(ctx context.Context, subscriptionID string) (Registration, error)
}

// LookupFunc adapts a function to Lookup.
type LookupFunc func(ctx context.Context, subscriptionID string) (Registration, error)

// Lookup calls f.
func (f LookupFunc) Lookup(ctx context.Context, subscriptionID string) (Registration, error) {
	return f(ctx, subscriptionID)
}

// Store keeps Registrations: the Handler reads them, the Router replaces
// them when it recreates a subscription. Implementations must be safe for
// concurrent use.
type Store interface {
	Lookup
	// Save stores reg under reg.Subscription.ID, replacing any earlier one.
	Save(ctx context.Context, reg Registration) error
	// Delete forgets a subscription; deleting an unknown ID is not an error.
	Delete(ctx context.Context, subscriptionID string) error
}

// MemoryStore is a Store in memory, for tests, examples and single-process
// services. The zero value is ready to use and safe for concurrent use.
type MemoryStore struct {
	mu   sync.Mutex
	regs map[string]Registration
}

// Lookup returns the Registration of a subscription ID.
func (s *MemoryStore) Lookup(_ context.Context, id string) (Registration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reg, ok := s.regs[id]
	if !ok {
		return Registration{}, &Error{Op: "Lookup", SubscriptionID: id, Err: ErrUnknownSubscription}
	}
	return reg, nil
}

// Save stores reg under its subscription ID.
func (s *MemoryStore) Save(_ context.Context, reg Registration) error {
	if reg.Subscription.ID == "" {
		return invalid("Save", "reg.Subscription.ID", "is empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.regs == nil {
		s.regs = map[string]Registration{}
	}
	s.regs[reg.Subscription.ID] = reg
	return nil
}

// Delete forgets a subscription.
func (s *MemoryStore) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.regs, id)
	return nil
}

// List returns the Registrations of owner (every owner when empty),
// ordered by subscription ID.
func (s *MemoryStore) List(owner string) []Registration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Registration
	for _, r := range s.regs {
		if owner == "" || r.Owner == owner {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Registration) int { return strings.Compare(a.Subscription.ID, b.Subscription.ID) })
	return out
}
