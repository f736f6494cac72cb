package notify

import (
	"context"
	"errors"
)

// Router is a ready-made ProcessFunc (use Router.Process) that takes the
// action each notification calls for:
//
//   - a change notification, or a missed lifecycle event: Trigger a
//     debounced sync of the owner's resource (notifications are hints;
//     the sync from the stored cursor is the truth);
//   - reauthorizationRequired: renew the subscription (which reauthorizes
//     it and extends it) and save the new expiration; when Graph no
//     longer has it, recreate it;
//   - subscriptionRemoved: create the subscription again with a fresh
//     clientState, save it, forget the old one, then Trigger a sync to
//     catch what happened in between.
//
// Unknown lifecycle events are ignored. A Router is safe for concurrent
// use when its Store and Manager function are.
type Router struct {
	// Sync debounces the syncs. Required.
	Sync *Debouncer
	// Store holds the Registrations. Required for lifecycle events.
	Store Store
	// Manager returns the subscription Manager of an owner (over that
	// user's graphclient.Client). Required for lifecycle events.
	Manager func(ctx context.Context, owner string) (*Manager, error)
}

// Process handles one verified notification.
func (rt *Router) Process(ctx context.Context, n Notification) error {
	if rt.Sync == nil {
		return invalid("Router", "Router.Sync", "is nil")
	}
	switch n.LifecycleEvent {
	case "", Missed:
		rt.Sync.Trigger(n.Key())
		return nil
	case ReauthorizationRequired, SubscriptionRemoved:
	default:
		return nil
	}
	if rt.Store == nil || rt.Manager == nil {
		return invalid("Router", "Router.Store/Manager", "is nil; lifecycle events need both")
	}
	reg, err := rt.Store.Lookup(ctx, n.SubscriptionID)
	if err != nil {
		return &Error{Op: "Router", SubscriptionID: n.SubscriptionID, Err: err}
	}
	m, err := rt.Manager(ctx, reg.Owner)
	if err != nil {
		return &Error{Op: "Router", SubscriptionID: n.SubscriptionID, Err: err}
	}
	if n.LifecycleEvent == ReauthorizationRequired {
		renewed, err := m.Renew(ctx, reg.Subscription)
		switch {
		case err == nil:
			return rt.Store.Save(ctx, Registration{Owner: reg.Owner, Subscription: *renewed})
		case !errors.Is(err, ErrNotFound):
			return err
		}
	}
	return rt.recreate(ctx, m, reg)
}

// recreate replaces reg's subscription with a new one and resyncs.
func (rt *Router) recreate(ctx context.Context, m *Manager, reg Registration) error {
	old := reg.Subscription
	sub, err := m.Create(ctx, Target{Resource: old.Resource, ChangeType: old.ChangeType})
	if err != nil {
		return err
	}
	if err := rt.Store.Save(ctx, Registration{Owner: reg.Owner, Subscription: *sub}); err != nil {
		return &Error{Op: "Router", SubscriptionID: sub.ID, Err: err}
	}
	if err := rt.Store.Delete(ctx, old.ID); err != nil {
		return &Error{Op: "Router", SubscriptionID: old.ID, Err: err}
	}
	rt.Sync.Trigger(Key{Owner: reg.Owner, Resource: sub.Resource})
	return nil
}
