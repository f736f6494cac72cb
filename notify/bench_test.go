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
// request to 202: parse, 100 lookups, constant-time checks, queueing. Four
// workers drain the queue with a no-op callback meanwhile.
func BenchmarkHandlerServeHTTP(b *testing.B) {
	store := &notify.MemoryStore{}
	_ = store.Save(b.Context(), notify.Registration{Owner: "adele", Subscription: notify.Subscription{ID: subID, Resource: "me/events", ClientState: secret}})
	h, err := notify.NewHandler(store, func(context.Context, notify.Notification) error { return nil }, notify.WithQueueSize(10000))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	body := batchBody(100)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/notify", strings.NewReader(body)))
		if rec.Code != http.StatusAccepted {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
