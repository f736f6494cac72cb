package fleet

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/m365kit/m365kit/scopes"
)

// Status is what a product shows for an account.
type Status string

// The statuses of an account.
const (
	// StatusSyncing: connected, first sync of some resource still running.
	StatusSyncing Status = "syncing"
	// StatusConnected: every resource has been synced at least once and is
	// kept in sync.
	StatusConnected Status = "connected"
	// StatusNeedsSignIn: the user must sign in again (refresh token
	// revoked or expired, password reset, MFA or Conditional Access);
	// AccountState.Reason says why. Nothing is scheduled until Connect.
	StatusNeedsSignIn Status = "needs_sign_in"
	// StatusConsentMissing: permissions lack consent (AccountState.Missing
	// names them): an admin or the user must consent, then Connect.
	StatusConsentMissing Status = "consent_missing"
	// StatusThrottled: Graph throttled the account; its syncs wait until
	// AccountState.ThrottledUntil and then resume on their own.
	StatusThrottled Status = "throttled"
	// StatusDisabled: the product disabled the account with Disable.
	StatusDisabled Status = "disabled"
)

// Statuses returns every status, in the order above.
func Statuses() []Status {
	return []Status{StatusSyncing, StatusConnected, StatusNeedsSignIn, StatusConsentMissing, StatusThrottled, StatusDisabled}
}

// active reports whether jobs run for an account in status s.
func (s Status) active() bool {
	return s == StatusSyncing || s == StatusConnected || s == StatusThrottled
}

// Account is what Connect keeps in sync for one signed-in user. A plain
// value.
type Account struct {
	// ID is the auth account ID (oid.tid) the user's tokens are stored
	// under: auth.User.AccountID.
	ID string
	// Features are what to sync: scopes.Calendar, scopes.Mail or both.
	// The account's tokens are requested for exactly these.
	Features []scopes.Feature
	// MailFolders are the folders to sync with scopes.Mail: IDs or
	// well-known names (default: Inbox). Each resource (the calendar,
	// each folder) has its own jobs, which may run at the same time on
	// different workers, each with one Graph request in flight; with the
	// calendar and up to three folders an account stays within Outlook's
	// four concurrent requests per mailbox.
	MailFolders []string
	// DaysBack and DaysAhead set the calendar window, from midnight UTC
	// DaysBack days ago to midnight DaysAhead days ahead (defaults 1 and
	// 30). fleet syncs a wider window, Config.WindowMarginDays more days
	// ahead, and slides it only when it no longer covers this one (see
	// Config.WindowMarginDays): the Sink gets every event of this window,
	// and some beyond it.
	DaysBack, DaysAhead int
}

// AccountState is an account as fleet keeps it. A plain value.
type AccountState struct {
	Account
	// Status is the account's status; StatusChanged when it was set.
	Status        Status
	StatusChanged time.Time
	// Reason says why the account needs a new sign-in: the auth.Error's
	// summary (OAuth error, AADSTS code), never a token.
	Reason string
	// Missing names the permissions without consent, for
	// StatusConsentMissing; when Entra does not say which, every
	// permission the account's features need.
	Missing []string
	// ThrottledUntil is when a throttled account's syncs resume.
	ThrottledUntil time.Time
	// Connected is when Connect last ran; Synced when a sync round of
	// any of its resources last completed.
	Connected, Synced time.Time
}

// StatusChange is one change of an account's status, as OnStatusChange
// receives it. A plain value.
type StatusChange struct {
	Account  string
	From, To Status
	Reason   string
	Missing  []string
	Until    time.Time // for StatusThrottled
	At       time.Time
}

// Resources.
const resCalendar = "calendar"

func mailResource(folder string) string { return "mail:" + folder }

// resources lists an account's resources: "calendar", "mail:<folder>".
func (a *Account) resources() []string {
	var out []string
	if slices.Contains(a.Features, scopes.Calendar) {
		out = append(out, resCalendar)
	}
	if slices.Contains(a.Features, scopes.Mail) {
		for _, f := range a.MailFolders {
			out = append(out, mailResource(f))
		}
	}
	return out
}

