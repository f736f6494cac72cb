package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/m365kit/m365kit/graphclient"
)

// Router is a ready-made HandlerConfig.Deliver (use Router.Deliver) that
// takes the action each notification calls for:
//
//   - a change notification, or a missed lifecycle event: ask Sync for a
//     sync of the owner's resource (notifications are hints; the sync
//     from the stored cursor is the truth), once per Key and batch;
//   - reauthorizationRequired: renew the subscription (which reauthorizes
//     and extends it; the Manager saves the new expiration); when Graph
//     no longer has it, recreate it;
//   - subscriptionRemoved: recreate the subscription with a fresh
//     clientState (the Manager stores it and forgets the old one), then
//     ask Sync for a sync to catch what happened in between.
//
// Unknown lifecycle events are ignored, and so are lifecycle events for a
// Registration the Store no longer holds (it was replaced or deleted after
// the Handler verified the notification). A Router is safe for concurrent
// use when its Sync and Manager are.
type Router struct {
	// Sync runs or schedules the syncs: a SyncFunc for one sync per Key
	// and delivery, a *Debouncer to coalesce bursts. Required.
	Sync Syncer
	// Manager returns the subscription Manager of an owner (over that
	// user's graphclient.Client, with the Store the Handler reads).
	// Required for lifecycle events.
	Manager func(ctx context.Context, owner string) (*Manager, error)
}

// Deliver handles the verified notifications of one POST: first the
// lifecycle events, then one Sync per distinct Key, in the order the keys
// first appear. It goes on after a failure and returns every error,
// joined.
func (rt *Router) Deliver(ctx context.Context, batch []ChangeNotification) error {
	if rt.Sync == nil {
		return invalid("Router.Deliver", "Router.Sync", "is nil")
	}
	var errs []error
	var keys []Key
	for _, n := range batch {
		switch n.LifecycleEvent {
		case "", Missed:
		case ReauthorizationRequired, SubscriptionRemoved:
			resync, err := rt.lifecycle(ctx, n)
			if err != nil {
				errs = append(errs, err)
			}
			if !resync {
				continue
			}
		default:
			continue
		}
		if k := n.Key(); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if err := rt.Sync.Sync(ctx, k); err != nil {
			errs = append(errs, &Error{Op: "Router.Deliver", Err: fmt.Errorf("sync of %s: %w", k, err)})
		}
	}
	return errors.Join(errs...)
}

// lifecycle renews or recreates n's subscription and reports whether the
// resource must be resynchronised.
func (rt *Router) lifecycle(ctx context.Context, n ChangeNotification) (resync bool, err error) {
	const op = "Router.Deliver"
	if rt.Manager == nil {
		return false, invalid(op, "Router.Manager", "is nil; lifecycle events need it")
	}
	m, err := rt.Manager(ctx, n.Owner)
	if err != nil {
		return false, subErr(op, n.SubscriptionID, err)
	}
	reg, err := m.store.Load(ctx, n.RegistrationID)
	switch {
	case errors.Is(err, ErrUnknownSubscription):
		// The Handler verified n against this registration, so it was
		// replaced or deleted since (a renewal that recreated it, an
		// earlier lifecycle event, a disconnect): nothing left to do.
		return false, nil
	case err != nil:
		return false, subErr(op, n.SubscriptionID, err)
	}
	if reg.Subscription.ID == "" { // still pending: Graph has told us its ID
		reg.Subscription.ID = n.SubscriptionID
	}
	if n.LifecycleEvent == ReauthorizationRequired {
		_, err := m.Renew(ctx, reg)
		if !errors.Is(err, graphclient.ErrNotFound) {
			return false, err
		}
	}
	if _, err := m.Recreate(ctx, reg); err != nil {
		return false, err
	}
	return true, nil
}
