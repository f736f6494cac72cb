package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/riverqueue/rivercontrib/otelriver"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/mail"
	"github.com/m365kit/m365kit/notify"
)

// Defaults of the Config fields left zero.
const (
	// DefaultWorkers is Config.Workers' default.
	DefaultWorkers = 20
	// DefaultRescueAfter is Config.RescueAfter's default: with River's
	// leader looking every 30 seconds, a dead worker's job runs again
	// within 45 to 75 seconds of its start.
	DefaultRescueAfter = 45 * time.Second
	// DefaultSweepAfter is Config.SweepAfter's default.
	DefaultSweepAfter = 24 * time.Hour
	// DefaultSweepInterval is Config.SweepInterval's default.
	DefaultSweepInterval = 10 * time.Minute
	// DefaultMaxAttempts is Config.MaxAttempts' default.
	DefaultMaxAttempts = 10
	// DefaultPollInterval is Config.PollInterval's default.
	DefaultPollInterval = 250 * time.Millisecond
	// DefaultThrottle is how long a job snoozes after a 429 or 503
	// without Retry-After.
	DefaultThrottle = time.Minute
	// DefaultRenewBefore is Config.RenewBefore's default.
	DefaultRenewBefore = 24 * time.Hour
	// DefaultWindowMarginDays is Config.WindowMarginDays' default: the
	// calendar window slides once every 8 days, not every day.
	DefaultWindowMarginDays = 7
	// DefaultPageSize is Config.PageSize's default.
	DefaultPageSize = 50
)

// lifetimeMargin is how far under each kind's maximum lifetime fleet
// asks Graph for expirations (notify.Config.Margin).
const lifetimeMargin = 15 * time.Minute

// Queue is the River queue fleet's jobs run in, so a program's own River
// client on the same database (in the default queue) never fetches them.
const Queue = "m365kit_fleet"

// Config configures a Fleet. DB, App and Sink are required; zero fields
// take the documented defaults. Give every replica the same Config (the
// same Sink, the same OnStatusChange): any replica may run any job.
type Config struct {
	// DB is the database for River's queue, fleet's tables and, through
	// the Tx handed to Sink, the caller's synced data.
	DB Database
	// App hands out each account's delegated tokens.
	App *auth.App
	// Sink applies synced pages inside fleet's transaction. See Sink for
	// what it may and may not do.
	Sink Sink
	// HTTPClient carries the Graph requests (nil: a client with a
	// 60-second timeout). Tests pass graphtest's Server.HTTPClient().
	HTTPClient *http.Client
	// GraphOptions are extra options for each account's Graph client
	// (graphclient.WithBaseURL for a national cloud, WithLogger, ...).
	// fleet adds its own retry policy last: throttled (429) and
	// unavailable (503) answers snooze the job instead of waiting in a
	// worker.
	GraphOptions []graphclient.Option
	// PageSize asks Graph for at most this many events a calendar page
	// (Prefer: odata.maxpagesize; default DefaultPageSize, at most 1000).
	// Graph's own default is 10 events a page, which makes the first
	// round of a 31-day window 3 or 4 requests where 50 makes it one or
	// two; Graph may still send fewer, and pages of events carry their
	// bodies, so keep it moderate.
	PageSize int
	// WindowMarginDays is how many days past Account.DaysAhead fleet
	// syncs each calendar (default DefaultWindowMarginDays). A delta
	// cursor is bound to its window, so moving the window means listing
	// the new one in full (Slide); with a margin the synced window still
	// covers the asked one for that many days, and slides once every
	// WindowMarginDays + 1 days instead of daily. The Sink sees the
	// synced window in CalendarPage.Start and End: it gets events up to
	// the margin beyond DaysAhead, and keeps events up to that many days
	// before DaysBack until the next slide.
	WindowMarginDays int
	// MailRequest is the template of every mail-folder sync (Filter,
	// Body, Headers, Classification, PageSize); fleet sets Folder and
	// Cursor.
	MailRequest mail.SyncRequest
	// Workers is how many jobs one process runs at once (default
	// DefaultWorkers). Jobs wait on Graph, not on the CPU.
	Workers int
	// RescueAfter is how long a job may run before River considers its
	// worker dead and runs it again elsewhere (default DefaultRescueAfter;
	// at least 10 seconds). River's leader looks for such jobs every 30
	// seconds. A job times out at three quarters of it, and a long sync
	// hands over to a follow-up job at half of it, so a live job is never
	// rescued.
	RescueAfter time.Duration
	// SweepAfter is how long a resource (a calendar, a mail folder) may
	// go without a sync, for want of notifications, before the safety-net
	// sweep syncs it anyway (default DefaultSweepAfter: with the window
	// slide and subscription renewals, an idle account costs a few Graph
	// requests a day). A sync for any reason (a notification, the slide)
	// restarts the wait.
	SweepAfter time.Duration
	// SweepInterval is how often the elected leader looks for such
	// accounts, for calendar windows to slide and for subscriptions to
	// renew (default DefaultSweepInterval; at least a second: looking
	// more often only loads the database).
	SweepInterval time.Duration
	// MaxAttempts is how many times a failing job runs before River
	// discards it (default DefaultMaxAttempts). Snoozes for throttling
	// do not count.
	MaxAttempts int
	// PollInterval is how often an idle SQLite worker looks for jobs
	// (default DefaultPollInterval; PostgreSQL is woken by LISTEN/NOTIFY
	// and polls once a second as a fallback).
	PollInterval time.Duration
	// NotificationURL is the https URL where Graph reaches the webhook
	// (Handler) on any replica. With it, fleet subscribes to each
	// account's calendar and mail folders and keeps the subscriptions
	// alive; without it, syncs come from Connect, RequestSync and the sweep only.
	NotificationURL string
	// RenewBefore is how long before expiry a subscription is renewed
	// (default DefaultRenewBefore); it must be shorter than the lifetime
	// fleet asks Graph for, each kind's lifetime less 15 minutes (else
	// every subscription would be renewed at every look).
	RenewBefore time.Duration
	// SubscriptionLifetime overrides notify.DefaultLifetimes per kind
	// (Microsoft has changed them before; tests shorten them): the
	// maximum Graph allows. fleet asks for 15 minutes less, so clock skew
	// and latency never push an expiration past it; each must be longer
	// than that.
	SubscriptionLifetime map[notify.Kind]time.Duration
	// OnStatusChange, if set, is told each change of an account's status
	// once, on whichever replica runs the delivery job (an error retries
	// the delivery, so it may see a change again). Deliveries run as jobs
	// and may arrive out of order: compare StatusChange.At, or read the
	// current status with Account. A product emails "reconnect your
	// calendar" from it.
	OnStatusChange func(ctx context.Context, c StatusChange) error
	// Logger receives fleet's and River's logs (default: discarded).
	Logger *slog.Logger
	// MeterProvider makes fleet's and River's metrics (default: the
	// OpenTelemetry global provider, a no-op until the program sets one).
	MeterProvider metric.MeterProvider
	// TracerProvider makes River's job spans (default: the global one).
	TracerProvider trace.TracerProvider
}

