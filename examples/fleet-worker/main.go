// Fleet-worker is a production-shaped worker of package fleet: it keeps the
// calendar and Inbox of every connected account in sync, in tables of the
// same database River's queue lives in, and serves a status page. Start as
// many replicas as you like against one PostgreSQL database: River hands
// each sync job to one of them, at most one per account and resource at a
// time, and a replica that dies has its jobs run again by another.
//
// Against the in-process demo tenant (nothing configured), one process on
// SQLite, signing the demo users in and connecting them:
//
//	go run ./examples/fleet-worker -connect-all
//
// Against a fake Microsoft 365 served by another process, three replicas
// on PostgreSQL (the settings file is what cmd/m365fake prints):
//
//	go run ./cmd/m365fake -users 500 -tenants 20 > /tmp/fake.env &
//	export M365KIT_STORE_KEY=$(openssl rand -hex 32)   # seals the shared tokens
//	DB=postgres://user:pass@localhost:5432/app
//	go run ./examples/fleet-worker -db $DB -fake /tmp/fake.env connect    # sign in and connect every user, once
//	go run ./examples/fleet-worker -db $DB -fake /tmp/fake.env &          # replica 1
//	go run ./examples/fleet-worker -db $DB -fake /tmp/fake.env &          # replica 2
//	go run ./examples/fleet-worker -db $DB -fake /tmp/fake.env &          # replica 3
//	go run ./examples/fleet-worker -db $DB -fake /tmp/fake.env status     # accounts by status
//
// Against your tenant (M365KIT_* set; sign in once with the quickstart):
// -connect-all connects the quickstart's account, and the tokens stay in
// the quickstart's sealed file store, which replicas on one machine share.
//
// Commands: run (the default), connect (sign in and connect, then exit),
// status (accounts by status, then exit). Flags: -db (SQLite file or
// PostgreSQL URL; default fleet-worker.db), -fake FILE (or M365KIT_FAKE),
// -listen (webhook, status page and health check; default 127.0.0.1:0),
// -notification-url (the public https URL of the webhook, which the load
// balancer in front of the replicas forwards to each one's -listen at the
// same path; give it to connect too, so accounts get subscriptions),
// -workers, -rescue-after, -sweep-after, -sweep-interval, -connect-all, -v.
//
// With -fake the account tokens live in the -db database (table
// m365kit_tokens), sealed with M365KIT_STORE_KEY, so every replica can
// use every account. Without -notification-url changes reach the store
// through fleet's safety-net sweep and Fleet.RequestSync only.
package main

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/auth/sqlstore"
	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/fleet"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/scopes"
)

func main() { setup.Main("fleet-worker", runEnv) }

// EnvFake names the settings file of a fake served by cmd/m365fake, the
// default of -fake.
const EnvFake = "M365KIT_FAKE"

type options struct {
	db, fake, listen, hookURL string
	workers                   int
	rescueAfter, sweepAfter   time.Duration
	sweepInterval             time.Duration
	connectAll, verbose       bool
	command                   string
}

// features are what the worker syncs for each account.
var features = []scopes.Feature{scopes.Calendar, scopes.Mail}

