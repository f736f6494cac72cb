package fleet

import (
	"context"
	"database/sql"
	"errors"
	"net/http"

	"github.com/m365kit/m365kit/notify"
)

// Handler returns the webhook endpoint for Graph's change and lifecycle
// notifications: serve it at Config.NotificationURL on every replica
// (Graph reaches whichever the load balancer picks). It verifies each
// notification's clientState against the registrations all replicas
// share and, before it answers 202, turns the verified ones into jobs in
// one transaction: a change or a missed event asks for one sync of the
// resource (bumping its request counter), reauthorizationRequired queues
// a renewal, subscriptionRemoved a new subscription and a resync. If
// that transaction fails, it answers 503 with Retry-After and Graph
// delivers again later, so a notification is never acknowledged before
// it is stored. Notifications of unknown, disconnected or parked
// accounts are acknowledged and dropped. It is safe for concurrent use.
func (f *Fleet) Handler() http.Handler { return f.hook }

// deliver is the Handler's Deliver: the durable intake.
func (f *Fleet) deliver(ctx context.Context, batch []notify.ChangeNotification) error {
	type key struct{ account, resource string }
	var resyncs, renews, removed int
	err := f.db.inTx(ctx, func(tx *Tx) error {
		active := map[string]bool{}
		requested := map[key]bool{}
		for _, n := range batch {
			res := resourceOf(n.SubscriptionResource)
			if res == "" {
				continue
			}
			act, seen := active[n.Owner]
			if !seen {
				var status string
				err := tx.QueryRow(ctx, `SELECT status FROM fleet_accounts WHERE id = $1`, n.Owner).Scan(&status)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return err
				}
				act = Status(status).active()
				active[n.Owner] = act
			}
			if !act {
				continue
			}
			switch n.LifecycleEvent {
			case "", notify.Missed:
			case notify.ReauthorizationRequired:
				if _, err := tx.Exec(ctx, `UPDATE fleet_subscriptions SET renew = 1 WHERE id = $1`, n.RegistrationID); err != nil {
					return err
				}
				if _, err := f.q.insertTx(ctx, tx, subscribeArgs{Account: n.Owner, Resource: res, Reason: n.LifecycleEvent}, nil); err != nil {
					return err
				}
				renews++
				continue
			case notify.SubscriptionRemoved:
				if _, err := tx.Exec(ctx, `DELETE FROM fleet_subscriptions WHERE id = $1`, n.RegistrationID); err != nil {
					return err
				}
				if _, err := f.q.insertTx(ctx, tx, subscribeArgs{Account: n.Owner, Resource: res, Reason: n.LifecycleEvent}, nil); err != nil {
					return err
				}
				removed++
			default:
				continue
			}
			k := key{n.Owner, res}
			if requested[k] {
				continue
			}
			requested[k] = true
			if err := f.requestTx(ctx, tx, n.Owner, res, "notification", true); err != nil {
				return err
			}
			resyncs++
		}
		return nil
	})
	if err != nil {
		f.log.ErrorContext(ctx, "fleet: storing notifications failed; Graph will deliver again", "notifications", len(batch), "error", err)
		return err
	}
	f.m.notified(ctx, len(batch), resyncs, renews, removed)
	return nil
}
