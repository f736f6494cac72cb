package fleet

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// sweepArgs is the leader's periodic safety net: a sync of every resource
// of an active account that has not been synced for Config.SweepAfter (no
// notification arrived, or its subscription is broken).
type sweepArgs struct{}

func (sweepArgs) Kind() string { return "fleet.sweep" }

func (sweepArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// slideArgs is the leader's periodic look for calendar windows to slide
// (once a day per account, when its day changes).
type slideArgs struct{}

func (slideArgs) Kind() string { return "fleet.slide" }

func (slideArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// sweepBatch bounds the accounts one sweep or slide run queues.
const sweepBatch = 5000

func (f *Fleet) periodicJobs() []*river.PeriodicJob {
	slideEvery := min(f.sweepInterval, time.Hour)
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(f.sweepInterval), func() (river.JobArgs, *river.InsertOpts) {
			return sweepArgs{}, &river.InsertOpts{Queue: Queue, UniqueOpts: river.UniqueOpts{ByPeriod: f.sweepInterval}}
		}, &river.PeriodicJobOpts{ID: "fleet.sweep"}),
		river.NewPeriodicJob(river.PeriodicInterval(slideEvery), func() (river.JobArgs, *river.InsertOpts) {
			return slideArgs{}, &river.InsertOpts{Queue: Queue, UniqueOpts: river.UniqueOpts{ByPeriod: slideEvery}}
		}, &river.PeriodicJobOpts{ID: "fleet.slide", RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(f.sweepInterval), func() (river.JobArgs, *river.InsertOpts) {
			return renewArgs{}, &river.InsertOpts{Queue: Queue, UniqueOpts: river.UniqueOpts{ByPeriod: f.sweepInterval}}
		}, &river.PeriodicJobOpts{ID: "fleet.renew", RunOnStart: true}),
	}
}

type sweepWorker struct {
	river.WorkerDefaults[sweepArgs]
	f *Fleet
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[sweepArgs]) error {
	f := w.f
	cutoff := time.Now().Add(-f.sweepAfter).UnixMilli()
	rows, err := f.db.query(ctx, `SELECT c.account_id, c.resource FROM fleet_cursors c JOIN fleet_accounts a ON a.id = c.account_id
		WHERE a.status IN ('syncing', 'connected') AND c.updated_at < $1 ORDER BY c.updated_at LIMIT $2`, cutoff, sweepBatch)
	if err != nil {
		return err
	}
	var params []river.InsertManyParams
	for rows.Next() {
		var id, res string
		if err := rows.Scan(&id, &res); err != nil {
			rows.Close()
			return err
		}
		params = append(params, river.InsertManyParams{Args: syncArgsFor(id, res, "sweep")})
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if len(params) == 0 {
		return nil
	}
	if err := f.db.inTx(ctx, func(tx *Tx) error { return f.q.insertManyTx(ctx, tx, params) }); err != nil {
		return err
	}
	f.log.InfoContext(ctx, "fleet: sweep queued syncs", "resources", len(params))
	return nil
}

type slideWorker struct {
	river.WorkerDefaults[slideArgs]
	f *Fleet
}

func (w *slideWorker) Work(ctx context.Context, _ *river.Job[slideArgs]) error {
	f := w.f
	const day = int64(24 * time.Hour / time.Millisecond)
	today := time.Now().UTC().Truncate(24 * time.Hour).UnixMilli()
	rows, err := f.db.query(ctx, `SELECT a.id FROM fleet_accounts a JOIN fleet_cursors c ON c.account_id = a.id AND c.resource = 'calendar'
		WHERE a.status IN ('syncing', 'connected') AND c.complete = 1
		AND (c.window_start <> $1 - a.days_back * $2 OR c.window_end <> $1 + a.days_ahead * $2) LIMIT $3`, today, day, sweepBatch)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = river.InsertManyParams{Args: calendarArgs{Account: id, Reason: "slide"}}
	}
	if err := f.db.inTx(ctx, func(tx *Tx) error { return f.q.insertManyTx(ctx, tx, params) }); err != nil {
		return err
	}
	f.log.InfoContext(ctx, "fleet: calendar windows to slide", "accounts", len(ids))
	return nil
}