// runEnv is the program (a setup.Program): main without the process around
// it, so tests call it with a shared demo tenant.
func runEnv(ctx context.Context, args []string, stdout, stderr io.Writer, env setup.Env) error {
	getenv := setup.Getenv(env.Getenv)
	fs := flag.NewFlagSet("fleet-worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.db, "db", "fleet-worker.db", "SQLite file, or PostgreSQL URL / key=value DSN (for many replicas)")
	fs.StringVar(&o.fake, "fake", getenv(EnvFake), "settings `file` printed by cmd/m365fake (default $"+EnvFake+")")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "`address` of the webhook, the status page and the health check (\"\" turns it off)")
	fs.StringVar(&o.hookURL, "notification-url", "", "the public https `URL` Graph sends change notifications to, served by every replica's -listen (\"\": no subscriptions)")
	fs.IntVar(&o.workers, "workers", 0, "jobs this process runs at once (0: fleet's default)")
	fs.DurationVar(&o.rescueAfter, "rescue-after", 0, "how long before a dead replica's job runs elsewhere (0: fleet's default, 1m)")
	fs.DurationVar(&o.sweepAfter, "sweep-after", 0, "sync accounts without a sync for this long (0: fleet's default)")
	fs.DurationVar(&o.sweepInterval, "sweep-interval", 0, "how often the leader looks for them (0: fleet's default)")
	fs.BoolVar(&o.connectAll, "connect-all", false, "sign in and connect every user before running (see connect)")
	fs.BoolVar(&o.verbose, "v", false, "debug logs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch o.command = fs.Arg(0); {
	case fs.NArg() > 1:
		return fmt.Errorf("unexpected argument %q; one command at most", fs.Arg(1))
	case o.command != "" && o.command != "run" && o.command != "connect" && o.command != "status":
		return fmt.Errorf("unknown command %q; want run, connect or status", o.command)
	case o.workers < 0:
		return fmt.Errorf("-workers %d: want 0 or more", o.workers)
	case o.hookURL != "" && o.listen == "" && (o.command == "" || o.command == "run"):
		return errors.New("-notification-url needs -listen: the webhook is served there")
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	w, err := open(ctx, o, env, log)
	if err != nil {
		return err
	}
	defer w.close()
	switch o.command {
	case "status":
		return w.status(ctx, stdout)
	case "connect":
		return w.connectAll(ctx, stdout)
	}
	if o.connectAll {
		if err := w.connectAll(ctx, stdout); err != nil {
			return err
		}
	}
	return w.run(ctx, o.listen, o.hookURL, stdout)
}

// worker is one replica: the database, the App handing out the accounts'
// tokens, the Fleet and its sink.
type worker struct {
	db      fleet.Database
	app     *auth.App
	store   auth.TokenStore // with -fake: the sealed store in the database
	f       *fleet.Fleet
	log     *slog.Logger
	browse  func(ctx context.Context, url string) (*http.Request, error) // nil: no fake to sign in through
	users   func(ctx context.Context) ([]string, error)                  // UPNs connect signs in
	account string                                                       // the quickstart's account, for a real tenant
	closers []func()
	// migrations create the tables beside fleet's (the token store's).
	migrations []func(context.Context) error
}

func (w *worker) close() {
	for i := len(w.closers) - 1; i >= 0; i-- {
		w.closers[i]()
	}
}

// open connects to the database and the tenant (demo, fake or real), and
// creates or upgrades every table.
func open(ctx context.Context, o options, env setup.Env, log *slog.Logger) (_ *worker, err error) {
	w := &worker{log: log}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	if w.db, err = fleet.Open(ctx, o.db); err != nil {
		return nil, err
	}
	w.closers = append(w.closers, w.db.Close)
	cfg, err := setup.Load(env.Getenv)
	if err != nil {
		return nil, err
	}
	var hc *http.Client
	switch {
	case o.fake != "":
		hc, err = w.openFake(ctx, o.fake, setup.Getenv(env.Getenv)(setup.EnvStoreKey))
	case cfg != nil:
		var store auth.TokenStore
		if store, err = cfg.Store(); err == nil {
			w.app, err = cfg.App(store, nil)
		}
		w.account = cfg.Account()
	default:
		sb := env.Demo
		if sb == nil {
			if sb, err = m365test.Start(); err != nil {
				return nil, err
			}
			w.closers = append(w.closers, sb.Close)
		}
		w.app, hc, w.browse = sb.App, sb.Server.HTTPClient(), sb.Server.Browse
		w.users = func(context.Context) ([]string, error) {
			var upns []string
			for _, u := range sb.Demo.Users {
				if u.HasMailbox {
					upns = append(upns, u.UserPrincipalName)
				}
			}
			return upns, nil
		}
	}
	if err != nil {
		return nil, err
	}
	w.f, err = fleet.New(fleet.Config{
		DB: w.db, App: w.app, Sink: sink{}, HTTPClient: hc, Logger: log, NotificationURL: o.hookURL,
		Workers: o.workers, RescueAfter: o.rescueAfter, SweepAfter: o.sweepAfter, SweepInterval: o.sweepInterval,
		OnStatusChange: func(ctx context.Context, c fleet.StatusChange) error {
			log.InfoContext(ctx, "account status", "account", c.Account, "from", c.From, "to", c.To, "reason", c.Reason)
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	return w, w.migrate(ctx)
}

// openFake reads cmd/m365fake's settings, and keeps the tokens in the
// database, sealed with storeKey, for every replica to use.
func (w *worker) openFake(ctx context.Context, file, storeKey string) (*http.Client, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("-fake: %w", err)
	}
	s := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			s[k] = v
		}
	}
	ca, err := os.ReadFile(s["ca"])
	if err != nil {
		return nil, fmt.Errorf("-fake %s: the ca setting: %w", file, err)
	}
	hc, err := graphtest.ClientFor(s["addr"], ca)
	if err != nil {
		return nil, fmt.Errorf("-fake %s: %w", file, err)
	}
	if storeKey == "" {
		return nil, fmt.Errorf("%s is not set: every replica seals the shared tokens with it (make one with: openssl rand -hex 32)", setup.EnvStoreKey)
	}
	key, err := setup.ParseKey(storeKey)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setup.EnvStoreKey, err)
	}
	var sdb *sql.DB
	dialect := sqlstore.SQLite
	if w.db.IsPostgres() {
		sdb, dialect = stdlib.OpenDBFromPool(w.db.Pool()), sqlstore.Postgres
		w.closers = append(w.closers, func() { sdb.Close() })
	} else {
		sdb = w.db.DB()
	}
	store, err := sqlstore.New(sdb, sqlstore.Config{Dialect: dialect})
	if err != nil {
		return nil, err
	}
	w.migrations = append(w.migrations, store.Migrate)
	sealed, err := auth.Sealed(store, key)
	if err != nil {
		return nil, err
	}
	w.store = sealed
	cred, err := auth.Secret(s["client_secret"])
	if err != nil {
		return nil, fmt.Errorf("-fake %s: client_secret: %w", file, err)
	}
	w.app, err = auth.New(auth.Config{ClientID: s["client_id"], Credential: cred, RedirectURL: s["redirect_url"], Store: sealed, HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	w.browse = func(ctx context.Context, url string) (*http.Request, error) { return graphtest.Browse(ctx, hc, url) }
	control := s["control"]
	w.users = func(ctx context.Context) ([]string, error) {
		if control == "" {
			return nil, fmt.Errorf("-fake %s: no control setting, so the fake's users are unknown", file)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, control+"/users", nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("the fake's users: %w", err)
		}
		defer resp.Body.Close()
		var users []struct {
			UPN   string
			Admin bool
		}
		if err := json.NewDecoder(resp.Body).Decode(&users); err != nil {
			return nil, fmt.Errorf("the fake's users: %w", err)
		}
		var upns []string
		for _, u := range users {
			if !u.Admin {
				upns = append(upns, u.UPN)
			}
		}
		return upns, nil
	}
	return hc, nil
}

// migrate creates or upgrades fleet's tables, the token store's and the
// sink's. On PostgreSQL an advisory lock keeps replicas starting together
// from creating the same table at once.
func (w *worker) migrate(ctx context.Context) error {
	if w.db.IsPostgres() {
		conn, err := w.db.Pool().Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		const lockID = 0x6d3336356b776b72 // "m365kwkr"
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(lockID)); err != nil {
			return err
		}
		defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(lockID)) }()
	}
	if err := w.f.Migrate(ctx); err != nil {
		return err
	}
	for _, m := range w.migrations {
		if err := m(ctx); err != nil {
			return err
		}
	}
	return migrateSink(ctx, w.db)
}

