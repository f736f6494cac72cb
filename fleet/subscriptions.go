package fleet

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/notify"
	"github.com/m365kit/m365kit/scopes"
)

// targetFor returns the notify target of a resource.
func targetFor(resource string) notify.Target {
	if folder, ok := strings.CutPrefix(resource, "mail:"); ok {
		return notify.MailFolder(folder)
	}
	return notify.Events()
}

// resourceOf returns the resource a subscription watches, "" for one
// fleet does not make.
func resourceOf(target string) string {
	if target == notify.Events().Resource {
		return resCalendar
	}
	if rest, ok := strings.CutPrefix(target, "me/mailFolders('"); ok {
		if folder, ok := strings.CutSuffix(rest, "')/messages"); ok && notify.MailFolder(folder).Resource == target {
			return mailResource(folder)
		}
	}
	return ""
}

// registry is the notify.Store of every replica: the Registrations in
// fleet_subscriptions, so whichever replica Graph reaches verifies the
// notification. The rows hold the clientState: treat the table as
// secret.
type registry struct{ db Database }

var _ notify.Store = registry{}

// Load returns the Registration with the given ID.
func (r registry) Load(ctx context.Context, id string) (notify.Registration, error) {
	var data string
	err := r.db.queryRow(ctx, `SELECT data FROM fleet_subscriptions WHERE id = $1`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return notify.Registration{}, fmt.Errorf("fleet: registration: %w", notify.ErrUnknownSubscription)
	}
	if err != nil {
		return notify.Registration{}, err
	}
	var reg notify.Registration
	if err := json.Unmarshal([]byte(data), &reg); err != nil {
		return notify.Registration{}, err
	}
	return reg, nil
}

// Save stores reg under reg.ID. Renewal requests stay: a lifecycle event
// may have asked for one after the renewal being saved reached Graph,
// and only the subscription job takes back the requests it saw when it
// started (subscribeWorker.done).
func (r registry) Save(ctx context.Context, reg notify.Registration) error {
	data, err := json.Marshal(reg)
	if err != nil {
		return err
	}
	var exp int64
	if t := reg.Subscription.ExpirationDateTime; !t.IsZero() {
		exp = t.UnixMilli()
	}
	return r.db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO fleet_subscriptions (id, account_id, resource, subscription_id, expires_at, renew, data)
			VALUES ($1, $2, $3, $4, $5, 0, $6)
			ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, resource = excluded.resource,
				subscription_id = excluded.subscription_id, expires_at = excluded.expires_at, data = excluded.data`,
			reg.ID, reg.Owner, resourceOf(reg.Subscription.Resource), reg.Subscription.ID, exp, string(data))
		return err
	})
}

// Delete forgets a Registration.
func (r registry) Delete(ctx context.Context, id string) error {
	return r.db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM fleet_subscriptions WHERE id = $1`, id)
		return err
	})
}

// regRow is a stored Registration and how many renewals lifecycle
// events (reauthorizationRequired) have asked for and no subscription
// job has yet served.
type regRow struct {
	reg   notify.Registration
	renew int64
}

// list returns the Registrations of an account's resource.
func (r registry) list(ctx context.Context, accountID, resource string) ([]regRow, error) {
	rows, err := r.db.query(ctx, `SELECT data, renew FROM fleet_subscriptions WHERE account_id = $1 AND resource = $2 ORDER BY id`, accountID, resource)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []regRow
	for rows.Next() {
		var data string
		var rr regRow
		if err := rows.Scan(&data, &rr.renew); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(data), &rr.reg); err != nil {
			return nil, err
		}
		out = append(out, rr)
	}
	return out, rows.Err()
}

// subscribeArgs is the job that makes sure an account's resource has a
// live subscription: it creates one, renews one near expiry (or one a
// reauthorizationRequired event flagged), and recreates one Graph no
// longer has, then asks for a resync of what may have been missed.
type subscribeArgs struct {
	Account  string `json:"account" river:"unique"`
	Resource string `json:"resource" river:"unique"`
	Reason   string `json:"reason,omitempty"`
}

func (subscribeArgs) Kind() string { return "fleet.subscribe" }

func (subscribeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, UniqueOpts: syncUnique}
}