// Fleet keeps every connected account's calendar and mail in sync, on
// River. Create one per process with New, run Migrate once at start-up,
// then Start. It is safe for concurrent use.
type Fleet struct {
	db       Database
	app      *auth.App
	sink     Sink
	hc       *http.Client
	gopts    []graphclient.Option
	pageSize int
	// marginDays is Config.WindowMarginDays.
	marginDays int
	mailReq    mail.SyncRequest
	log        *slog.Logger
	onState    func(ctx context.Context, c StatusChange) error
	q          queue
	m          *metrics
	reg        registry
	hook       *notify.Handler
	intake     combiner
	denied     denials // sign-in and consent errors of token requests

	notifyURL   string
	renewBefore time.Duration
	lifetimes   map[notify.Kind]time.Duration

	batch                          int // rows per page of a periodic job (sweepBatch; tests lower it)
	rescueAfter, jobTimeout, slice time.Duration
	sweepAfter, sweepInterval      time.Duration
}

// New checks cfg and returns a Fleet; nothing runs until Start. An error
// names the Config field at fault.
func New(cfg Config) (*Fleet, error) {
	const op = "New"
	switch {
	case !cfg.DB.valid():
		return nil, invalid(op, "Config.DB", "is not set (use fleet.Postgres, fleet.SQLite or fleet.Open)")
	case cfg.App == nil:
		return nil, invalid(op, "Config.App", "is nil")
	case cfg.Sink == nil:
		return nil, invalid(op, "Config.Sink", "is nil")
	case cfg.PageSize < 0 || cfg.PageSize > 1000:
		return nil, invalid(op, "Config.PageSize", "is not between 0 and 1000")
	case cfg.WindowMarginDays < 0 || cfg.WindowMarginDays > 366:
		return nil, invalid(op, "Config.WindowMarginDays", "is not between 0 and 366")
	case cfg.Workers < 0:
		return nil, invalid(op, "Config.Workers", "is negative")
	case cfg.RescueAfter != 0 && cfg.RescueAfter < 10*time.Second:
		return nil, invalid(op, "Config.RescueAfter", "is less than 10s")
	case cfg.SweepAfter < 0:
		return nil, invalid(op, "Config.SweepAfter", "is negative")
	case cfg.SweepInterval < 0:
		return nil, invalid(op, "Config.SweepInterval", "is negative")
	case cfg.SweepInterval != 0 && cfg.SweepInterval < time.Second:
		// Each look queries the accounts, cursors and subscriptions:
		// more than one a second only loads the database.
		return nil, invalid(op, "Config.SweepInterval", "is less than 1s")
	case cfg.MaxAttempts < 0:
		return nil, invalid(op, "Config.MaxAttempts", "is negative")
	case cfg.PollInterval != 0 && cfg.PollInterval < 100*time.Millisecond:
		return nil, invalid(op, "Config.PollInterval", "is less than 100ms")
	}
	f := &Fleet{
		db:            cfg.DB,
		app:           cfg.App,
		sink:          cfg.Sink,
		hc:            cfg.HTTPClient,
		gopts:         cfg.GraphOptions,
		pageSize:      or(cfg.PageSize, DefaultPageSize),
		marginDays:    or(cfg.WindowMarginDays, DefaultWindowMarginDays),
		mailReq:       cfg.MailRequest,
		log:           cfg.Logger,
		onState:       cfg.OnStatusChange,
		rescueAfter:   or(cfg.RescueAfter, DefaultRescueAfter),
		sweepAfter:    or(cfg.SweepAfter, DefaultSweepAfter),
		sweepInterval: or(cfg.SweepInterval, DefaultSweepInterval),
	}
	f.reg = registry{db: cfg.DB}
	f.notifyURL = cfg.NotificationURL
	f.renewBefore = or(cfg.RenewBefore, DefaultRenewBefore)
	f.lifetimes = cfg.SubscriptionLifetime
	life := notify.DefaultLifetimes()
	for k, d := range cfg.SubscriptionLifetime {
		life[k] = d
	}
	for _, k := range slices.Sorted(maps.Keys(life)) {
		d := life[k]
		if d <= lifetimeMargin {
			return nil, invalid(op, "Config.SubscriptionLifetime", fmt.Sprintf("%s: %v is not longer than the %v fleet asks under it", k, d, lifetimeMargin))
		}
		// notify asks Graph for the lifetime less the margin: a
		// RenewBefore as long would renew every subscription at every
		// look of the leader.
		if f.renewBefore >= d-lifetimeMargin {
			return nil, invalid(op, "Config.RenewBefore", fmt.Sprintf("%v is not shorter than the %v fleet asks for %s subscriptions (their lifetime %v less %v)",
				f.renewBefore, d-lifetimeMargin, k, d, lifetimeMargin))
		}
	}
	if f.notifyURL != "" {
		if u, err := url.Parse(f.notifyURL); err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, invalid(op, "Config.NotificationURL", "is not an absolute https URL")
		}
	}
	f.batch = sweepBatch
	f.jobTimeout = f.rescueAfter * 3 / 4
	f.slice = f.rescueAfter / 2
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.hc == nil {
		f.hc = &http.Client{Timeout: 60 * time.Second}
	}
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m, err := newMetrics(mp, f)
	if err != nil {
		return nil, &Error{Op: op, Input: "Config.MeterProvider", Err: err}
	}
	f.m = m
	f.hc = f.m.instrument(f.hc)

	workers := river.NewWorkers()
	river.AddWorker(workers, &calendarWorker{f: f})
	river.AddWorker(workers, &mailWorker{f: f})
	river.AddWorker(workers, &sweepWorker{f: f})
	river.AddWorker(workers, &slideWorker{f: f})
	river.AddWorker(workers, &statusWorker{f: f})
	f.addSubscriptionWorkers(workers)

	rc := &river.Config{
		Queues:               map[string]river.QueueConfig{Queue: {MaxWorkers: or(cfg.Workers, DefaultWorkers)}},
		Workers:              workers,
		JobTimeout:           f.jobTimeout,
		RescueStuckJobsAfter: f.rescueAfter,
		MaxAttempts:          or(cfg.MaxAttempts, DefaultMaxAttempts),
		Logger:               f.log,
		PeriodicJobs:         f.periodicJobs(),
		Middleware: []rivertype.Middleware{otelriver.NewMiddleware(&otelriver.MiddlewareConfig{
			MeterProvider:  mp,
			TracerProvider: cfg.TracerProvider,
		})},
		ErrorHandler: &errorHandler{f: f},
	}
	if cfg.DB.sqlite != nil {
		rc.FetchPollInterval = or(cfg.PollInterval, DefaultPollInterval)
		rc.FetchCooldown = min(rc.FetchPollInterval, 100*time.Millisecond)
	}
	f.hook, err = notify.NewHandler(notify.HandlerConfig{Store: f.reg, Deliver: f.deliver, Logger: cfg.Logger,
		OnReject: func(r *http.Request, err error) { f.m.rejected(r.Context(), rejectReason(err), 1) }})
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	f.q, err = newQueue(cfg.DB, rc)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	return f, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Start starts this process's share of the work: River's job fetching,
// its leader election (the leader runs the periodic sweep, window slide
// and subscription renewal for the whole fleet) and the rescue of jobs
// whose worker died. It returns once started; Stop ends it. Run Migrate
// first.
func (f *Fleet) Start(ctx context.Context) error {
	if err := f.q.start(ctx); err != nil {
		return &Error{Op: "Start", Err: err}
	}
	return nil
}

// Stop makes Handler answer 503 (Graph delivers again later), stops
// fetching jobs and waits for the running ones to finish, or
// for ctx; jobs still running then are cancelled and run again later.
func (f *Fleet) Stop(ctx context.Context) error {
	// Notifications arriving from now on get 503: Graph delivers them
	// again, to this replica later or to another.
	_ = f.hook.Shutdown(ctx)
	if err := f.q.stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return &Error{Op: "Stop", Err: err}
	}
	return nil
}

func nowMs() int64 { return time.Now().UnixMilli() }

func fromMs(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
