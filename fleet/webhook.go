package fleet

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"sync"
	"time"

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

// deliver is the Handler's Deliver: the durable intake. On SQLite, which
// has one writer, concurrent deliveries are combined: the first caller
// stores its own and every batch that arrived meanwhile in one
// transaction (one commit instead of one each, served in arrival order),
// the others wait for that commit.
func (f *Fleet) deliver(ctx context.Context, batch []notify.ChangeNotification) error {
	if f.db.sqlite == nil {
		return f.store(ctx, batch)
	}
	c := &f.intake
	req := &intakeReq{batch: batch, done: make(chan error, 1)}
	c.mu.Lock()
	c.pending = append(c.pending, req)
	if c.running {
		c.mu.Unlock()
		return <-req.done
	}
	c.running = true
	c.mu.Unlock()
	// This caller combines until nothing is pending. Its own context may
	// end meanwhile; the others' batches must still be stored.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for {
		c.mu.Lock()
		reqs := c.pending
		if len(reqs) > maxCombined {
			reqs = reqs[:maxCombined]
		}
		c.pending = c.pending[len(reqs):]
		if len(reqs) == 0 {
			c.running = false
			c.mu.Unlock()
			break
		}
		c.mu.Unlock()
		var all []notify.ChangeNotification
		for _, r := range reqs {
			all = append(all, r.batch...)
		}
		err := f.store(sctx, all)
		for _, r := range reqs {
			r.done <- err
		}
	}
	return <-req.done
}

// maxCombined bounds the deliveries stored in one transaction.
const maxCombined = 256

// combiner queues concurrent deliveries for one transaction (SQLite).
type combiner struct {
	mu      sync.Mutex
	pending []*intakeReq
	running bool
}

type intakeReq struct {
	batch []notify.ChangeNotification
	done  chan error
}

// store stores the jobs of a batch of verified notifications in one
// transaction.
func (f *Fleet) store(ctx context.Context, batch []notify.ChangeNotification) error {
	type key struct{ account, resource string }
	var resyncs, renews, removed, inactive int
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
				inactive++
				continue
			}
			switch n.LifecycleEvent {
			case "", notify.Missed:
			case notify.ReauthorizationRequired:
				// Count the request: if a subscription job of the resource
				// runs now, the insert below is skipped as its duplicate,
				// and that job, seeing the count moved, inserts a
				// follow-up (subscribeWorker.done).
				if _, err := tx.Exec(ctx, `UPDATE fleet_subscriptions SET renew = renew + 1 WHERE id = $1`, n.RegistrationID); err != nil {
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
	f.m.rejected(ctx, "inactive_account", inactive)
	return nil
}
