package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/notify"
)

// BenchmarkGraphDeliveries measures the webhook as Graph reaches it:
// 32 concurrent senders POST Graph change notifications (one per POST,
// as Graph sends them at low rates) over HTTPS (keep-alive) to
// Fleet.Handler, for the real subscriptions of 1,000 connected accounts:
// parse, registration lookup in the shared registry, clientState check,
// and the durable insert (account check, request counter, unique sync
// job) committed before the 202. "workers running": the same process
// runs the fleet's 20 workers meanwhile (Graph latency 100 ms), as a
// replica does; "intake only": a replica that only serves the webhook
// (a second Fleet, not started, on the same database). The in-memory
// notify.Handler (Workers 4, a no-op Deliver) on the same harness and
// registrations is the baseline. Reports notifications/s and the p99 of
// the answer time.
func BenchmarkGraphDeliveries(b *testing.B) {
	forBothDatabases(b, benchWebhookIntake)
}

func benchWebhookIntake(b *testing.B, postgres bool) {
	ctx := b.Context()
	e := newBenchEnv(b, benchConfig{postgres: postgres, accounts: benchAccounts(b, 1000), latency: graphLatency, webhook: true})
	e.start(b)
	took := e.connectAll(b)
	b.Logf("%d accounts connected and subscribed in %s", len(e.accounts), took.Round(time.Millisecond))
	bodies := e.notificationBodies(b)
	if len(bodies) != 2*len(e.accounts) {
		b.Fatalf("%d subscriptions for %d accounts, want 2 each", len(bodies), len(e.accounts))
	}

	b.Run("workers running", func(b *testing.B) {
		e.hook.serve(e.f.Handler())
		postAll(b, e.hook, bodies)
	})
	// A webhook-only replica: the started fleet stops, another Fleet on
	// the same database serves the webhook without workers.
	stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_ = e.f.Stop(stopCtx)
	cancel()
	replica, err := New(e.cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("intake only", func(b *testing.B) {
		e.hook.serve(replica.Handler())
		postAll(b, e.hook, bodies)
	})
	b.Run("in-memory notify.Handler", func(b *testing.B) {
		store := &notify.MemoryStore{}
		for _, reg := range e.registrations(b) {
			if err := store.Save(ctx, reg); err != nil {
				b.Fatal(err)
			}
		}
		h, err := notify.NewHandler(notify.HandlerConfig{
			Store:   store,
			Deliver: func(context.Context, []notify.ChangeNotification) error { return nil },
			Workers: 4, QueueSize: 10000,
		})
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = h.Shutdown(context.Background()) }()
		e.hook.serve(h)
		postAll(b, e.hook, bodies)
	})
}

// postAll POSTs the bodies round-robin from 32 senders and reports the
// rate and the p99 answer time.
func postAll(b *testing.B, hook *webhookServer, bodies [][]byte) {
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	hc := hook.client()
	b.SetParallelism(16) // 32 senders on 2 cores
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			body := bodies[int(next.Add(1))%len(bodies)]
			t0 := time.Now()
			resp, err := hc.Post(hook.url, "application/json; charset=utf-8", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("answer %d, want 202", resp.StatusCode)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	reportThroughput(b, lat, elapsed, "notifications/s")
}

// notificationBodies builds, for each live subscription of the fake, the
// body of a POST carrying one "updated" notification as Graph sends it.
func (e *benchEnv) notificationBodies(b *testing.B) [][]byte {
	users := map[string]*graphtest.User{}
	for _, u := range e.gen.Users {
		users[u.ID] = u
	}
	var out [][]byte
	for _, s := range e.srv.Subscriptions() {
		u := users[s.UserID]
		if u == nil || !s.Expiration.After(time.Now()) {
			continue
		}
		typ, set, id := "#Microsoft.Graph.Event", "Events", "AAMkAGI2"
		if evs := u.Events(); len(evs) > 0 {
			id = evs[0].ID
		}
		if s.Resource != "me/events" {
			typ, set = "#Microsoft.Graph.Message", "Messages"
			if ms := u.Messages("inbox"); len(ms) > 0 {
				id = ms[0].ID
			}
		}
		res := "Users/" + u.ID + "/" + set + "/" + id
		body, err := json.Marshal(map[string]any{"value": []map[string]any{{
			"subscriptionId":                 s.ID,
			"subscriptionExpirationDateTime": s.Expiration.UTC().Format(time.RFC3339Nano),
			"changeType":                     "updated",
			"resource":                       res,
			"resourceData":                   map[string]any{"@odata.type": typ, "@odata.id": res, "@odata.etag": `W/"CQAAABYAAAB"`, "id": id},
			"clientState":                    s.ClientState,
			"tenantId":                       u.TenantID,
		}}})
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, body)
	}
	return out
}

// registrations reads the registrations the fleet stored.
func (e *benchEnv) registrations(b *testing.B) []notify.Registration {
	rows, err := e.db.query(b.Context(), benchMarker+` SELECT data FROM fleet_subscriptions`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var out []notify.Registration
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			b.Fatal(err)
		}
		var reg notify.Registration
		if err := json.Unmarshal([]byte(data), &reg); err != nil {
			b.Fatal(err)
		}
		out = append(out, reg)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return out
}