// connectAll signs in every user of the demo or fake tenant and connects
// them; against a real tenant it connects the quickstart's account.
func (w *worker) connectAll(ctx context.Context, stdout io.Writer) error {
	if w.browse == nil {
		if w.account == "" {
			return errors.New("no signed-in account: sign in once with `go run ./examples/quickstart`")
		}
		if err := w.f.Connect(ctx, fleet.Account{ID: w.account, Features: features}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "connected %s\n", w.account)
		return nil
	}
	upns, err := w.users(ctx)
	if err != nil {
		return err
	}
	// Sign-ins wait on the authority: eight at a time.
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, upn := range upns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := w.signInAndConnect(ctx, upn); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", upn, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "connected %d accounts\n", len(upns))
	return nil
}

// signInAndConnect signs upn in through the fake's browser and connects
// the account.
func (w *worker) signInAndConnect(ctx context.Context, upn string) error {
	url, pending, err := w.app.SignInURL(auth.SignInRequest{Features: features, LoginHint: upn})
	if err != nil {
		return err
	}
	cb, err := w.browse(ctx, url)
	if err != nil {
		return err
	}
	u, err := w.app.CompleteSignIn(ctx, cb, pending)
	if err != nil {
		return err
	}
	return w.f.Connect(ctx, fleet.Account{ID: u.AccountID, Features: features})
}

