// Package fleet keeps every connected account's calendar and mail in sync
// across many worker processes, on River (github.com/riverqueue/river):
// PostgreSQL (riverpgxv5) for many machines, SQLite (riversqlite on
// modernc.org/sqlite) embedded in one process. Users of the package write
// no SQL for it and never touch River: Migrate creates River's tables and
// fleet's, New configures River, the Sink gets a transaction.
//
// # A worker process
//
// Every replica runs the same program; start as many as the load needs,
// against one database, behind one load balancer for the webhook:
//
//	db, err := fleet.Open(ctx, *dsn) // a SQLite file, or a PostgreSQL URL for many replicas
//	if err != nil {
//		return err
//	}
//	defer db.Close()
//	f, err := fleet.New(fleet.Config{
//		DB:              db,
//		App:             app,  // the auth.App users signed in through
//		Sink:            sink, // applies pages to the product's tables (see Sink)
//		NotificationURL: "https://worker.example.com/graph/notifications",
//	})
//	if err != nil {
//		return err
//	}
//	if err := f.Migrate(ctx); err != nil {
//		return err
//	}
//	if err := f.Start(ctx); err != nil {
//		return err
//	}
//	defer f.Stop(context.WithoutCancel(ctx))
//	http.Handle("POST /graph/notifications", f.Handler())
//	return http.ListenAndServe(":8443", nil)
//
// and, in the web app, after each sign-in (auth.App.CompleteSignIn):
//
//	err = f.Connect(ctx, fleet.Account{ID: user.AccountID, Features: []scopes.Feature{scopes.Calendar, scopes.Mail}})
//
// A status page reads Counts and Accounts; Config.OnStatusChange tells the
// product once when a user must reconnect.
//
// # Who inserts which job
//
// All jobs run in River's queue named Queue, on any replica.
//
//   - Connect stores the account and, in the same transaction, inserts a
//     sync job per resource (the calendar, each mail folder) and, with
//     Config.NotificationURL, a subscription job per resource. A
//     subscription job that creates a subscription also requests a sync,
//     so nothing changed before the subscription existed is left to the
//     sweep.
//   - The webhook (Handler), on whichever replica Graph reached, verifies
//     each notification against the registrations in the database and, in
//     one transaction before it answers 202, bumps the resource's request
//     counter and inserts its sync job; reauthorizationRequired inserts a
//     subscription job that renews, subscriptionRemoved one that recreates
//     (and a resync), missed a resync. If the transaction fails the answer
//     is 503 and Graph delivers again: nothing is acknowledged unstored.
//   - Sync jobs are River unique jobs (by account and resource, over the
//     queued and running states): at most one runs or waits per account
//     and resource across all replicas, so a burst of notifications costs
//     one sync. A notification that arrives while a sync runs is not lost:
//     the job read the request counter when it started, and in the
//     transaction that completes it (river.JobCompleteTx) it locks the
//     counter and inserts a follow-up job if the counter moved.
//     Subscription jobs (unique likewise) do the same with the renewal
//     requests of reauthorizationRequired, counted per registration: one
//     that arrives while a renewal runs is renewed again right after it.
//   - A sync that runs for half of Config.RescueAfter commits its page and
//     hands over to a follow-up job in the same transaction.
//   - The elected leader (one process of the fleet) runs the periodic jobs:
//     the safety-net sweep (resources not synced for Config.SweepAfter get
//     a sync, except calendars about to slide), the window slide
//     (calendar windows that no longer cover the asked window get a sync,
//     which slides them with calendar.Service.Slide to the asked window
//     and Config.WindowMarginDays more: once every margin + 1 days, not
//     daily, as each slide lists the whole new window) and the
//     renewal (subscriptions within Config.RenewBefore of expiry, or
//     flagged by reauthorizationRequired, get a subscription job; so do
//     synced resources without a subscription).
//   - A status change inserts the delivery job of Config.OnStatusChange in
//     the same transaction, so the product hears it once per change, not
//     once per attempt. Deliveries have a lower River priority than syncs:
//     a burst of connects does not delay the syncs of notifications.
//
// # Where state lives
//
// In the database, next to River's tables: fleet_accounts (one row per
// account: features, folders, window, status), fleet_cursors (one row per
// account and resource: the delta cursor and its window), fleet_requests
// (the request counters), fleet_subscriptions (the notify registrations,
// clientState included: treat the table as secret, and their renewal
// request counters). Tokens stay in the
// auth.App's TokenStore.
//
// A page's changes (through the Sink), its cursor and, on the job's last
// page, the job's completion commit in one transaction. A crash anywhere
// leaves all of them stored or none: the job that runs again fetches the
// page again from the stored cursor, and the Sink's idempotent upserts
// apply it once in effect.
//
// # Failures
//
//   - A worker process dies (SIGKILL, lost machine): its running jobs stay
//     "running" until River's leader rescues them, Config.RescueAfter (45
//     seconds by default) to 30 seconds more after they started; another
//     process runs them from the stored cursor. Jobs time out at three quarters of
//     RescueAfter, so a live job is never rescued; and every page's
//     transaction checks that its run is still the job's current attempt,
//     so a run River gave up on (a worker paused, not dead) commits
//     nothing more: pages of a resource are applied by one run at a time,
//     in order.
//   - Graph answers 429 or 503: the job snoozes for Retry-After
//     (river.JobSnooze, no attempt spent) and the account shows
//     StatusThrottled until then; the next successful page clears it.
//   - The user's refresh token was revoked or expired, or MFA or
//     Conditional Access now requires a sign-in (auth.ErrReauthRequired),
//     or consent is missing (auth.ErrConsentRequired): after that one
//     attempt the account is parked in StatusNeedsSignIn (with the
//     reason) or StatusConsentMissing (with the permissions), the job is
//     cancelled, its registrations are forgotten (their notifications are
//     refused; the subscriptions expire at Graph), and nothing is
//     scheduled for it, by the sweep or anyone, until Connect. Its jobs
//     still queued read the status and end without asking for a token;
//     those already running (its other resources, its subscriptions) get
//     the refusal the first one got in the same process: one token
//     request per process.
//   - The Sink returns an error or panics: the transaction rolls back,
//     nothing of the page is stored, and the job retries with back-off.
//   - Graph drops the delta state twice in one round: the cursor is
//     dropped and the retry starts over with Reset.
//   - The database is unreachable: jobs fail and retry; the webhook answers
//     503 and Graph delivers again.
//
// # One transaction type for two databases
//
// River is generic over the transaction type (pgx.Tx for riverpgxv5,
// *sql.Tx for riversqlite). fleet hides that behind one concrete *Tx, so
// a Sink is written once and runs on PostgreSQL in production and on
// SQLite in tests; Tx.Postgres and Tx.SQLite reach the transaction
// underneath for what Tx does not offer. A type-parameterised Fleet[TTx]
// would have made every caller spell the transaction type in the Config,
// the Sink and every helper, and a team that tests on SQLite and runs on
// PostgreSQL write two sinks, for no gain: $1-style placeholders work on
// both, and so does the portable SQL a sink needs (INSERT ... ON CONFLICT).
//
// # Observability
//
// Metrics go through Config.MeterProvider (the OpenTelemetry global one by
// default, a no-op until the program installs an SDK): fleet's own
// (accounts by status, jobs by kind and outcome, queue latency,
// notification-to-commit latency, Graph requests by status, status
// changes, notifications, notifications rejected or dropped: unknown,
// disconnected or parked accounts' and forged ones) and River's through
// otelriver. Logs go to
// Config.Logger; they name accounts and resources, never tokens or
// clientStates.
//
// fleet is its own package: a program that imports only auth, calendar or
// mail does not link River or OpenTelemetry.
package fleet
