// Mail-sync is a long-running worker that keeps the signed-in user's relevant
// mail in a SQL table, read-only, with Microsoft Graph delta queries over
// Inbox and Sent Items. Only mail involving the domains and addresses of a
// CRM file is kept (or, without one, mail with someone outside the user's
// organisation); drafts and automated mail never are. Each page's messages,
// deletions and the folder's cursor are written in one transaction, so a
// restarted worker resumes exactly after the last page it stored.
//
// Against the demo tenant (nothing configured):
//
//	printf 'fabrikam.com\n# customers and prospects, one per line\n' > /tmp/crm.txt
//	go run ./examples/mail-sync -once -crm /tmp/crm.txt -db /tmp/mail.db
//
// Against your tenant (sign in once with the quickstart first):
//
//	go run ./examples/mail-sync -crm crm.txt -db "postgres://user:pass@localhost:5432/app" -interval 5m
//
// The CRM file lists one domain ("fabrikam.com", "*.fabrikam.com") or address
// ("katie@fabrikam.com") per line; blank lines and lines starting with # are
// ignored. Flags: -db (SQLite file or PostgreSQL DSN; default mail-sync.db),
// -crm, -interval 5m, -once, -account oid.tid, -record DIR and -replay DIR
// (record the exchanges with Entra ID and Graph, secrets redacted; answer
// them from the newest recording there, offline).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/examples/internal/sqldb"
	"github.com/m365kit/m365kit/mail"
	"github.com/m365kit/m365kit/scopes"
)

func main() { setup.Main("mail-sync", runEnv) }

// runEnv is the program (a setup.Program): main without the process
// around it, so tests call it with a shared demo tenant.
func runEnv(ctx context.Context, args []string, stdout, stderr io.Writer, env setup.Env) error {
	fs := flag.NewFlagSet("mail-sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := fs.String("db", "mail-sync.db", "SQLite file, or PostgreSQL URL / key=value DSN")
	crm := fs.String("crm", "", "file of CRM domains and addresses, one per line (default: keep mail with anyone outside the organisation)")
	interval := fs.Duration("interval", 5*time.Minute, "time between rounds")
	once := fs.Bool("once", false, "run one round and exit")
	account := fs.String("account", "", "account ID (oid.tid) to sync (default: the quickstart's last sign-in)")
	tape := setup.TapeFlags(fs, "mail-sync")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q; flags only", fs.Arg(0))
	case *interval < time.Second:
		return fmt.Errorf("-interval %v: want at least 1s", *interval)
	}
	var crmSet *mail.AddressSet
	if *crm != "" {
		var err error
		if crmSet, err = readCRM(*crm); err != nil {
			return err
		}
	}
	env, endTape, err := tape.Open(env, stderr)
	if err != nil {
		return err
	}
	defer endTape()
	db, err := sqldb.Open(*dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := migrate(ctx, db); err != nil {
		return err
	}
	conn, err := env.Connect(ctx, *account, scopes.Mail)
	if err != nil {
		return err
	}
	defer conn.Close()

	relevance := mail.ExternalOnly(conn.Domain)
	what := "mail with people outside " + conn.Domain
	if crmSet != nil {
		relevance = mail.Involving(crmSet)
		what = fmt.Sprintf("mail involving the CRM entries in %s (%d)", *crm, crmSet.Len())
	}
	w := &worker{db: db, svc: mail.New(conn.Graph), out: stdout,
		filter: mail.All(mail.SkipDrafts(), mail.SkipAutomated(), relevance)}
	if w.account, err = conn.UserID(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "syncing %s for %s into %s, read-only\n", what, conn.User, map[bool]string{true: "PostgreSQL", false: "SQLite"}[db.Postgres])
	for {
		if err := w.round(ctx); err != nil {
			return err
		}
		if *once {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*interval):
		}
	}
}

// readCRM reads the CRM file into an address set. A bad line is an error
// naming the file and line.
func readCRM(path string) (*mail.AddressSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("-crm: %w", err)
	}
	defer f.Close()
	var entries []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, err := mail.NewAddressSet(line); err != nil {
			return nil, fmt.Errorf("-crm %s:%d: %w", path, n, err)
		}
		entries = append(entries, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("-crm %s: %w", path, err)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("-crm %s: no domains or addresses in it", path)
	}
	return mail.NewAddressSet(entries...)
}

func migrate(ctx context.Context, db *sqldb.DB) error {
	return db.CreateTables(ctx,
		`CREATE TABLE IF NOT EXISTS mail_messages (
			account         TEXT NOT NULL,
			id              TEXT NOT NULL,
			folder          TEXT NOT NULL,
			subject         TEXT NOT NULL,
			from_address    TEXT NOT NULL,
			received_utc    TEXT NOT NULL,
			conversation_id TEXT NOT NULL,
			preview         TEXT NOT NULL,
			PRIMARY KEY (account, id))`,
		`CREATE TABLE IF NOT EXISTS mail_sync (
			account     TEXT NOT NULL,
			folder      TEXT NOT NULL,
			cursor      TEXT NOT NULL,
			updated_utc TEXT NOT NULL,
			PRIMARY KEY (account, folder))`,
	)
}