// normalize checks a and fills in defaults.
func (a *Account) normalize(op string) error {
	if a.ID == "" || strings.ContainsAny(a.ID, " \t\r\n") || !strings.Contains(a.ID, ".") || len(a.ID) > 200 {
		return invalid(op, "Account.ID", "is not an account ID (oid.tid)")
	}
	if len(a.Features) == 0 {
		return invalid(op, "Account.Features", "is empty (want scopes.Calendar, scopes.Mail or both)")
	}
	var fs []scopes.Feature
	for _, f := range a.Features {
		if f != scopes.Calendar && f != scopes.Mail {
			return invalid(op, "Account.Features", fmt.Sprintf("%q is not scopes.Calendar or scopes.Mail", f))
		}
		if !slices.Contains(fs, f) {
			fs = append(fs, f)
		}
	}
	slices.Sort(fs)
	a.Features = fs
	if slices.Contains(fs, scopes.Mail) {
		if len(a.MailFolders) == 0 {
			a.MailFolders = []string{"Inbox"}
		}
		var folders []string
		for _, f := range a.MailFolders {
			if strings.TrimSpace(f) == "" || strings.ContainsAny(f, "\r\n") || len(f) > 512 {
				return invalid(op, "Account.MailFolders", "holds an empty or malformed folder")
			}
			if !slices.Contains(folders, f) {
				folders = append(folders, f)
			}
		}
		a.MailFolders = folders
	} else if len(a.MailFolders) > 0 {
		return invalid(op, "Account.MailFolders", "is set without scopes.Mail")
	}
	switch {
	case a.DaysBack < 0 || a.DaysBack > 366:
		return invalid(op, "Account.DaysBack", "is not between 0 and 366")
	case a.DaysAhead < 0 || a.DaysAhead > 366:
		return invalid(op, "Account.DaysAhead", "is not between 0 and 366")
	}
	if a.DaysBack == 0 && a.DaysAhead == 0 {
		a.DaysBack, a.DaysAhead = 1, 30
	}
	return nil
}

// window returns the calendar window the account asks for on the day of
// now.
func (a *Account) window(now time.Time) (start, end time.Time) {
	day := now.UTC().Truncate(24 * time.Hour)
	return day.AddDate(0, 0, -a.DaysBack), day.AddDate(0, 0, a.DaysAhead)
}

// span returns the window fleet syncs for the account from the day of
// now: the asked window with margin more days ahead.
func (a *Account) span(now time.Time, margin int) (start, end time.Time) {
	start, end = a.window(now)
	return start, end.AddDate(0, 0, margin)
}

// covers reports whether a synced window [startMs, endMs) still serves
// the account on the day of now: it covers the asked window and is
// wider by at most margin days at either end (a window widened by
// hand, or left behind by a shorter DaysAhead, slides too).
func (a *Account) covers(startMs, endMs int64, now time.Time, margin int) bool {
	start, end := a.window(now)
	m := int64(margin) * dayMs
	s, e := start.UnixMilli(), end.UnixMilli()
	return startMs <= s && startMs >= s-m && endMs >= e && endMs <= e+m
}

// dayMs is a day in milliseconds.
const dayMs = int64(24 * time.Hour / time.Millisecond)

func joinFeatures(fs []scopes.Feature) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = string(f)
	}
	return strings.Join(s, ",")
}

