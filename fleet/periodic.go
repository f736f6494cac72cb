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
// (once every Config.WindowMarginDays + 1 days per account, when its
// synced window no longer covers the window it asks for).
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

// Work queues a sync of every resource not synced (by any job: a
// notification's, the slide's, an earlier sweep's) for SweepAfter,
// except calendars the slide is due to sync: one sync, not two.
func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[sweepArgs]) error {
	f := w.f
	now := time.Now()
	cutoff := now.Add(-f.sweepAfter).UnixMilli()
	return f.queueAll(ctx, "sweep", `SELECT c.account_id, c.resource FROM fleet_cursors c JOIN fleet_accounts a ON a.id = c.account_id
		WHERE a.status IN ('syncing', 'connected') AND c.updated_at < $1
		AND NOT (c.resource = 'calendar' AND c.complete = 1 AND `+slideDue("$2", "$3", "$4")+`)
		AND (c.account_id, c.resource) > ($5, $6) ORDER BY c.account_id, c.resource LIMIT $7`,
		[]any{cutoff, today(now), dayMs, int64(f.marginDays) * dayMs}, func(id, res string) river.JobArgs { return syncArgsFor(id, res, "sweep") })
}

// slideDue is the SQL condition of Account.covers negated: the calendar
// cursor c of account a no longer serves the window asked on the day
// of parameter today (midnight UTC, in ms), with the parameters day (a
// day in ms) and margin (the margin in ms).
func slideDue(today, day, margin string) string {
	start := today + " - a.days_back * " + day
	end := today + " + a.days_ahead * " + day
	return "(c.window_start > " + start + " OR c.window_start < " + start + " - " + margin +
		" OR c.window_end < " + end + " OR c.window_end > " + end + " + " + margin + ")"
}

// today is midnight UTC of now's day, in ms.
func today(now time.Time) int64 { return now.UTC().Truncate(24 * time.Hour).UnixMilli() }

type slideWorker struct {
	river.WorkerDefaults[slideArgs]
	f *Fleet
}

// Work queues a sync of every complete calendar whose synced window no
// longer covers the asked one (Account.covers); the sync slides it.
func (w *slideWorker) Work(ctx context.Context, _ *river.Job[slideArgs]) error {
	return w.f.queueAll(ctx, "slide", `SELECT c.account_id, c.resource FROM fleet_accounts a JOIN fleet_cursors c ON c.account_id = a.id AND c.resource = 'calendar'
		WHERE a.status IN ('syncing', 'connected') AND c.complete = 1 AND `+slideDue("$1", "$2", "$3")+`
		AND (c.account_id, c.resource) > ($4, $5) ORDER BY c.account_id, c.resource LIMIT $6`,
		[]any{today(time.Now()), dayMs, int64(w.f.marginDays) * dayMs}, func(id, res string) river.JobArgs { return syncArgsFor(id, res, "slide") })
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
