package fleet

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
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

// sweepBatch is how many rows a periodic job reads and queues per
// transaction.
const sweepBatch = 5000

// periodicUnique makes a periodic job unique while it waits or runs: a
// run the leader inserts while the previous one is still queued or
// running is skipped (that one reads the same rows), and so is a second
// leader's RunOnStart run then. A failed run waiting for its retry does
// not hold the next one back.
//
// Not unique by period, River's usual advice: River keys such a job by
// the time it builds the run, in periods counted from the Unix epoch,
// while the leader schedules runs an interval apart from when it was
// elected. A run built a few milliseconds late, past a period boundary,
// shares its period with the next run, built on time, which River then
// skips as a duplicate of the completed one: the sweep or renewal an
// interval late.
var periodicUnique = river.UniqueOpts{
	ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled,
	},
}

// periodicOpts are the insert options of each run of a periodic job.
func periodicOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: Queue, UniqueOpts: periodicUnique}
}

func (f *Fleet) periodicJobs() []*river.PeriodicJob {
	slideEvery := min(f.sweepInterval, time.Hour)
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(f.sweepInterval), func() (river.JobArgs, *river.InsertOpts) {
			return sweepArgs{}, periodicOpts()
		}, &river.PeriodicJobOpts{ID: "fleet.sweep"}),
		river.NewPeriodicJob(river.PeriodicInterval(slideEvery), func() (river.JobArgs, *river.InsertOpts) {
			return slideArgs{}, periodicOpts()
		}, &river.PeriodicJobOpts{ID: "fleet.slide", RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(f.sweepInterval), func() (river.JobArgs, *river.InsertOpts) {
			return renewArgs{}, periodicOpts()
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
	return f.queueAll(ctx, "sweep", `SELECT c.account_id, c.resource FROM fleet_cursors c JOIN fleet_accounts a ON a.id = c.account_id
		WHERE a.status IN ('syncing', 'connected') AND c.updated_at < $1
		AND (c.account_id, c.resource) > ($2, $3) ORDER BY c.account_id, c.resource LIMIT $4`,
		[]any{cutoff}, func(id, res string) river.JobArgs { return syncArgsFor(id, res, "sweep") })
}

type slideWorker struct {
	river.WorkerDefaults[slideArgs]
	f *Fleet
}

func (w *slideWorker) Work(ctx context.Context, _ *river.Job[slideArgs]) error {
	const day = int64(24 * time.Hour / time.Millisecond)
	today := time.Now().UTC().Truncate(24 * time.Hour).UnixMilli()
	return w.f.queueAll(ctx, "slide", `SELECT c.account_id, c.resource FROM fleet_accounts a JOIN fleet_cursors c ON c.account_id = a.id AND c.resource = 'calendar'
		WHERE a.status IN ('syncing', 'connected') AND c.complete = 1
		AND (c.window_start <> $1 - a.days_back * $2 OR c.window_end <> $1 + a.days_ahead * $2)
		AND (c.account_id, c.resource) > ($3, $4) ORDER BY c.account_id, c.resource LIMIT $5`,
		[]any{today, day}, func(id, res string) river.JobArgs { return syncArgsFor(id, res, "slide") })
}

// queueAll queues mk(account, resource) for every row of query, a page
// of f.batch rows at a time: query selects the two columns, ordered by
// them, and takes as its last three parameters the (account, resource)
// to start after and the LIMIT, after params. It stops early when half
// of RescueAfter has passed (the next run goes on).
func (f *Fleet) queueAll(ctx context.Context, what, query string, params []any, mk func(id, res string) river.JobArgs) error {
	start := time.Now()
	afterID, afterRes := "", ""
	total := 0
	for time.Since(start) < f.slice {
		rows, err := f.db.query(ctx, query, append(params[:len(params):len(params)], afterID, afterRes, f.batch)...)
		if err != nil {
			return err
		}
		var batch []river.InsertManyParams
		for rows.Next() {
			if err := rows.Scan(&afterID, &afterRes); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, river.InsertManyParams{Args: mk(afterID, afterRes)})
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if len(batch) > 0 {
			if err := f.db.inTx(ctx, func(tx *Tx) error { return f.q.insertManyTx(ctx, tx, batch) }); err != nil {
				return err
			}
		}
		total += len(batch)
		if len(batch) < f.batch {
			break
		}
	}
	if total > 0 {
		f.log.InfoContext(ctx, "fleet: "+what+" queued jobs", "jobs", total)
	}
	return nil
}