type worker struct {
	db      *sqldb.DB
	svc     *mail.Service
	out     io.Writer
	filter  mail.Filter
	account string // the Graph user ID rows are stored under
}

// round syncs Inbox and Sent Items once, from the stored cursors.
func (w *worker) round(ctx context.Context) error {
	cursors := mail.Cursors{}
	rs, err := w.db.QueryContext(ctx, w.db.Q(`SELECT folder, cursor FROM mail_sync WHERE account = ?`), w.account)
	if err != nil {
		return fmt.Errorf("load cursors: %w", err)
	}
	for rs.Next() {
		var folder, cursor string
		if err := rs.Scan(&folder, &cursor); err != nil {
			rs.Close()
			return fmt.Errorf("load cursors: %w", err)
		}
		cursors[folder] = cursor
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return fmt.Errorf("load cursors: %w", err)
	}
	if len(cursors) > 0 {
		fmt.Fprintf(w.out, "resuming from stored cursors (%d folders)\n", len(cursors))
	}
	var stats mail.Stats
	pages := 0
	for page, err := range w.svc.SyncMailbox(ctx, mail.MailboxRequest{Cursors: cursors, Filter: w.filter}) {
		if err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		pages++
		if err := w.store(ctx, page); err != nil {
			return err
		}
		cursors.Advance(page)
		stats.Add(page)
		fmt.Fprintf(w.out, "%s page: %d kept, %d skipped, %d removed%s\n", page.Folder, len(page.Messages), page.Filtered(), len(page.Removed),
			map[bool]string{true: " (Graph reset the sync: folder relisted)"}[page.Reset])
	}
	var total int
	if err := w.db.QueryRowContext(ctx, w.db.Q(`SELECT COUNT(*) FROM mail_messages WHERE account = ?`), w.account).Scan(&total); err != nil {
		return fmt.Errorf("count: %w", err)
	}
	fmt.Fprintf(w.out, "round done: %d pages, %d kept, %d skipped (%s), %d removed; %d messages stored\n",
		pages, stats.Kept, stats.Filtered(), reasons(stats.Skipped), stats.Removed, total)
	return nil
}

func reasons(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, r := range []string{mail.ReasonNotInvolved, mail.ReasonInternal, mail.ReasonAutomated, mail.ReasonDraft, mail.ReasonCategory, mail.ReasonSensitive} {
		if m[r] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[r], r))
		}
	}
	return strings.Join(parts, ", ")
}

// store writes one page and its folder's cursor in one transaction.
func (w *worker) store(ctx context.Context, page *mail.Page) (err error) {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store page: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if page.Reset {
		if _, err := tx.ExecContext(ctx, w.db.Q(`DELETE FROM mail_messages WHERE account = ? AND folder = ?`), w.account, page.Folder); err != nil {
			return fmt.Errorf("store page: %w", err)
		}
	}
	upsert := w.db.Q(`INSERT INTO mail_messages (account, id, folder, subject, from_address, received_utc, conversation_id, preview)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account, id) DO UPDATE SET folder = excluded.folder, subject = excluded.subject,
			from_address = excluded.from_address, received_utc = excluded.received_utc,
			conversation_id = excluded.conversation_id, preview = excluded.preview`)
	for _, m := range page.Messages {
		if _, err := tx.ExecContext(ctx, upsert, w.account, m.ID, page.Folder, m.Subject, m.From.EmailAddress.Address,
			m.ReceivedDateTime.UTC().Format(time.RFC3339), m.ConversationID, m.BodyPreview); err != nil {
			return fmt.Errorf("store message: %w", err)
		}
	}
	// Removed messages and ones the filter now rejects leave the table.
	drop := w.db.Q(`DELETE FROM mail_messages WHERE account = ? AND id = ?`)
	for _, id := range page.Removed {
		if _, err := tx.ExecContext(ctx, drop, w.account, id); err != nil {
			return fmt.Errorf("remove message: %w", err)
		}
	}
	for _, s := range page.Skipped {
		if _, err := tx.ExecContext(ctx, drop, w.account, s.ID); err != nil {
			return fmt.Errorf("remove message: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, w.db.Q(`INSERT INTO mail_sync (account, folder, cursor, updated_utc) VALUES (?, ?, ?, ?)
		ON CONFLICT (account, folder) DO UPDATE SET cursor = excluded.cursor, updated_utc = excluded.updated_utc`),
		w.account, page.Folder, page.Cursor, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return fmt.Errorf("store cursor: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store page: %w", err)
	}
	return nil
}
