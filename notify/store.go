package notify

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// Registration is what the Store keeps per subscription: its own ID, whose
// subscription it is, and the subscription as created or renewed,
// clientState included. It is a plain value; treat it as a secret (it
// holds the clientState).
//
// Manager.Create saves a Registration before it asks Graph for the
// subscription (Subscription.ID is empty then: the registration is
// pending) and saves it again with Graph's answer, so a notification that
// arrives in between is verified and delivered, not dropped. The Handler
// finds the Registration of a notification by the ID carried in its
// clientState, which works for a pending one too.
type Registration struct {
	// ID is the Store's key, chosen by Manager.Create before the
	// subscription exists. It is not Graph's subscription ID.
	ID string
	// Owner is the caller's key for the user, e.g. the auth account ID
	// (oid.tid). Notifications carry it to the callback.
	Owner string
	// Subscription is the subscription as Graph returned it, with the
	// clientState. Its ID is empty while the registration is pending.
	Subscription Subscription
}

// Store keeps Registrations where every process that serves the webhook
// can read them: the Handler loads them to verify notifications, the
// Manager saves and deletes them as it creates, renews and removes
// subscriptions. Implementations must be safe for concurrent use; a SQL
// table keyed by Registration.ID is enough.
type Store interface {
	// Load returns the Registration with the given ID. For an ID it does
	// not hold it returns an error matching ErrUnknownSubscription; any
	// other error is a failure of the store (the Handler then asks Graph
	// to deliver again later).
	Load(ctx context.Context, id string) (Registration, error)
	// Save stores reg under reg.ID, replacing any earlier one.
	Save(ctx context.Context, reg Registration) error
	// Delete forgets a Registration; deleting an unknown ID is not an
	// error.
	Delete(ctx context.Context, id string) error
}

// MemoryStore is a Store in memory, for tests, examples and single-process
// services. The zero value is ready to use and safe for concurrent use.
type MemoryStore struct {
	mu   sync.Mutex
	regs map[string]Registration
}

// Load returns the Registration with the given ID.
func (s *MemoryStore) Load(_ context.Context, id string) (Registration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reg, ok := s.regs[id]
	if !ok {
		return Registration{}, &Error{Op: "Load", Err: ErrUnknownSubscription}
	}
	return reg, nil
}

// Save stores reg under reg.ID.
func (s *MemoryStore) Save(_ context.Context, reg Registration) error {
	if reg.ID == "" {
		return invalid("Save", "reg.ID", "is empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.regs == nil {
		s.regs = map[string]Registration{}
	}
	s.regs[reg.ID] = reg
	return nil
}

// Delete forgets a Registration.
func (s *MemoryStore) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.regs, id)
	return nil
}

// List returns the Registrations of owner (every owner when empty),
// ordered by ID.
func (s *MemoryStore) List(owner string) []Registration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Registration
	for _, r := range s.regs {
		if owner == "" || r.Owner == owner {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Registration) int { return strings.Compare(a.ID, b.ID) })
	return out
}
