package fleet

import (
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/internal/pgtest"
	"github.com/m365kit/m365kit/notify"
)

// BenchmarkIntake measures the webhook's durable intake, the transaction
// that verifies the account is active, bumps the request counter and
// inserts the sync job, for one notification per call, from 32
// concurrent senders over 1,000 accounts. It reports notifications per
// second and the p99 of one intake (the Handler adds parsing and the
// registration lookup).
func BenchmarkIntake(b *testing.B) {
	for _, postgres := range []bool{false, true} {
		b.Run(dbName(postgres), func(b *testing.B) {
			f := benchFleet(b, postgres)
			const accounts = 1000
			ctx := b.Context()
			if err := f.db.inTx(ctx, func(tx *Tx) error {
				for i := range accounts {
					if _, err := tx.Exec(ctx, `INSERT INTO fleet_accounts (id, features, mail_folders, days_back, days_ahead, status, status_at, connected_at)
						VALUES ($1, 'calendar', 'null', 1, 30, 'connected', 0, 0)`, fmt.Sprintf("user%04d.tenant", i)); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(16) // 32 senders on 2 cores
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					i := n.Add(1)
					t0 := time.Now()
					if err := f.deliver(ctx, []notify.ChangeNotification{{
						Owner: fmt.Sprintf("user%04d.tenant", i%accounts), SubscriptionResource: notify.Events().Resource, ChangeType: "updated",
					}}); err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			elapsed := time.Since(start)
			b.StopTimer()
			if len(lat) > 0 {
				sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
				b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "notifications/s")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
}

// benchFleet returns a migrated Fleet that is not started: the intake
// needs no workers.
func benchFleet(b *testing.B, postgres bool) *Fleet {
	b.Helper()
	dsn := filepath.Join(b.TempDir(), "fleet.db")
	if postgres {
		dsn = pgtest.Database(b)
	}
	db, err := Open(b.Context(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	srv := graphtest.New(b)
	srv.AddDemoTenant()
	cred, _ := auth.Secret(graphtest.DemoClientSecret)
	app, err := auth.New(auth.Config{ClientID: graphtest.DemoClientID, Credential: cred, RedirectURL: graphtest.DemoRedirectURL,
		Store: auth.NewMemoryStore(), AllowPlaintextStore: true, HTTPClient: srv.HTTPClient()})
	if err != nil {
		b.Fatal(err)
	}
	f, err := New(Config{DB: db, App: app, Sink: newTestSink()})
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	return f
}
