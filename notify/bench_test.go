package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/notify"
)

// batchBody is a collection of n change notifications for subID.
func batchBody(n int) string {
	item := strings.TrimSuffix(strings.TrimPrefix(changeBody(subID, secret), `{"value":[`), `]}`)
	return `{"value":[` + strings.Repeat(item+",", n-1) + item + `]}`
}

func BenchmarkParse(b *testing.B) {
	body := []byte(batchBody(100))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := notify.Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandlerServeHTTP measures a 100-notification delivery from
// request to 202: parse, one Store load, 100 constant-time checks, and
// either a no-op Deliver before the answer (sync) or the in-memory queue
// with four workers draining it (queue).
func BenchmarkHandlerServeHTTP(b *testing.B) {
	for _, mode := range []struct {
		name    string
		workers int
	}{{"sync", 0}, {"queue", 4}} {
		b.Run(mode.name, func(b *testing.B) {
			store := &notify.MemoryStore{}
			_ = store.Save(b.Context(), notify.Registration{ID: regID, Owner: "adele", Subscription: notify.Subscription{ID: subID, Resource: "me/events", ClientState: secret}})
			h, err := notify.NewHandler(notify.HandlerConfig{
				Store:     store,
				Deliver:   func(context.Context, []notify.ChangeNotification) error { return nil },
				Workers:   mode.workers,
				QueueSize: min(mode.workers, 1) * 10000,
			})
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = h.Shutdown(b.Context()) }()
			body := batchBody(100)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/notify", strings.NewReader(body)))
				if rec.Code != http.StatusAccepted {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