// run starts this replica's share of the work and serves the status page
// until ctx is done.
func (w *worker) run(ctx context.Context, listen, hookURL string, stdout io.Writer) error {
	if err := w.f.Start(ctx); err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := w.f.Stop(stopCtx); err != nil {
			w.log.Error("stop", "error", err)
		}
	}()
	if listen != "" {
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			return fmt.Errorf("-listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /status", func(rw http.ResponseWriter, r *http.Request) {
			rep, err := w.report(r.Context())
			if err != nil {
				http.Error(rw, "status unavailable", http.StatusServiceUnavailable)
				return
			}
			rw.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(rw).Encode(rep)
		})
		mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(rw, "ok\n") })
		if hookURL != "" {
			// Behind the load balancer or proxy that terminates TLS for
			// hookURL: the same path on every replica.
			u, err := url.Parse(hookURL)
			if err != nil {
				return fmt.Errorf("-notification-url: %w", err)
			}
			mux.Handle("POST "+cmp.Or(u.Path, "/"), w.f.Handler())
			fmt.Fprintf(stdout, "webhook on http://%s%s\n", ln.Addr(), u.Path)
		}
		hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = hs.Serve(ln) }()
		defer hs.Close()
		fmt.Fprintf(stdout, "status page on http://%s/status\n", ln.Addr())
	}
	fmt.Fprintln(stdout, "worker running")
	<-ctx.Done()
	return nil
}

// report is the status page: accounts by status, and the accounts that
// need someone's attention with the reason.
type report struct {
	Counts    map[fleet.Status]int
	Attention []fleet.AccountState
}

func (w *worker) report(ctx context.Context) (*report, error) {
	counts, err := w.f.Counts(ctx)
	if err != nil {
		return nil, err
	}
	rep := &report{Counts: counts}
	for _, st := range []fleet.Status{fleet.StatusNeedsSignIn, fleet.StatusConsentMissing, fleet.StatusThrottled, fleet.StatusDisabled} {
		for after := ""; ; {
			page, err := w.f.Accounts(ctx, st, after, 100)
			if err != nil {
				return nil, err
			}
			rep.Attention = append(rep.Attention, page...)
			if len(page) < 100 {
				break
			}
			after = page[len(page)-1].ID
		}
	}
	return rep, nil
}

// status prints the report.
func (w *worker) status(ctx context.Context, stdout io.Writer) error {
	rep, err := w.report(ctx)
	if err != nil {
		return err
	}
	for _, st := range fleet.Statuses() {
		fmt.Fprintf(stdout, "%-16s %d\n", st, rep.Counts[st])
	}
	for _, a := range rep.Attention {
		detail := a.Reason
		switch {
		case len(a.Missing) > 0:
			detail = "missing " + strings.Join(a.Missing, ", ")
		case !a.ThrottledUntil.IsZero():
			detail = "until " + a.ThrottledUntil.Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\n", a.Status, a.ID, detail)
	}
	return nil
}
