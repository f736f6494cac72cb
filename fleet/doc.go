// Package fleet keeps every connected account's calendar and mail in
// sync across many worker processes, on River (github.com/riverqueue/river):
// PostgreSQL (riverpgxv5) for many machines, SQLite (riversqlite on
// modernc.org/sqlite) embedded for one.
//
// The architecture, the exactly-once rule for sinks and what happens on
// a crash or a revoked user are described below; the worker program is:
//
//	db, err := fleet.Open(ctx, *dsn) // a SQLite file or a PostgreSQL URL
//	f, err := fleet.New(fleet.Config{DB: db, App: app, Sink: sink})
//	err = f.Migrate(ctx)
//	err = f.Start(ctx)
//	defer f.Stop(context.Background())
//	// after each sign-in:
//	err = f.Connect(ctx, fleet.Account{ID: user.AccountID, Features: []scopes.Feature{scopes.Calendar, scopes.Mail}})
//
// # Who inserts which job
//
//   - Connect inserts a sync job per resource (the calendar, each mail
//     folder) in the transaction that stores the account.
//   - Sync (and the webhook intake, for change notifications) bumps a
//     per-account-and-resource request counter and inserts the sync job in
//     one transaction. Sync jobs are River unique jobs (by account and
//     resource, over the queued and running states): at most one runs or
//     waits per account and resource across all replicas, so a burst of
//     notifications costs one sync. A request that arrives while a sync
//     runs is not lost: the job read the counter when it started and, in
//     the transaction that completes it, inserts a follow-up job if the
//     counter moved.
//   - A sync job that runs for half of Config.RescueAfter commits its page
//     and hands over to a follow-up job, so no live job is rescued.
//   - The elected leader (one process of the fleet) runs the periodic
//     jobs: the safety-net sweep (accounts not synced for
//     Config.SweepAfter get a sync) and the window slide (calendar windows
//     whose day has passed get a sync, which slides them).
//   - A status change inserts a delivery job for Config.OnStatusChange in
//     the same transaction.
//
// # Where cursors live
//
// In fleet_cursors, one row per account and resource, written in the same
// transaction as the page the Sink applied and, for the job's last page,
// the job's completion (river.JobCompleteTx). A crash anywhere leaves the
// page, its cursor and the completion all stored, or none of them: the
// rescued or retried job fetches the page again from the stored cursor.
//
// # Failures
//
//   - Graph answers 429 or 503: the job snoozes for Retry-After
//     (river.JobSnooze, no attempt spent) and the account shows
//     StatusThrottled until then.
//   - The user's refresh token is revoked or expired, or MFA is now
//     required (auth.ErrReauthRequired), or consent is missing
//     (auth.ErrConsentRequired): the account is parked in
//     StatusNeedsSignIn or StatusConsentMissing after that one attempt,
//     the job is cancelled, and nothing is scheduled for it until Connect.
//   - The Sink returns an error or panics: the transaction rolls back and
//     the job retries with back-off.
//   - A worker process dies: River's leader rescues its running jobs after
//     Config.RescueAfter (one minute by default) and another process runs
//     them from the stored cursor.
//
// # One transaction type for two databases
//
// River is generic over the transaction type (pgx.Tx for riverpgxv5,
// *sql.Tx for riversqlite). fleet hides that behind one concrete *Tx, so
// a Sink is written once and runs on PostgreSQL in production and on
// SQLite in tests; Tx.Postgres and Tx.SQLite reach the transaction
// underneath for what Tx does not offer. A type-parameterised Fleet[TTx]
// would have made every caller spell the transaction type in the Config,
// the Sink and every helper, and two sinks for a team that tests on
// SQLite, for no gain: the sink's SQL is the same on both databases.
//
// fleet is its own package: a program that imports only auth or calendar
// does not link River.
package fleet
