// Calendar-sync is a long-running worker that keeps a window of the signed-in
// user's meetings (yesterday to 30 days ahead) in a SQL table, with Microsoft
// Graph delta queries: the first round lists the window, later rounds fetch
// only what changed. Each page's events and the sync cursor are written in
// one transaction, so after a crash or restart the worker resumes exactly
// after the last page it stored. Each row says whether a notetaker joins the
// meeting (calendar.Rules), with the provider and join link
// (calendar.FindMeetingLink) and a cross-user dedup key (calendar.DedupKey).
//
// Against the demo tenant (nothing configured), one round into a SQLite file:
//
//	go run ./examples/calendar-sync -once -db /tmp/calendar.db
//
// Against your tenant (sign in once with the quickstart first), every five
// minutes into PostgreSQL:
//
//	go run ./examples/calendar-sync -db "postgres://user:pass@localhost:5432/app" -interval 5m
//
// Flags: -db (a SQLite file, or a PostgreSQL URL or key=value DSN; default
// calendar-sync.db), -days 30, -interval 5m, -once (one round, then exit: for
// tests and cron), -account oid.tid, -record DIR (record the exchanges with
// Entra ID and Graph, secrets redacted), -replay DIR (answer them from the
// newest recording there, offline; the window is the recorded day's).
//
// When the day changes the worker starts a new window from scratch. A
// production worker would slide it without a full relist, as the calendar
// package documents ("Sliding window").
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/m365kit/m365kit/calendar"
	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/examples/internal/sqldb"
	"github.com/m365kit/m365kit/scopes"
)

func main() { setup.Main("calendar-sync", runEnv) }

type options struct {
	db       string
	days     int
	interval time.Duration
	once     bool
	account  string
	pageSize int
}

// runEnv is the program (a setup.Program): main without the process
// around it, so tests call it with a shared demo tenant.
func runEnv(ctx context.Context, args []string, stdout, stderr io.Writer, env setup.Env) error {
	fs := flag.NewFlagSet("calendar-sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.db, "db", "calendar-sync.db", "SQLite file, or PostgreSQL URL / key=value DSN")
	fs.IntVar(&o.days, "days", 30, "days ahead to keep")
	fs.DurationVar(&o.interval, "interval", 5*time.Minute, "time between rounds")
	fs.BoolVar(&o.once, "once", false, "run one round and exit")
	fs.StringVar(&o.account, "account", "", "account ID (oid.tid) to sync (default: the quickstart's last sign-in)")
	fs.IntVar(&o.pageSize, "pagesize", 0, "events per Graph page (0: Graph's default)")
	tape := setup.TapeFlags(fs, "calendar-sync")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q; flags only", fs.Arg(0))
	case o.days < 1 || o.days > 366:
		return fmt.Errorf("-days %d: want 1 to 366", o.days)
	case o.interval < time.Second:
		return fmt.Errorf("-interval %v: want at least 1s", o.interval)
	case o.pageSize < 0:
		return fmt.Errorf("-pagesize %d: want 0 or more", o.pageSize)
	}
	env, endTape, err := tape.Open(env, stderr)
	if err != nil {
		return err
	}
	defer endTape()
	db, err := sqldb.Open(o.db)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := migrate(ctx, db); err != nil {
		return err
	}
	conn, err := env.Connect(ctx, o.account, scopes.Calendar)
	if err != nil {
		return err
	}
	defer conn.Close()
	userID, err := conn.UserID(ctx)
	if err != nil {
		return err
	}
	w := &worker{db: db, svc: calendar.New(conn.Graph), out: stdout, opts: o, account: userID}
	fmt.Fprintf(stdout, "syncing the calendar of %s into %s\n", conn.User, dbKind(db))
	for {
		if err := w.round(ctx, env.Now().UTC()); err != nil {
			return err
		}
		if o.once {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.interval):
		}
	}
}

func dbKind(db *sqldb.DB) string {
	if db.Postgres {
		return "PostgreSQL"
	}
	return "SQLite"
}

func migrate(ctx context.Context, db *sqldb.DB) error {
	return db.CreateTables(ctx,
		`CREATE TABLE IF NOT EXISTS calendar_events (
			account   TEXT NOT NULL,
			id        TEXT NOT NULL,
			subject   TEXT NOT NULL,
			start_utc TEXT NOT NULL,
			end_utc   TEXT NOT NULL,
			provider  TEXT NOT NULL,
			join_url  TEXT NOT NULL,
			joins     INTEGER NOT NULL,
			skip      TEXT NOT NULL,
			dedup_key TEXT NOT NULL,
			PRIMARY KEY (account, id))`,
		`CREATE TABLE IF NOT EXISTS calendar_sync (
			account      TEXT PRIMARY KEY,
			window_start TEXT NOT NULL,
			window_end   TEXT NOT NULL,
			cursor       TEXT NOT NULL,
			updated_utc  TEXT NOT NULL)`,
	)
}

