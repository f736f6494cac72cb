package fleet_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/m365kit/m365kit/fleet"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/scopes"
)

// meetings is a Sink that keeps event subjects in a table; mail is not
// kept.
type meetings struct{}

func (meetings) ApplyCalendar(ctx context.Context, tx *fleet.Tx, p *fleet.CalendarPage) error {
	if p.Page.Reset {
		if _, err := tx.Exec(ctx, `DELETE FROM meetings WHERE account = $1`, p.Account); err != nil {
			return err
		}
	}
	for _, ev := range p.Page.Events {
		if _, err := tx.Exec(ctx, `INSERT INTO meetings (account, id, subject, start_ms) VALUES ($1, $2, $3, $4)
			ON CONFLICT (account, id) DO UPDATE SET subject = excluded.subject, start_ms = excluded.start_ms`,
			p.Account, ev.ID, ev.Subject, ev.Start.Time.UnixMilli()); err != nil {
			return err
		}
	}
	for _, id := range p.Page.Removed {
		if _, err := tx.Exec(ctx, `DELETE FROM meetings WHERE account = $1 AND id = $2`, p.Account, id); err != nil {
			return err
		}
	}
	if p.Page.Done { // the window may have slid
		_, err := tx.Exec(ctx, `DELETE FROM meetings WHERE account = $1 AND (start_ms < $2 OR start_ms >= $3)`,
			p.Account, p.Start.UnixMilli(), p.End.UnixMilli())
		return err
	}
	return nil
}

func (meetings) ApplyMail(context.Context, *fleet.Tx, *fleet.MailPage) error { return nil }

// One worker process on an embedded SQLite database keeps a signed-in
// user's calendar in the product's table; OnStatusChange tells the
// product when the user is connected (or must sign in again).
func Example() {
	ctx := context.Background()
	sandbox, err := m365test.Start() // a fake Microsoft 365 with the demo tenant
	if err != nil {
		panic(err)
	}
	defer sandbox.Close()
	dir, _ := os.MkdirTemp("", "fleet-example")
	defer os.RemoveAll(dir)

	db, err := fleet.Open(ctx, filepath.Join(dir, "fleet.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if _, err := db.DB().ExecContext(ctx, `CREATE TABLE meetings (account TEXT, id TEXT, subject TEXT, start_ms BIGINT, PRIMARY KEY (account, id))`); err != nil {
		panic(err)
	}
	var once sync.Once
	connected := make(chan struct{})
	f, err := fleet.New(fleet.Config{
		DB: db, App: sandbox.App, Sink: meetings{}, HTTPClient: sandbox.Server.HTTPClient(),
		OnStatusChange: func(_ context.Context, c fleet.StatusChange) error {
			if c.To == fleet.StatusConnected {
				once.Do(func() {
					fmt.Printf("%s -> %s\n", c.From, c.To)
					close(connected)
				})
			}
			return nil
		},
	})
	if err != nil {
		panic(err)
	}
	if err := f.Migrate(ctx); err != nil {
		panic(err)
	}
	if err := f.Start(ctx); err != nil {
		panic(err)
	}
	defer f.Stop(ctx)

	adele, err := sandbox.SignIn(ctx, "adele", scopes.Calendar)
	if err != nil {
		panic(err)
	}
	if err := f.Connect(ctx, fleet.Account{ID: adele.User.AccountID, Features: []scopes.Feature{scopes.Calendar}}); err != nil {
		panic(err)
	}
	select {
	case <-connected:
	case <-time.After(time.Minute):
		panic("not connected within a minute")
	}
	var n int
	if err := db.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM meetings WHERE subject = $1`, sandbox.Demo.Roadmap.Subject).Scan(&n); err != nil {
		panic(err)
	}
	fmt.Println("roadmap review stored:", n == 1)
	counts, _ := f.Counts(ctx)
	fmt.Println("connected accounts:", counts[fleet.StatusConnected])
	// Output:
	// syncing -> connected
	// roadmap review stored: true
	// connected accounts: 1
}