// unsubscribeArgs deletes subscriptions at Graph after Disconnect,
// Disable or a change of the account's resources; their registrations
// are already gone.
type unsubscribeArgs struct {
	Account       string           `json:"account"`
	Features      []scopes.Feature `json:"features"`
	Subscriptions []string         `json:"subscriptions"`
}

func (unsubscribeArgs) Kind() string { return "fleet.unsubscribe" }

func (unsubscribeArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// renewArgs is the leader's periodic look for subscriptions to renew and
// resources without one.
type renewArgs struct{}

func (renewArgs) Kind() string { return "fleet.renew" }

func (renewArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

func (f *Fleet) addSubscriptionWorkers(workers *river.Workers) {
	river.AddWorker(workers, &subscribeWorker{f: f})
	river.AddWorker(workers, &unsubscribeWorker{f: f})
	river.AddWorker(workers, &renewWorker{f: f})
}

// manager returns the notify.Manager of an account connected at
// connected.
func (f *Fleet) manager(accountID string, connected time.Time, features []scopes.Feature) (*notify.Manager, error) {
	gc, err := f.graph(accountID, connected, features)
	if err != nil {
		return nil, err
	}
	return notify.NewManager(gc, notify.Config{Store: f.reg, Owner: accountID, MaxLifetime: f.lifetimes, Margin: lifetimeMargin})
}

type subscribeWorker struct {
	river.WorkerDefaults[subscribeArgs]
	f *Fleet
}

func (w *subscribeWorker) Work(ctx context.Context, job *river.Job[subscribeArgs]) error {
	f := w.f
	id, res := job.Args.Account, job.Args.Resource
	if f.notifyURL == "" {
		return nil
	}
	st, err := f.Account(ctx, id)
	if errors.Is(err, ErrUnknownAccount) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.Status.active() || !contains(st.resources(), res) {
		f.m.job(ctx, job.Kind, "skipped")
		return nil
	}
	regs, err := f.reg.list(ctx, id, res)
	if err != nil {
		return err
	}
	m, err := f.manager(id, st.Connected, st.Features)
	if err != nil {
		return river.JobCancel(err)
	}
	// No other subscribe job of this resource runs (unique job), so a
	// pending registration is one a crashed Create left behind, and of
	// several live ones only the latest is kept.
	var live *regRow
	for i := range regs {
		rr := &regs[i]
		if rr.reg.Subscription.ID == "" {
			if err := f.reg.Delete(ctx, rr.reg.ID); err != nil {
				return err
			}
			continue
		}
		if live != nil && !rr.reg.Subscription.ExpirationDateTime.After(live.reg.Subscription.ExpirationDateTime) {
			if err := m.Delete(ctx, rr.reg); err != nil {
				return f.jobFailed(ctx, job.JobRow, st, err)
			}
			continue
		}
		if live != nil {
			if err := m.Delete(ctx, live.reg); err != nil {
				return f.jobFailed(ctx, job.JobRow, st, err)
			}
		}
		live = rr
	}
	now := time.Now()
	resync := false
	action := "none"
	switch {
	case live == nil:
		action = "create"
		_, err = m.Create(ctx, f.notifyURL, targetFor(res))
		// Changes made while no subscription existed were not notified,
		// on a connect too: its first sync may have read Graph before
		// this subscription existed. A sync still queued absorbs the
		// request; one running gets one more round.
		resync = true
	case !live.reg.Subscription.ExpirationDateTime.After(now):
		action = "recreate"
		_, err = m.Recreate(ctx, live.reg)
		resync = true
	case live.renew > 0 || live.reg.Subscription.ExpirationDateTime.Before(now.Add(f.renewBefore)):
		action = "renew"
		_, err = m.Renew(ctx, live.reg)
		if errors.Is(err, graphclient.ErrNotFound) {
			action = "recreate"
			_, err = m.Recreate(ctx, live.reg)
			resync = true
		}
	}
	if err != nil {
		return f.jobFailed(ctx, job.JobRow, st, err)
	}
	if err := w.done(ctx, job, live, resync); err != nil {
		return err
	}
	if err := f.db.inTx(ctx, func(tx *Tx) error { return f.unthrottleTx(ctx, tx, id) }); err != nil {
		return err
	}
	f.m.job(ctx, job.Kind, action)
	if action != "none" {
		f.log.InfoContext(ctx, "fleet: subscription "+action+"d", "account", id, "resource", res)
	}
	return nil
}

// done completes a subscription job in one transaction with what
// follows it: it takes back the renewal requests the job saw when it
// started (live's), asks for the resync, and inserts a follow-up job if
// a renewal request is left. A reauthorizationRequired that arrived
// while the job ran (after its PATCH reached Graph, say) bumped the
// counter, but its job insert was skipped as a duplicate of this
// running one: without the follow-up the subscription would stay paused
// at Graph until its next due renewal. The counters are locked first, as
// the sync jobs lock theirs: an intake bumping one now either commits
// first (and the follow-up is inserted here) or waits for this commit
// (and finds this job completed, so its own insert goes through).
func (w *subscribeWorker) done(ctx context.Context, job *river.Job[subscribeArgs], live *regRow, resync bool) error {
	f := w.f
	id, res := job.Args.Account, job.Args.Resource
	return f.db.inTx(ctx, func(tx *Tx) error {
		if live != nil && live.renew > 0 {
			// A renewal or a recreation (which deleted the row) served
			// them.
			if _, err := tx.Exec(ctx, `UPDATE fleet_subscriptions SET renew = CASE WHEN renew > $2 THEN renew - $2 ELSE 0 END WHERE id = $1`,
				live.reg.ID, live.renew); err != nil {
				return err
			}
		}
		q := `SELECT renew FROM fleet_subscriptions WHERE account_id = $1 AND resource = $2`
		if f.db.pg != nil {
			q += ` FOR UPDATE`
		}
		rows, err := tx.Query(ctx, q, id, res)
		if err != nil {
			return err
		}
		left := false
		for rows.Next() {
			var n int64
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			left = left || n > 0
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := f.q.completeTx(ctx, tx, job.JobRow); err != nil {
			return fmt.Errorf("complete job: %w", err)
		}
		if left {
			if _, err := f.q.insertTx(ctx, tx, subscribeArgs{Account: id, Resource: res, Reason: "follow-up"}, nil); err != nil {
				return err
			}
		}
		if resync {
			return f.requestTx(ctx, tx, id, res, "resubscribed", true)
		}
		return nil
	})
}

type unsubscribeWorker struct {
	river.WorkerDefaults[unsubscribeArgs]
	f *Fleet
}

func (w *unsubscribeWorker) Work(ctx context.Context, job *river.Job[unsubscribeArgs]) error {
	// A parked account's tokens are known not to work: a deletion queued
	// before the park (or waiting for a retry) would only make one more
	// token request. The subscriptions expire at Graph; their
	// registrations are gone, so their notifications are refused
	// meanwhile. A disconnected (unknown) or disabled account's tokens
	// may still work: those deletions go ahead.
	st, err := w.f.Account(ctx, job.Args.Account)
	if err != nil && !errors.Is(err, ErrUnknownAccount) {
		return err
	}
	if st != nil && (st.Status == StatusNeedsSignIn || st.Status == StatusConsentMissing) {
		w.f.m.job(ctx, job.Kind, "skipped")
		return nil
	}
	var connected time.Time
	if st != nil {
		connected = st.Connected
	}
	m, err := w.f.manager(job.Args.Account, connected, job.Args.Features)
	if err != nil {
		return river.JobCancel(err)
	}
	for _, sid := range job.Args.Subscriptions {
		err := m.Delete(ctx, notify.Registration{Owner: job.Args.Account, Subscription: notify.Subscription{ID: sid}})
		switch {
		case err == nil:
		case errors.Is(err, graphclient.ErrThrottled):
			return river.JobSnooze(retryAfter(err))
		case errors.Is(err, graphclient.ErrUnauthorized), errors.Is(err, graphclient.ErrForbidden), isAuthError(err):
			// The user's tokens are gone: the subscription expires on
			// its own within days, and its notifications are refused.
			return river.JobCancel(err)
		default:
			return err
		}
	}
	return nil
}

type renewWorker struct {
	river.WorkerDefaults[renewArgs]
	f *Fleet
}

func (w *renewWorker) Work(ctx context.Context, _ *river.Job[renewArgs]) error {
	f := w.f
	if f.notifyURL == "" {
		return nil
	}
	due := time.Now().Add(f.renewBefore).UnixMilli()
	mk := func(id, res string) river.JobArgs { return subscribeArgs{Account: id, Resource: res, Reason: "renew"} }
	// Subscriptions near expiry, or flagged by a lifecycle event.
	if err := f.queueAll(ctx, "renewal", `SELECT DISTINCT s.account_id, s.resource FROM fleet_subscriptions s JOIN fleet_accounts a ON a.id = s.account_id
		WHERE a.status IN ('syncing', 'connected', 'throttled') AND s.resource <> '' AND (s.expires_at < $1 OR s.renew > 0)
		AND (s.account_id, s.resource) > ($2, $3) ORDER BY s.account_id, s.resource LIMIT $4`, []any{due}, mk); err != nil {
		return err
	}
	// Synced resources without a subscription (a create that failed).
	return f.queueAll(ctx, "subscription", `SELECT c.account_id, c.resource FROM fleet_cursors c JOIN fleet_accounts a ON a.id = c.account_id
		WHERE a.status IN ('syncing', 'connected', 'throttled') AND NOT EXISTS
		(SELECT 1 FROM fleet_subscriptions s WHERE s.account_id = c.account_id AND s.resource = c.resource)
		AND (c.account_id, c.resource) > ($1, $2) ORDER BY c.account_id, c.resource LIMIT $3`, nil, mk)
}

// subscribeTx queues the subscription jobs of an account's resources
// and the deletion of subscriptions of resources it no longer has.
func (f *Fleet) subscribeTx(ctx context.Context, tx *Tx, a *Account) error {
	if f.notifyURL == "" {
		return nil
	}
	res := a.resources()
	rows, err := tx.Query(ctx, `SELECT id, resource, subscription_id FROM fleet_subscriptions WHERE account_id = $1`, a.ID)
	if err != nil {
		return err
	}
	var dropIDs, dropSubs []string
	for rows.Next() {
		var id, r, sid string
		if err := rows.Scan(&id, &r, &sid); err != nil {
			rows.Close()
			return err
		}
		if !contains(res, r) {
			dropIDs = append(dropIDs, id)
			if sid != "" {
				dropSubs = append(dropSubs, sid)
			}
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, id := range dropIDs {
		if _, err := tx.Exec(ctx, `DELETE FROM fleet_subscriptions WHERE id = $1`, id); err != nil {
			return err
		}
	}
	if len(dropSubs) > 0 {
		if _, err := f.q.insertTx(ctx, tx, unsubscribeArgs{Account: a.ID, Features: a.Features, Subscriptions: dropSubs}, nil); err != nil {
			return err
		}
	}
	for _, r := range res {
		if _, err := f.q.insertTx(ctx, tx, subscribeArgs{Account: a.ID, Resource: r, Reason: "connect"}, nil); err != nil {
			return err
		}
	}
	return nil
}

// unsubscribeTx forgets an account's registrations (their notifications
// are refused from now on) and, with atGraph, queues the deletion of the
// subscriptions at Graph.
func (f *Fleet) unsubscribeTx(ctx context.Context, tx *Tx, accountID string, features []scopes.Feature, atGraph bool) error {
	rows, err := tx.Query(ctx, `SELECT subscription_id FROM fleet_subscriptions WHERE account_id = $1 AND subscription_id <> ''`, accountID)
	if err != nil {
		return err
	}
	var subs []string
	for rows.Next() {
		var sid string
		if err := rows.Scan(&sid); err != nil {
			rows.Close()
			return err
		}
		subs = append(subs, sid)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM fleet_subscriptions WHERE account_id = $1`, accountID); err != nil {
		return err
	}
	if !atGraph || len(subs) == 0 || len(features) == 0 {
		return nil
	}
	_, err = f.q.insertTx(ctx, tx, unsubscribeArgs{Account: accountID, Features: features, Subscriptions: subs}, nil)
	return err
}