type worker struct {
	db      *sqldb.DB
	svc     *calendar.Service
	out     io.Writer
	opts    options
	account string // the Graph user ID rows are stored under
}

// rules decide which meetings the notetaker joins.
var rules = calendar.Rules{SkipFree: true, SkipAllDay: true, RequireMeetingLink: true}

// round runs one sync round: from the stored cursor if it belongs to today's
// window, else a fresh window.
func (w *worker) round(ctx context.Context, now time.Time) error {
	start := now.Truncate(24*time.Hour).AddDate(0, 0, -1)
	end := start.AddDate(0, 0, w.opts.days+1)
	var cursor, storedStart string
	err := w.db.QueryRowContext(ctx, w.db.Q(`SELECT cursor, window_start FROM calendar_sync WHERE account = ?`), w.account).Scan(&cursor, &storedStart)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("load cursor: %w", err)
	}
	req := calendar.SyncRequest{Start: start, End: end, PageSize: w.opts.pageSize}
	fresh := cursor == "" || storedStart != start.Format(time.RFC3339)
	if fresh {
		fmt.Fprintf(w.out, "new window %s to %s\n", start.Format(time.DateOnly), end.Format(time.DateOnly))
	} else {
		req.Cursor = cursor
		fmt.Fprintf(w.out, "resuming from the stored cursor\n")
	}
	pages, changed, removed := 0, 0, 0
	for page, err := range w.svc.Sync(ctx, req) {
		if err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		pages++
		if err := w.store(ctx, page, fresh && pages == 1, start, end); err != nil {
			return err
		}
		changed += len(page.Events)
		removed += len(page.Removed)
		fmt.Fprintf(w.out, "page %d: %d changed, %d removed%s\n", pages, len(page.Events), len(page.Removed), map[bool]string{true: " (Graph reset the sync: window relisted)"}[page.Reset])
	}
	var total, joins int
	if err := w.db.QueryRowContext(ctx, w.db.Q(`SELECT COUNT(*), COALESCE(SUM(joins), 0) FROM calendar_events WHERE account = ?`), w.account).Scan(&total, &joins); err != nil {
		return fmt.Errorf("count: %w", err)
	}
	fmt.Fprintf(w.out, "round done: %d pages, %d changed, %d removed; %d events stored, the notetaker joins %d\n", pages, changed, removed, total, joins)
	return nil
}

// store writes one page and its cursor in one transaction. clearAll drops the
// window's events first: a new window, or Graph's reset.
func (w *worker) store(ctx context.Context, page *calendar.Page, clearAll bool, start, end time.Time) (err error) {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store page: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if clearAll || page.Reset {
		if _, err := tx.ExecContext(ctx, w.db.Q(`DELETE FROM calendar_events WHERE account = ?`), w.account); err != nil {
			return fmt.Errorf("store page: %w", err)
		}
	}
	upsert := w.db.Q(`INSERT INTO calendar_events (account, id, subject, start_utc, end_utc, provider, join_url, joins, skip, dedup_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account, id) DO UPDATE SET subject = excluded.subject, start_utc = excluded.start_utc,
			end_utc = excluded.end_utc, provider = excluded.provider, join_url = excluded.join_url,
			joins = excluded.joins, skip = excluded.skip, dedup_key = excluded.dedup_key`)
	for i := range page.Events {
		ev := &page.Events[i]
		if ev.Type == calendar.SeriesMaster {
			continue // its occurrences are the meetings
		}
		d := rules.Match(ev)
		link := d.Link
		joins := 0
		if d.Join {
			joins = 1
		}
		if _, err := tx.ExecContext(ctx, upsert, w.account, ev.ID, ev.Subject,
			ev.Start.Time.Format(time.RFC3339), ev.End.Time.Format(time.RFC3339),
			string(link.Provider), link.URL, joins, string(d.Reason), calendar.DedupKey(ev)); err != nil {
			return fmt.Errorf("store event: %w", err)
		}
	}
	for _, id := range page.Removed {
		if _, err := tx.ExecContext(ctx, w.db.Q(`DELETE FROM calendar_events WHERE account = ? AND id = ?`), w.account, id); err != nil {
			return fmt.Errorf("remove event: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, w.db.Q(`INSERT INTO calendar_sync (account, window_start, window_end, cursor, updated_utc) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (account) DO UPDATE SET window_start = excluded.window_start, window_end = excluded.window_end,
			cursor = excluded.cursor, updated_utc = excluded.updated_utc`),
		w.account, start.Format(time.RFC3339), end.Format(time.RFC3339), page.Cursor, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return fmt.Errorf("store cursor: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store page: %w", err)
	}
	return nil
}
