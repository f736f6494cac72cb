package fleet

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/m365kit/m365kit/calendar"
	"github.com/m365kit/m365kit/mail"
)

// Sink applies synced pages to the caller's tables. fleet calls it inside
// a transaction it opened; in the same transaction it stores the page's
// cursor and, on the last page of a job, completes the job. So after a
// crash at any point, either the page's changes, its cursor and the
// job's completion are all stored, or none is, and the page is fetched
// and applied again.
//
// A Sink may:
//   - read and write its own tables through tx (placeholders $1, $2, ...
//     on both databases), or through tx.Postgres() / tx.SQLite();
//   - be called again with a page it has already applied (after a crash
//     between Graph and the commit, or a rescued job): make every write
//     an idempotent upsert or delete by ID.
//
// A Sink must:
//   - handle Reset: delete what it stored for the account's calendar (or
//     the folder) before applying the page. fleet also sets Reset on the
//     first page of a sync that starts without a cursor (first sync,
//     cursor lost), so a sink never keeps stale rows;
//   - on a calendar page with Done set, delete events of the account
//     that end before Start or start at or after End (the window slid);
//   - return an error to refuse the page: the transaction rolls back,
//     nothing of the page is stored and the job retries later with
//     back-off. A panic is recovered and treated as an error.
//
// A Sink must not:
//   - commit or roll back tx, or keep it after returning;
//   - call Graph or other slow services (it holds a database transaction,
//     and on SQLite the only connection); the page brings all data;
//   - open another transaction or connection on the same SQLite
//     database (it would wait for tx forever).
//
// Methods are called from many goroutines at once, for different
// accounts and resources: a Sink must be safe for concurrent use.
type Sink interface {
	// ApplyCalendar applies one page of an account's calendar.
	ApplyCalendar(ctx context.Context, tx *Tx, p *CalendarPage) error
	// ApplyMail applies one page of one of an account's mail folders.
	ApplyMail(ctx context.Context, tx *Tx, p *MailPage) error
}

// CalendarPage is one page of an account's calendar sync.
type CalendarPage struct {
	// Account is the account ID (oid.tid).
	Account string
	// Start and End are the calendar window the page belongs to (after a
	// slide, the new window): the window fleet syncs, which covers the
	// one the account asked for (Account.DaysBack, DaysAhead) and is
	// wider, up to Config.WindowMarginDays more days ahead and, as the
	// days pass until the next slide, behind. Events in the extra days
	// come too; a product that shows only the asked window filters them
	// by date.
	Start, End time.Time
	// Page is the page: events to upsert by ID, IDs to delete, Reset,
	// Done. Its Cursor is fleet's to store.
	Page *calendar.Page
}

// MailPage is one page of an account's mail-folder sync.
type MailPage struct {
	// Account is the account ID (oid.tid).
	Account string
	// Folder is the folder as Account.MailFolders names it.
	Folder string
	// Page is the page: messages to upsert by ID; Removed and Skipped IDs
	// to delete; Reset; Done. Its Cursor is fleet's to store.
	Page *mail.Page
}

// sinkPanic is a recovered sink panic.
type sinkPanic struct {
	value any
}

func (p *sinkPanic) Error() string { return fmt.Sprintf("sink panicked: %v", p.value) }

// safely runs a sink call, turning a panic into an error.
func (f *Fleet) safely(ctx context.Context, call func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			f.log.ErrorContext(ctx, "fleet: sink panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = &sinkPanic{value: v}
		}
	}()
	if err := call(); err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	return nil
}
