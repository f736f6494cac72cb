package fleet

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
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
			reportThroughput(b, lat, elapsed, "notifications/s")
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

// BenchmarkWebhook measures whole POSTs through Handler: parsing, the
// registration lookup and clientState check, and the durable intake, one
// notification per POST from 32 concurrent senders over 1,000 accounts.
// It reports POSTs answered 202 per second and the p99 answer time.
func BenchmarkWebhook(b *testing.B) {
	for _, postgres := range []bool{false, true} {
		b.Run(dbName(postgres), func(b *testing.B) {
			f := benchFleet(b, postgres)
			const accounts = 1000
			ctx := b.Context()
			bodies := make([][]byte, accounts)
			if err := f.db.inTx(ctx, func(tx *Tx) error {
				for i := range accounts {
					_, err := tx.Exec(ctx, `INSERT INTO fleet_accounts (id, features, mail_folders, days_back, days_ahead, status, status_at, connected_at)
						VALUES ($1, 'calendar', 'null', 1, 30, 'connected', 0, 0)`, fmt.Sprintf("user%04d.tenant", i))
					if err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			for i := range accounts {
				regID, subID := fmt.Sprintf("reg%04d", i), fmt.Sprintf("8e1c1d3e-0000-4000-8000-%012d", i)
				state := regID + ".c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"
				reg := notify.Registration{ID: regID, Owner: fmt.Sprintf("user%04d.tenant", i), Subscription: notify.Subscription{
					ID: subID, Resource: notify.Events().Resource, ChangeType: "created,updated,deleted",
					ClientState: state, ExpirationDateTime: time.Now().Add(48 * time.Hour),
				}}
				if err := f.reg.Save(ctx, reg); err != nil {
					b.Fatal(err)
				}
				bodies[i] = []byte(fmt.Sprintf(`{"value":[{"subscriptionId":%q,"clientState":%q,"changeType":"updated","resource":"Users/x/Events/y","subscriptionExpirationDateTime":"2030-01-01T00:00:00Z","tenantId":"t"}]}`, subID, state))
			}
			h := f.Handler()
			var n atomic.Int64
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(16) // 32 senders on 2 cores
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					body := bodies[n.Add(1)%accounts]
					req := httptest.NewRequest(http.MethodPost, "/graph/notify", bytes.NewReader(body))
					w := httptest.NewRecorder()
					t0 := time.Now()
					h.ServeHTTP(w, req)
					mine = append(mine, time.Since(t0))
					if w.Code != http.StatusAccepted {
						b.Errorf("status %d", w.Code)
						return
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			elapsed := time.Since(start)
			b.StopTimer()
			reportThroughput(b, lat, elapsed, "posts/s")
			// Each POST was stored: every account's counter moved.
			var moved int
			if err := f.db.queryRow(ctx, `SELECT COUNT(*) FROM fleet_requests WHERE requested > 0`).Scan(&moved); err != nil {
				b.Fatal(err)
			}
			if int64(moved) != min(n.Load(), accounts) {
				b.Errorf("%d accounts have a stored request, want %d", moved, min(n.Load(), accounts))
			}
		})
	}
}

// reportThroughput reports how many answers lat holds per second of
// elapsed, in unit, and their p50 and p99 in milliseconds.
func reportThroughput(b *testing.B, lat []time.Duration, elapsed time.Duration, unit string) {
	if len(lat) == 0 {
		return
	}
	l := &latencyTracker{got: lat}
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), unit)
	b.ReportMetric(ms(l.quantile(0.50)), "p50-ms")
	b.ReportMetric(ms(l.quantile(0.99)), "p99-ms")
}
