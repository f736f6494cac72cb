package fleet

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/calendar"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/mail"
	"github.com/m365kit/m365kit/scopes"
)

// syncUnique makes at most one sync job per account and resource queued
// or running: a completed job does not block the next one.
var syncUnique = river.UniqueOpts{
	ByArgs: true,
	ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	},
}

// calendarArgs is the calendar sync job of one account.
type calendarArgs struct {
	Account string `json:"account" river:"unique"`
	Reason  string `json:"reason,omitempty"`
	// Seen is, for a job that continues a round another job began, the
	// request counter when that round began.
	Seen *int64 `json:"seen,omitempty"`
}

func (calendarArgs) Kind() string { return "fleet.calendar_sync" }

func (calendarArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, UniqueOpts: syncUnique}
}

// mailArgs is the sync job of one mail folder of one account.
type mailArgs struct {
	Account string `json:"account" river:"unique"`
	Folder  string `json:"folder" river:"unique"`
	Reason  string `json:"reason,omitempty"`
	Seen    *int64 `json:"seen,omitempty"` // as calendarArgs.Seen
}

func (mailArgs) Kind() string { return "fleet.mail_sync" }

func (mailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, UniqueOpts: syncUnique}
}

func syncArgsFor(accountID, resource, reason string) river.JobArgs {
	return continueArgs(accountID, resource, reason, nil)
}

// continueArgs is syncArgsFor with Seen.
func continueArgs(accountID, resource, reason string, seen *int64) river.JobArgs {
	if folder, ok := strings.CutPrefix(resource, "mail:"); ok {
		return mailArgs{Account: accountID, Folder: folder, Reason: reason, Seen: seen}
	}
	return calendarArgs{Account: accountID, Reason: reason, Seen: seen}
}

type calendarWorker struct {
	river.WorkerDefaults[calendarArgs]
	f *Fleet
}

func (w *calendarWorker) Work(ctx context.Context, job *river.Job[calendarArgs]) error {
	return w.f.runSync(ctx, job.JobRow, job.Args.Account, resCalendar, job.Args.Seen)
}

type mailWorker struct {
	river.WorkerDefaults[mailArgs]
	f *Fleet
}

func (w *mailWorker) Work(ctx context.Context, job *river.Job[mailArgs]) error {
	return w.f.runSync(ctx, job.JobRow, job.Args.Account, mailResource(job.Args.Folder), job.Args.Seen)
}

// cursorRow is a stored cursor.
type cursorRow struct {
	cursor                 string
	windowStart, windowEnd int64
	complete               bool
}

// run is one sync job under way.
type run struct {
	job       *rivertype.JobRow
	account   *AccountState
	resource  string
	started   time.Time
	requested int64 // the request counter when the job started
	firstAt   int64 // when the oldest request it serves arrived (0: none)
	pages     int
	// resumed is set when the job continues a round that an earlier run
	// began without handing over its counter (a retry after an error, a
	// rescue after a crash): requests counted before this run started
	// may have come after that round read Graph, so the round is
	// followed by one more.
	resumed bool
}

// errGone says the account was disconnected, disabled or parked while
// the job ran.
var errGone = errors.New("account no longer active")

// errFenced says the job is no longer this worker's: River rescued it
// (its worker looked dead) and it runs, or will run, again elsewhere.
var errFenced = errors.New("job rescued: this run may no longer commit")

