package main

import (
	"context"
	"slices"
	"time"

	"github.com/m365kit/m365kit/fleet"
)

// The sink's tables. synced_pages records every applied page in order
// (seq counts each account and resource's pages from 1), so the order
// pages were applied in can be checked afterwards.
var sinkTables = []string{
	`CREATE TABLE IF NOT EXISTS synced_events (
		account  TEXT NOT NULL,
		id       TEXT NOT NULL,
		subject  TEXT NOT NULL,
		start_ms BIGINT NOT NULL,
		end_ms   BIGINT NOT NULL,
		PRIMARY KEY (account, id))`,
	`CREATE TABLE IF NOT EXISTS synced_messages (
		account TEXT NOT NULL,
		folder  TEXT NOT NULL,
		id      TEXT NOT NULL,
		subject TEXT NOT NULL,
		is_read INTEGER NOT NULL,
		PRIMARY KEY (account, folder, id))`,
	`CREATE TABLE IF NOT EXISTS synced_pages (
		account    TEXT NOT NULL,
		resource   TEXT NOT NULL,
		seq        BIGINT NOT NULL,
		cursor     TEXT NOT NULL,
		reset      INTEGER NOT NULL,
		done       INTEGER NOT NULL,
		items      INTEGER NOT NULL,
		applied_ms BIGINT NOT NULL,
		PRIMARY KEY (account, resource, seq))`,
}

func migrateSink(ctx context.Context, db fleet.Database) error {
	for _, q := range sinkTables {
		var err error
		if db.IsPostgres() {
			_, err = db.Pool().Exec(ctx, q)
		} else {
			_, err = db.DB().ExecContext(ctx, q)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sink stores pages in the tables above. Every write is an idempotent
// upsert or delete by ID, as fleet.Sink asks: a page may come again after
// a crash.
type sink struct{}

func (sink) ApplyCalendar(ctx context.Context, tx *fleet.Tx, p *fleet.CalendarPage) error {
	if p.Page.Reset {
		if _, err := tx.Exec(ctx, `DELETE FROM synced_events WHERE account = $1`, p.Account); err != nil {
			return err
		}
	}
	for _, ev := range p.Page.Events {
		if _, err := tx.Exec(ctx, `INSERT INTO synced_events (account, id, subject, start_ms, end_ms) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (account, id) DO UPDATE SET subject = excluded.subject, start_ms = excluded.start_ms, end_ms = excluded.end_ms`,
			p.Account, ev.ID, ev.Subject, ev.Start.Time.UnixMilli(), ev.End.Time.UnixMilli()); err != nil {
			return err
		}
	}
	for _, id := range p.Page.Removed {
		if _, err := tx.Exec(ctx, `DELETE FROM synced_events WHERE account = $1 AND id = $2`, p.Account, id); err != nil {
			return err
		}
	}
	if p.Page.Done { // the window may have slid: drop what fell out of it
		if _, err := tx.Exec(ctx, `DELETE FROM synced_events WHERE account = $1 AND (end_ms <= $2 OR start_ms >= $3)`,
			p.Account, p.Start.UnixMilli(), p.End.UnixMilli()); err != nil {
			return err
		}
	}
	return record(ctx, tx, p.Account, "calendar", p.Page.Cursor, p.Page.Reset, p.Page.Done, len(p.Page.Events)+len(p.Page.Removed))
}

func (sink) ApplyMail(ctx context.Context, tx *fleet.Tx, p *fleet.MailPage) error {
	if p.Page.Reset {
		if _, err := tx.Exec(ctx, `DELETE FROM synced_messages WHERE account = $1 AND folder = $2`, p.Account, p.Folder); err != nil {
			return err
		}
	}
	for _, m := range p.Page.Messages {
		read := 0
		if bool(m.IsRead) {
			read = 1
		}
		if _, err := tx.Exec(ctx, `INSERT INTO synced_messages (account, folder, id, subject, is_read) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (account, folder, id) DO UPDATE SET subject = excluded.subject, is_read = excluded.is_read`,
			p.Account, p.Folder, m.ID, m.Subject, read); err != nil {
			return err
		}
	}
	gone := slices.Clone(p.Page.Removed)
	for _, s := range p.Page.Skipped {
		gone = append(gone, s.ID)
	}
	for _, id := range gone {
		if _, err := tx.Exec(ctx, `DELETE FROM synced_messages WHERE account = $1 AND folder = $2 AND id = $3`, p.Account, p.Folder, id); err != nil {
			return err
		}
	}
	n := len(p.Page.Messages) + len(gone)
	return record(ctx, tx, p.Account, "mail:"+p.Folder, p.Page.Cursor, p.Page.Reset, p.Page.Done, n)
}

// record appends the page to synced_pages, numbered after the resource's
// last page.
func record(ctx context.Context, tx *fleet.Tx, account, resource, cursor string, reset, done bool, items int) error {
	_, err := tx.Exec(ctx, `INSERT INTO synced_pages (account, resource, seq, cursor, reset, done, items, applied_ms)
		SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5, $6, $7 FROM synced_pages WHERE account = $1 AND resource = $2`,
		account, resource, cursor, b2i(reset), b2i(done), items, nowMs())
	return err
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nowMs() int64 { return time.Now().UnixMilli() }
