package fleet

import (
	"context"
	"fmt"
)

// migrations are fleet's own schema steps, in order; version i+1 is
// migrations[i]. Statements are plain SQL both databases accept. Times
// are Unix milliseconds (0: none), so both store them alike.
var migrations = [][]string{
	{
		`CREATE TABLE IF NOT EXISTS fleet_accounts (
			id               TEXT PRIMARY KEY,
			features         TEXT NOT NULL,
			mail_folders     TEXT NOT NULL,
			days_back        BIGINT NOT NULL,
			days_ahead       BIGINT NOT NULL,
			status           TEXT NOT NULL,
			reason           TEXT NOT NULL DEFAULT '',
			missing          TEXT NOT NULL DEFAULT '',
			throttled_until  BIGINT NOT NULL DEFAULT 0,
			status_at        BIGINT NOT NULL,
			connected_at     BIGINT NOT NULL,
			synced_at        BIGINT NOT NULL DEFAULT 0)`,
		`CREATE INDEX IF NOT EXISTS fleet_accounts_status ON fleet_accounts (status, id)`,
		`CREATE TABLE IF NOT EXISTS fleet_cursors (
			account_id   TEXT NOT NULL,
			resource     TEXT NOT NULL,
			cursor       TEXT NOT NULL,
			window_start BIGINT NOT NULL DEFAULT 0,
			window_end   BIGINT NOT NULL DEFAULT 0,
			rounds       BIGINT NOT NULL DEFAULT 0,
			complete     INTEGER NOT NULL DEFAULT 0,
			pages        BIGINT NOT NULL DEFAULT 0,
			updated_at   BIGINT NOT NULL,
			PRIMARY KEY (account_id, resource))`,
		`CREATE TABLE IF NOT EXISTS fleet_requests (
			account_id   TEXT NOT NULL,
			resource     TEXT NOT NULL,
			requested    BIGINT NOT NULL DEFAULT 0,
			first_at     BIGINT NOT NULL DEFAULT 0,
			last_at      BIGINT NOT NULL DEFAULT 0,
			PRIMARY KEY (account_id, resource))`,
		`CREATE TABLE IF NOT EXISTS fleet_subscriptions (
			id              TEXT PRIMARY KEY,
			account_id      TEXT NOT NULL,
			resource        TEXT NOT NULL,
			subscription_id TEXT NOT NULL,
			expires_at      BIGINT NOT NULL,
			renew           INTEGER NOT NULL DEFAULT 0,
			data            TEXT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS fleet_subscriptions_account ON fleet_subscriptions (account_id, resource)`,
		`CREATE INDEX IF NOT EXISTS fleet_subscriptions_expiry ON fleet_subscriptions (expires_at)`,
	},
}

// migrateLockKey is the PostgreSQL advisory lock that serialises Migrate
// across processes starting at once ("m365kit.fleet" folded to 63 bits).
const migrateLockKey = 0x6d3336356b666c74

// Migrate creates or upgrades River's tables (rivermigrate) and fleet's
// own, idempotently: run it at every start-up, from any number of
// processes at once (on PostgreSQL they take turns on an advisory lock).
// It does not need Start.
func (f *Fleet) Migrate(ctx context.Context) error {
	const op = "Migrate"
	if f.db.pg != nil {
		conn, err := f.db.pg.Acquire(ctx)
		if err != nil {
			return &Error{Op: op, Err: err}
		}
		defer conn.Release()
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrateLockKey)); err != nil {
			return &Error{Op: op, Err: err}
		}
		defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", int64(migrateLockKey)) //nolint:errcheck // the session ends with Release anyway
	}
	if err := f.q.migrate(ctx); err != nil {
		return &Error{Op: op, Err: fmt.Errorf("river: %w", err)}
	}
	err := f.db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS fleet_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM fleet_migrations`).Scan(&have); err != nil {
			return err
		}
		for v := have + 1; v <= len(migrations); v++ {
			for _, stmt := range migrations[v-1] {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("version %d: %w", v, err)
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO fleet_migrations (version, applied_at) VALUES ($1, $2)`, v, nowMs()); err != nil {
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