func splitFeatures(s string) []scopes.Feature {
	var out []scopes.Feature
	for _, f := range strings.Split(s, ",") {
		if f != "" {
			out = append(out, scopes.Feature(f))
		}
	}
	return out
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// Connect starts keeping an account in sync, or updates what is kept:
// after the user signs in (or signs in again after StatusNeedsSignIn or
// StatusConsentMissing, or after Disable). Stored cursors are kept, so a
// reconnected account resumes where it stopped. Connect queues a sync of
// each resource (and, with a webhook configured, its subscriptions) in
// the same transaction as the account row.
func (f *Fleet) Connect(ctx context.Context, a Account) error {
	const op = "Connect"
	if err := a.normalize(op); err != nil {
		return err
	}
	folders, _ := json.Marshal(a.MailFolders)
	err := f.db.inTx(ctx, func(tx *Tx) error {
		now := nowMs()
		prev, err := f.lockAccount(ctx, tx, a.ID)
		if err != nil && !errors.Is(err, ErrUnknownAccount) {
			return err
		}
		// Status: syncing until every resource has finished a round.
		res := a.resources()
		done, err := roundsDone(ctx, tx, a.ID, res)
		if err != nil {
			return err
		}
		status := StatusSyncing
		if done {
			status = StatusConnected
		}
		if prev == nil {
			_, err = tx.Exec(ctx, `INSERT INTO fleet_accounts (id, features, mail_folders, days_back, days_ahead, status, status_at, connected_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
				a.ID, joinFeatures(a.Features), string(folders), a.DaysBack, a.DaysAhead, string(status), now)
		} else {
			_, err = tx.Exec(ctx, `UPDATE fleet_accounts SET features = $2, mail_folders = $3, days_back = $4, days_ahead = $5,
				status = $6, reason = '', missing = '', throttled_until = 0, connected_at = $7,
				status_at = CASE WHEN status = $6 THEN status_at ELSE $7 END WHERE id = $1`,
				a.ID, joinFeatures(a.Features), string(folders), a.DaysBack, a.DaysAhead, string(status), now)
		}
		if err != nil {
			return err
		}
		// Forget cursors of resources no longer synced.
		rows, err := tx.Query(ctx, `SELECT resource FROM fleet_cursors WHERE account_id = $1`, a.ID)
		if err != nil {
			return err
		}
		var stale []string
		for rows.Next() {
			var r string
			if err := rows.Scan(&r); err != nil {
				rows.Close()
				return err
			}
			if !slices.Contains(res, r) {
				stale = append(stale, r)
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, r := range stale {
			if _, err := tx.Exec(ctx, `DELETE FROM fleet_cursors WHERE account_id = $1 AND resource = $2`, a.ID, r); err != nil {
				return err
			}
		}
		from := Status("")
		if prev != nil {
			from = prev.Status
		}
		if from != status {
			if err := f.emit(ctx, tx, StatusChange{Account: a.ID, From: from, To: status, At: fromMs(now)}); err != nil {
				return err
			}
		}
		for _, r := range res {
			if err := f.requestTx(ctx, tx, a.ID, r, "connect", true); err != nil {
				return err
			}
		}
		return f.subscribeTx(ctx, tx, &a)
	})
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	f.log.InfoContext(ctx, "fleet: account connected", "account", a.ID, "features", joinFeatures(a.Features))
	return nil
}

// roundsDone reports whether every resource has finished a sync round.
func roundsDone(ctx context.Context, tx *Tx, id string, res []string) (bool, error) {
	rows, err := tx.Query(ctx, `SELECT resource FROM fleet_cursors WHERE account_id = $1 AND rounds > 0`, id)
	if err != nil {
		return false, err
	}
	var have []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			rows.Close()
			return false, err
		}
		have = append(have, r)
	}
	if err := rows.Close(); err != nil {
		return false, err
	}
	for _, r := range res {
		if !slices.Contains(have, r) {
			return false, nil
		}
	}
	return true, nil
}

// Disconnect stops keeping an account in sync: its row, cursors and
// sync requests are deleted, its queued jobs cancelled and its
// subscriptions deleted (at Graph by a job, from the registry at once, so
// their notifications are refused from now on). Its tokens stay: call
// auth.App.SignOut for that, and delete the synced data the Sink stored.
// Disconnecting an unknown account is not an error.
func (f *Fleet) Disconnect(ctx context.Context, accountID string) error {
	const op = "Disconnect"
	if accountID == "" {
		return invalid(op, "accountID", "is empty")
	}
	err := f.db.inTx(ctx, func(tx *Tx) error {
		st, err := f.lockAccount(ctx, tx, accountID)
		if errors.Is(err, ErrUnknownAccount) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := f.unsubscribeTx(ctx, tx, accountID, st.Features, true); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM fleet_accounts WHERE id = $1`,
			`DELETE FROM fleet_cursors WHERE account_id = $1`,
			`DELETE FROM fleet_requests WHERE account_id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, accountID); err != nil {
				return err
			}
		}
		return f.cancelJobsTx(ctx, tx, accountID)
	})
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	f.log.InfoContext(ctx, "fleet: account disconnected", "account", accountID)
	return nil
}

// Disable stops syncing an account and marks it StatusDisabled, keeping
// its cursors; Connect enables it again and resumes from them. Its
// subscriptions are deleted and its queued jobs cancelled.
func (f *Fleet) Disable(ctx context.Context, accountID string) error {
	const op = "Disable"
	if accountID == "" {
		return invalid(op, "accountID", "is empty")
	}
	err := f.db.inTx(ctx, func(tx *Tx) error {
		st, err := f.lockAccount(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if err := f.setStatusTx(ctx, tx, accountID, StatusChange{To: StatusDisabled}); err != nil {
			return err
		}
		if err := f.unsubscribeTx(ctx, tx, accountID, st.Features, true); err != nil {
			return err
		}
		return f.cancelJobsTx(ctx, tx, accountID)
	})
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	return nil
}

// cancelJobsTx cancels the queued and running jobs of an account.
func (f *Fleet) cancelJobsTx(ctx context.Context, tx *Tx, accountID string) error {
	q := `SELECT id FROM river_job WHERE kind IN ('fleet.calendar_sync', 'fleet.mail_sync', 'fleet.subscribe')
		AND state IN ('available', 'scheduled', 'retryable', 'running', 'pending') AND `
	if f.db.pg != nil {
		q += `args->>'account' = $1`
	} else {
		q += `json_extract(args, '$.account') = $1`
	}
	rows, err := tx.Query(ctx, q, accountID)
	if err != nil {
		return err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, id := range ids {
		if err := f.q.cancelTx(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}

// lockAccount reads an account row inside tx, locking it on PostgreSQL
// until tx ends (SQLite has one writer anyway).
func (f *Fleet) lockAccount(ctx context.Context, tx *Tx, id string) (*AccountState, error) {
	q := selectAccount + ` WHERE id = $1`
	if f.db.pg != nil {
		q += ` FOR UPDATE`
	}
	st, err := scanAccount(tx.QueryRow(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnknownAccount
	}
	return st, err
}

const selectAccount = `SELECT id, features, mail_folders, days_back, days_ahead, status, reason, missing,
	throttled_until, status_at, connected_at, synced_at FROM fleet_accounts`

type scanner interface{ Scan(dest ...any) error }

func scanAccount(r scanner) (*AccountState, error) {
	var st AccountState
	var features, folders, status, missing string
	var until, statusAt, connected, synced int64
	if err := r.Scan(&st.ID, &features, &folders, &st.DaysBack, &st.DaysAhead, &status, &st.Reason, &missing,
		&until, &statusAt, &connected, &synced); err != nil {
		return nil, err
	}
	st.Features = splitFeatures(features)
	_ = json.Unmarshal([]byte(folders), &st.MailFolders)
	st.Status = Status(status)
	st.Missing = splitList(missing)
	st.ThrottledUntil, st.StatusChanged = fromMs(until), fromMs(statusAt)
	st.Connected, st.Synced = fromMs(connected), fromMs(synced)
	return &st, nil
}

// Account returns the state of one account, or an error matching
// ErrUnknownAccount.
func (f *Fleet) Account(ctx context.Context, accountID string) (*AccountState, error) {
	st, err := scanAccount(f.db.queryRow(ctx, selectAccount+` WHERE id = $1`, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &Error{Op: "Account", Err: ErrUnknownAccount}
	}
	if err != nil {
		return nil, &Error{Op: "Account", Err: err}
	}
	return st, nil
}

// Accounts lists up to limit accounts in status, ordered by ID, starting
// after the ID after ("" for the first page): pass the last ID of one
// page to get the next. limit 0 means 100; at most 10,000.
func (f *Fleet) Accounts(ctx context.Context, status Status, after string, limit int) ([]AccountState, error) {
	const op = "Accounts"
	if !slices.Contains(Statuses(), status) {
		return nil, invalid(op, "status", fmt.Sprintf("%q is not a status", status))
	}
	if limit < 0 || limit > 10000 {
		return nil, invalid(op, "limit", "is not between 0 and 10000")
	}
	if limit == 0 {
		limit = 100
	}
	rows, err := f.db.query(ctx, selectAccount+` WHERE status = $1 AND id > $2 ORDER BY id LIMIT $3`, string(status), after, limit)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	defer rows.Close()
	var out []AccountState
	for rows.Next() {
		st, err := scanAccount(rows)
		if err != nil {
			return nil, &Error{Op: op, Err: err}
		}
		out = append(out, *st)
	}
	if err := rows.Err(); err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	return out, nil
}

// Counts returns how many accounts are in each status; every status is
// present, zero counts included.
func (f *Fleet) Counts(ctx context.Context) (map[Status]int, error) {
	rows, err := f.db.query(ctx, `SELECT status, COUNT(*) FROM fleet_accounts GROUP BY status`)
	if err != nil {
		return nil, &Error{Op: "Counts", Err: err}
	}
	defer rows.Close()
	out := map[Status]int{}
	for _, s := range Statuses() {
		out[s] = 0
	}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, &Error{Op: "Counts", Err: err}
		}
		out[Status(s)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, &Error{Op: "Counts", Err: err}
	}
	return out, nil
}

// RequestSync asks for a sync of every resource of an account now, as a change
// notification would: at most one runs or waits per resource, and one
// asked for while a sync runs follows it.
func (f *Fleet) RequestSync(ctx context.Context, accountID string) error {
	const op = "RequestSync"
	err := f.db.inTx(ctx, func(tx *Tx) error {
		st, err := f.lockAccount(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if !st.Status.active() {
			return fmt.Errorf("account is %s", st.Status)
		}
		for _, r := range st.resources() {
			if err := f.requestTx(ctx, tx, accountID, r, "request", true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	return nil
}

// requestTx asks for one sync of an account's resource inside tx: it
// bumps the resource's request counter (so a sync running now runs once
// more after it) when bump is set, and inserts the sync job, which River
// skips if one is already queued.
func (f *Fleet) requestTx(ctx context.Context, tx *Tx, accountID, resource, reason string, bump bool) error {
	if bump {
		now := nowMs()
		if _, err := tx.Exec(ctx, `INSERT INTO fleet_requests (account_id, resource, requested, first_at, last_at) VALUES ($1, $2, 1, $3, $3)
			ON CONFLICT (account_id, resource) DO UPDATE SET requested = fleet_requests.requested + 1,
				first_at = CASE WHEN fleet_requests.first_at = 0 THEN excluded.first_at ELSE fleet_requests.first_at END,
				last_at = excluded.last_at`, accountID, resource, now); err != nil {
			return err
		}
	}
	_, err := f.q.insertTx(ctx, tx, syncArgsFor(accountID, resource, reason), nil)
	return err
}

// setStatusTx moves an account to c.To inside tx and, when the status
// changed, queues the delivery of the change. A new reason (or, for
// consent_missing, more missing permissions: the union is kept) in the
// same status is stored but not delivered again, so a product that emails
// "reconnect your calendar" on a change does so once, even when the
// account's calendar and mail jobs fail one after the other. A missing
// account is left alone.
func (f *Fleet) setStatusTx(ctx context.Context, tx *Tx, accountID string, c StatusChange) error {
	st, err := f.lockAccount(ctx, tx, accountID)
	if errors.Is(err, ErrUnknownAccount) {
		return nil
	}
	if err != nil {
		return err
	}
	now := time.Now()
	c.Account, c.From, c.At = accountID, st.Status, now.UTC()
	if st.Status == c.To && c.To == StatusConsentMissing {
		c.Missing = union(st.Missing, c.Missing)
	}
	stored := st.Status == c.To && st.Reason == c.Reason && slices.Equal(st.Missing, c.Missing)
	if stored && c.To != StatusThrottled {
		return nil
	}
	changed := st.Status != c.To
	statusAt := st.StatusChanged.UnixMilli()
	if st.Status != c.To {
		statusAt = now.UnixMilli()
	}
	var until int64
	if !c.Until.IsZero() {
		until = c.Until.UnixMilli()
	}
	if _, err := tx.Exec(ctx, `UPDATE fleet_accounts SET status = $2, reason = $3, missing = $4, throttled_until = $5, status_at = $6 WHERE id = $1`,
		accountID, string(c.To), c.Reason, strings.Join(c.Missing, ","), until, statusAt); err != nil {
		return err
	}
	if !changed {
		return nil
	}
	return f.emit(ctx, tx, c)
}

// union returns the names in a or b, sorted, each once.
func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// emit queues the delivery of a status change, in tx.
func (f *Fleet) emit(ctx context.Context, tx *Tx, c StatusChange) error {
	f.m.statusChanged(ctx, c)
	_, err := f.q.insertTx(ctx, tx, statusArgs{Change: c}, nil)
	return err
}

// statusArgs is the job that delivers a status change to OnStatusChange.
type statusArgs struct {
	Change StatusChange `json:"change"`
}

func (statusArgs) Kind() string { return "fleet.status_change" }

// statusPriority is the River priority of status-change deliveries:
// after every sync job (priority 1), so a burst of connects, each with
// its status changes, does not delay the syncs of notifications. River
// fetches by priority, then by schedule.
const statusPriority = 4

func (statusArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, Priority: statusPriority}
}

type statusWorker struct {
	river.WorkerDefaults[statusArgs]
	f *Fleet
}

func (w *statusWorker) Work(ctx context.Context, job *river.Job[statusArgs]) error {
	c := job.Args.Change
	w.f.log.InfoContext(ctx, "fleet: account status changed", "account", c.Account, "from", string(c.From), "to", string(c.To), "reason", c.Reason)
	if w.f.onState == nil {
		return nil
	}
	return w.f.onState(ctx, c)
}