// runSync runs one sync job: it loads the account and cursor, walks the
// pages from Graph and commits each with its cursor.
func (f *Fleet) runSync(ctx context.Context, job *rivertype.JobRow, accountID, resource string, seen *int64) error {
	kind := job.Kind
	if job.AttemptedAt != nil {
		f.m.queued(ctx, kind, job.AttemptedAt.Sub(job.ScheduledAt))
	}
	r := &run{job: job, resource: resource, started: time.Now()}
	var cur *cursorRow
	err := f.db.inTx(ctx, func(tx *Tx) error {
		st, err := scanAccount(tx.QueryRow(ctx, selectAccount+` WHERE id = $1`, accountID))
		if errors.Is(err, sql.ErrNoRows) {
			return errGone
		}
		if err != nil {
			return err
		}
		r.account = st
		if !st.Status.active() || !contains(st.resources(), resource) {
			return errGone
		}
		err = tx.QueryRow(ctx, `SELECT requested, first_at FROM fleet_requests WHERE account_id = $1 AND resource = $2`, accountID, resource).Scan(&r.requested, &r.firstAt)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if seen != nil {
			// Continuing a round: requests that arrived since it began
			// (maybe too late for its earlier pages) call for one more.
			r.requested = *seen
		}
		var c cursorRow
		var complete int
		err = tx.QueryRow(ctx, `SELECT cursor, window_start, window_end, complete FROM fleet_cursors WHERE account_id = $1 AND resource = $2`, accountID, resource).
			Scan(&c.cursor, &c.windowStart, &c.windowEnd, &complete)
		if err == nil {
			c.complete = complete == 1
			cur = &c
			r.resumed = seen == nil && c.cursor != "" && !c.complete
			return nil
		}
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if errors.Is(err, errGone) {
		f.m.job(ctx, kind, "skipped")
		return nil
	}
	if err != nil {
		f.m.job(ctx, kind, "error")
		return err
	}
	gc, err := f.graph(r.account.ID, r.account.Connected, r.account.Features)
	if err != nil {
		f.m.job(ctx, kind, "error")
		return river.JobCancel(err)
	}
	if resource == resCalendar {
		err = f.syncCalendar(ctx, r, gc, cur)
	} else {
		err = f.syncMail(ctx, r, gc, strings.TrimPrefix(resource, "mail:"), cur)
	}
	if errors.Is(err, errGone) {
		f.m.job(ctx, kind, "skipped")
		return nil
	}
	if errors.Is(err, errFenced) {
		f.m.job(ctx, kind, "fenced")
		f.log.WarnContext(ctx, "fleet: a rescued job's old run stopped before committing", "account", accountID, "resource", resource, "attempt", job.Attempt)
		return nil
	}
	if err != nil {
		if errors.Is(err, graphclient.ErrSyncReset) {
			// Graph dropped the state twice in one round: start over.
			if derr := f.db.inTx(ctx, func(tx *Tx) error {
				_, err := tx.Exec(ctx, `DELETE FROM fleet_cursors WHERE account_id = $1 AND resource = $2`, accountID, resource)
				return err
			}); derr != nil {
				return derr
			}
		}
		return f.jobFailed(ctx, job, r.account, err)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// graph returns a Graph client for the account, connected (by Connect)
// at connected. Throttled and unavailable answers are not retried in the
// worker: the job snoozes instead.
func (f *Fleet) graph(accountID string, connected time.Time, features []scopes.Feature) (*graphclient.Client, error) {
	ts := &memoSource{src: f.app.TokenSource(accountID, features...), memo: &f.denied,
		key: accountID + " " + joinFeatures(features), connected: connected, ttl: f.rescueAfter}
	opts := append([]graphclient.Option{graphclient.WithHTTPClient(f.hc)}, f.gopts...)
	opts = append(opts, graphclient.WithRetry(graphclient.RetryPolicy{ShouldRetry: noThrottleRetry}))
	return graphclient.New(ts, opts...)
}

// denials remembers, per account and features, the sign-in or consent
// error (isAuthError) a token request of this process got, with the
// connection it was for. Every job reads the account's status before it
// asks for a token, so none starts after the account is parked; but the
// account's jobs that started before the park committed (a calendar, a
// few folders, their subscriptions) would each ask Entra once more.
// They take turns for the token instead and get the remembered error, so
// a revoked account costs one token request per process. A new Connect
// (after a new sign-in) has a new connection time, which a denial does
// not match; and a denial is forgotten after RescueAfter, by when the
// jobs that were running have ended and the parked status holds off the
// rest.
type denials struct {
	mu    sync.Mutex
	m     map[string]denial
	turns map[string]*turn
}

type denial struct {
	connected time.Time
	at        time.Time
	err       error
}

// turn lets one caller at a time ask for a key's token.
type turn struct {
	ch   chan struct{}
	refs int
}

// take waits for key's turn, or for ctx; release ends it.
func (d *denials) take(ctx context.Context, key string) (release func(), err error) {
	d.mu.Lock()
	if d.turns == nil {
		d.turns = map[string]*turn{}
	}
	t := d.turns[key]
	if t == nil {
		t = &turn{ch: make(chan struct{}, 1)}
		d.turns[key] = t
	}
	t.refs++
	d.mu.Unlock()
	leave := func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if t.refs--; t.refs == 0 {
			delete(d.turns, key)
		}
	}
	select {
	case t.ch <- struct{}{}:
		return func() { <-t.ch; leave() }, nil
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
}

func (d *denials) get(key string, connected time.Time, ttl time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, ok := d.m[key]
	if !ok || !x.connected.Equal(connected) || time.Since(x.at) > ttl {
		return nil
	}
	return x.err
}

func (d *denials) put(key string, connected time.Time, ttl time.Duration, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	if d.m == nil {
		d.m = map[string]denial{}
	}
	for k, x := range d.m {
		if now.Sub(x.at) > ttl {
			delete(d.m, k)
		}
	}
	d.m[key] = denial{connected: connected, at: now, err: err}
}

// memoSource is an account's token source that answers a remembered
// denial (see denials) without asking Entra.
type memoSource struct {
	src       graphclient.TokenSource
	memo      *denials
	key       string
	connected time.Time
	ttl       time.Duration
}

func (s *memoSource) Token(ctx context.Context) (string, error) {
	release, err := s.memo.take(ctx, s.key)
	if err != nil {
		return "", err
	}
	defer release()
	if err := s.memo.get(s.key, s.connected, s.ttl); err != nil {
		return "", err
	}
	tok, err := s.src.Token(ctx)
	if err != nil && isAuthError(err) {
		s.memo.put(s.key, s.connected, s.ttl, err)
	}
	return tok, err
}

func noThrottleRetry(ctx context.Context, req *http.Request, resp *http.Response, err error) bool {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		return false
	}
	return graphclient.DefaultShouldRetry(ctx, req, resp, err)
}

// syncCalendar runs the calendar: a first round, the continuation of the
// stored cursor, or, when the stored window no longer covers the asked
// one, a slide to a new window (the asked one with Config.WindowMarginDays
// more ahead).
func (f *Fleet) syncCalendar(ctx context.Context, r *run, gc *graphclient.Client, cur *cursorRow) error {
	svc := calendar.New(gc)
	now := time.Now()
	start, end := r.account.span(now, f.marginDays)
	startMs, endMs := start.UnixMilli(), end.UnixMilli()
	fresh := cur == nil || cur.cursor == ""
	slide := !fresh && cur.complete && !r.account.covers(cur.windowStart, cur.windowEnd, now, f.marginDays)
	var pages func(yield func(*calendar.Page, error) bool)
	switch {
	case fresh:
		pages = svc.Sync(ctx, calendar.SyncRequest{Start: start, End: end, PageSize: f.pageSize})
	case slide:
		pages = svc.Slide(ctx, calendar.SlideRequest{Cursor: cur.cursor, Start: start, End: end, PageSize: f.pageSize})
	default:
		// Continue the stored cursor in its own window (a round cut
		// short finishes before the window slides).
		pages = svc.Sync(ctx, calendar.SyncRequest{Cursor: cur.cursor, PageSize: f.pageSize})
		start, end = fromMs(cur.windowStart), fromMs(cur.windowEnd)
		startMs, endMs = cur.windowStart, cur.windowEnd
	}
	first := true
	for p, err := range pages {
		if err != nil {
			return err
		}
		if fresh && first {
			p.Reset = true
		}
		first = false
		// The window the page's cursor belongs to: a slide's pages carry
		// the old cursor until its last page (or until a restart).
		cs, ce := startMs, endMs
		if slide && p.Cursor == cur.cursor {
			cs, ce = cur.windowStart, cur.windowEnd
		}
		page := &CalendarPage{Account: r.account.ID, Start: start, End: end, Page: p}
		stale := p.Done && !r.account.covers(cs, ce, time.Now(), f.marginDays)
		last, err := f.commit(ctx, r, commitReq{
			cursor: p.Cursor, windowStart: cs, windowEnd: ce, done: p.Done, canPause: !slide, forceFollowUp: stale,
			apply: func(tx *Tx) error { return f.sink.ApplyCalendar(ctx, tx, page) },
		})
		if err != nil || last {
			return err
		}
	}
	return nil
}

// syncMail runs one mail folder from its stored cursor.
func (f *Fleet) syncMail(ctx context.Context, r *run, gc *graphclient.Client, folder string, cur *cursorRow) error {
	req := f.mailReq
	req.Folder = folder
	fresh := cur == nil || cur.cursor == ""
	if !fresh {
		req.Cursor = cur.cursor
	}
	first := true
	for p, err := range mail.New(gc).Sync(ctx, req) {
		if err != nil {
			return err
		}
		if fresh && first {
			p.Reset = true
		}
		first = false
		page := &MailPage{Account: r.account.ID, Folder: folder, Page: p}
		last, err := f.commit(ctx, r, commitReq{
			cursor: p.Cursor, done: p.Done, canPause: true,
			apply: func(tx *Tx) error { return f.sink.ApplyMail(ctx, tx, page) },
		})
		if err != nil || last {
			return err
		}
	}
	return nil
}

// commitReq is one page to commit.
type commitReq struct {
	cursor                 string
	windowStart, windowEnd int64
	done                   bool // the round's last page
	canPause               bool // the job may hand over to a follow-up after this page
	forceFollowUp          bool // run once more after this round (the window is stale)
	apply                  func(tx *Tx) error
}

// commit applies one page through the sink and stores its cursor in one
// transaction. On the job's last page (the round's last, or the page
// after which a long job hands over) it also completes the job in that
// transaction and, if a sync was requested since the job started (or the
// job handed over), inserts the follow-up job. It reports whether that
// page was the job's last.
func (f *Fleet) commit(ctx context.Context, r *run, c commitReq) (last bool, err error) {
	last = c.done || (c.canPause && time.Since(r.started) > f.slice)
	var served int64 // first_at of the requests this round served
	err = f.db.inTx(ctx, func(tx *Tx) error {
		st, err := f.lockAccount(ctx, tx, r.account.ID)
		if errors.Is(err, ErrUnknownAccount) {
			return errGone
		}
		if err != nil {
			return err
		}
		if !st.Status.active() {
			return errGone
		}
		// Fence out a run River gave up on: after a rescue the job is no
		// longer running, or runs again with the next attempt number, and
		// only that run may apply pages (in order).
		var state string
		var attempt int
		if err := tx.QueryRow(ctx, `SELECT state, attempt FROM river_job WHERE id = $1`, r.job.ID).Scan(&state, &attempt); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if state != string(rivertype.JobStateRunning) || attempt != r.job.Attempt {
			return errFenced
		}
		if err := f.safely(ctx, func() error { return c.apply(tx) }); err != nil {
			return err
		}
		now := nowMs()
		done := 0
		if c.done {
			done = 1
		}
		if _, err := tx.Exec(ctx, `INSERT INTO fleet_cursors (account_id, resource, cursor, window_start, window_end, rounds, complete, pages, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8)
			ON CONFLICT (account_id, resource) DO UPDATE SET cursor = excluded.cursor, window_start = excluded.window_start,
				window_end = excluded.window_end, rounds = fleet_cursors.rounds + excluded.rounds, complete = excluded.complete,
				pages = fleet_cursors.pages + 1, updated_at = excluded.updated_at`,
			r.account.ID, r.resource, c.cursor, c.windowStart, c.windowEnd, int64(done), done, now); err != nil {
			return err
		}
		if !last {
			return nil
		}
		// Lock the request counter: an intake bumping it now either
		// commits first (and we see its bump) or waits for us (and finds
		// no running job, so its insert goes through).
		q := `SELECT requested, last_at FROM fleet_requests WHERE account_id = $1 AND resource = $2`
		if f.db.pg != nil {
			q += ` FOR UPDATE`
		}
		var requested, lastAt int64
		if err := tx.QueryRow(ctx, q, r.account.ID, r.resource).Scan(&requested, &lastAt); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err := f.q.completeTx(ctx, tx, r.job); err != nil {
			return fmt.Errorf("complete job: %w", err)
		}
		moved := requested != r.requested || (c.done && r.resumed)
		if c.done {
			served = r.firstAt
			next := int64(0)
			if moved {
				next = lastAt // a request arrived during the round: its time is at most this old
			}
			if _, err := tx.Exec(ctx, `UPDATE fleet_requests SET first_at = $3 WHERE account_id = $1 AND resource = $2`, r.account.ID, r.resource, next); err != nil {
				return err
			}
		}
		if moved || !c.done || c.forceFollowUp {
			reason := "follow-up"
			if !c.done {
				reason = "continue"
			}
			var seen *int64
			if !c.done {
				seen = &r.requested
			}
			if _, err := f.q.insertTx(ctx, tx, continueArgs(r.account.ID, r.resource, reason, seen), nil); err != nil {
				return err
			}
		}
		if c.done {
			if _, err := tx.Exec(ctx, `UPDATE fleet_accounts SET synced_at = $2 WHERE id = $1`, r.account.ID, now); err != nil {
				return err
			}
		}
		// Leave syncing (all first rounds done) and throttled.
		if st.Status == StatusSyncing || st.Status == StatusThrottled {
			all, err := roundsDone(ctx, tx, st.ID, st.resources())
			if err != nil {
				return err
			}
			to := StatusSyncing
			if all {
				to = StatusConnected
			}
			if to != st.Status {
				return f.setStatusTx(ctx, tx, st.ID, StatusChange{To: to})
			}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	r.pages++
	if last {
		outcome := "completed"
		if !c.done {
			outcome = "continued"
		}
		f.m.job(ctx, r.job.Kind, outcome)
		if served != 0 {
			f.m.notificationLatency(ctx, r.job.Kind, time.Since(time.UnixMilli(served)))
		}
		f.log.DebugContext(ctx, "fleet: sync done", "account", r.account.ID, "resource", r.resource, "pages", r.pages, "outcome", outcome)
	}
	return last, nil
}

// jobFailed decides what a failed job of an account does: park the
// account on a sign-in or consent problem (and cancel the job), snooze on
// throttling, retry otherwise.
func (f *Fleet) jobFailed(ctx context.Context, job *rivertype.JobRow, st *AccountState, err error) error {
	kind := job.Kind
	var ae *auth.Error
	errors.As(err, &ae)
	switch {
	case errors.Is(err, auth.ErrReauthRequired) || errors.Is(err, auth.ErrNotSignedIn):
		reason := err.Error()
		if ae != nil {
			reason = ae.Error()
		}
		if perr := f.park(ctx, st.ID, StatusChange{To: StatusNeedsSignIn, Reason: reason}); perr != nil {
			return perr
		}
		f.m.job(ctx, kind, "parked")
		f.log.WarnContext(ctx, "fleet: account needs a new sign-in", "account", st.ID, "reason", reason)
		return river.JobCancel(err)
	case errors.Is(err, auth.ErrConsentRequired):
		var missing []string
		if ae != nil {
			for _, p := range ae.Missing {
				missing = append(missing, p.Name)
			}
		}
		if len(missing) == 0 {
			// Entra did not say which: everything the account needs.
			missing = scopes.For(st.Features...)
		}
		if perr := f.park(ctx, st.ID, StatusChange{To: StatusConsentMissing, Reason: err.Error(), Missing: missing}); perr != nil {
			return perr
		}
		f.m.job(ctx, kind, "parked")
		f.log.WarnContext(ctx, "fleet: account lacks consent", "account", st.ID, "missing", strings.Join(missing, ","))
		return river.JobCancel(err)
	}
	var ge *graphclient.Error
	if errors.As(err, &ge) && (ge.StatusCode == http.StatusTooManyRequests || ge.StatusCode == http.StatusServiceUnavailable) {
		d := retryAfter(err)
		until := time.Now().Add(d)
		if perr := f.db.inTx(ctx, func(tx *Tx) error {
			return f.setStatusTx(ctx, tx, st.ID, StatusChange{To: StatusThrottled, Until: until})
		}); perr != nil {
			return perr
		}
		f.m.job(ctx, kind, "snoozed")
		f.log.InfoContext(ctx, "fleet: throttled", "account", st.ID, "kind", kind, "status", ge.StatusCode, "retry_after", d)
		return river.JobSnooze(d)
	}
	var sp *sinkPanic
	outcome := "error"
	if errors.As(err, &sp) {
		outcome = "panic"
	}
	f.m.job(ctx, kind, outcome)
	f.log.WarnContext(ctx, "fleet: job failed", "account", st.ID, "kind", kind, "attempt", job.Attempt, "error", err)
	return err
}

// retryAfter is the wait a throttled or unavailable Graph asked for, or
// DefaultThrottle.
func retryAfter(err error) time.Duration {
	var ge *graphclient.Error
	if errors.As(err, &ge) && ge.RetryAfter > 0 {
		return ge.RetryAfter
	}
	return DefaultThrottle
}

// isAuthError reports an error of the user's tokens that a retry does
// not fix.
func isAuthError(err error) bool {
	return errors.Is(err, auth.ErrReauthRequired) || errors.Is(err, auth.ErrNotSignedIn) || errors.Is(err, auth.ErrConsentRequired)
}

// park moves an account to a status where nothing is scheduled for it.
func (f *Fleet) park(ctx context.Context, accountID string, c StatusChange) error {
	return f.db.inTx(ctx, func(tx *Tx) error {
		if err := f.setStatusTx(ctx, tx, accountID, c); err != nil {
			return err
		}
		// The subscriptions' notifications are refused from now on; the
		// tokens cannot delete them at Graph, where they expire.
		return f.unsubscribeTx(ctx, tx, accountID, nil, false)
	})
}
