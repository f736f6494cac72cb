package notify_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365kit/m365kit/notify"
)

func TestRouterLifecycleErrors(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("PATCH /prefix/v1.0/subscriptions/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"error":{"code":"ExtensionError","message":"Operation: Update; Exception: [Status Code: Forbidden]"}}`))
	})
	gc, reqs := fakeGraph(t, mux)
	m := newManager(t, gc, notify.Config{})
	deb, err := notify.NewDebouncer(time.Second, func(context.Context, notify.Key) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	store := testStore(t)
	managerFor := func(context.Context, string) (*notify.Manager, error) { return m, nil }
	lifecycle := func(event string) notify.Notification {
		return notify.Notification{SubscriptionID: subID, LifecycleEvent: event, Owner: "adele", SubscriptionResource: "me/events"}
	}
	tests := []struct {
		name   string
		router *notify.Router
		n      notify.Notification
		want   string // substring of the error; empty for none
	}{
		{"no debouncer", &notify.Router{}, lifecycle(notify.Missed), "Router.Sync"},
		{"no store", &notify.Router{Sync: deb, Manager: managerFor}, lifecycle(notify.SubscriptionRemoved), "Router.Store"},
		{"unknown event ignored", &notify.Router{Sync: deb}, lifecycle("somethingNew"), ""},
		{"unknown subscription", &notify.Router{Sync: deb, Store: &notify.MemoryStore{}, Manager: managerFor}, lifecycle(notify.ReauthorizationRequired), "unknown subscription"},
		{"manager fails", &notify.Router{Sync: deb, Store: store, Manager: func(context.Context, string) (*notify.Manager, error) {
			return nil, errors.New("user signed out")
		}}, lifecycle(notify.ReauthorizationRequired), "user signed out"},
		{"renewal refused is not recreated", &notify.Router{Sync: deb, Store: store, Manager: managerFor}, lifecycle(notify.ReauthorizationRequired), "403"},
	}
	for _, tc := range tests {
		err := tc.router.Process(t.Context(), tc.n)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one about %q", tc.name, err, tc.want)
		}
	}
	for _, r := range reqs() {
		if r.Method == http.MethodPost {
			t.Errorf("a refused renewal led to %s %s", r.Method, r.Path)
		}
	}
	if _, err := store.Lookup(t.Context(), subID); err != nil {
		t.Errorf("the registration was dropped: %v", err)
	}
}

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestHandlerLogsWithoutSecrets(t *testing.T) {
	t.Parallel()
	var buf lockedBuffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	failed := make(chan struct{})
	h, err := notify.NewHandler(testStore(t), func(context.Context, notify.Notification) error {
		defer close(failed)
		return errors.New("sync queue unavailable")
	}, notify.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	post(t, h, "/notify", changeBody(subID, secret+"-forged"))
	post(t, h, "/notify?validationToken=token-"+secret, "")
	post(t, h, "/notify", changeBody(subID, secret))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- h.Run(ctx) }()
	<-failed
	cancel()
	<-done
	out := buf.String()
	if !strings.Contains(out, "clientState mismatch") || !strings.Contains(out, "sync queue unavailable") {
		t.Errorf("log lacks the rejection or the callback error:\n%s", out)
	}
	if strings.Contains(out, secret) {
		t.Errorf("log leaks a clientState or validation token:\n%s", out)
	}
}

func TestHandlerRegistrationWithoutClientStateMatchesNothing(t *testing.T) {
	t.Parallel()
	store := &notify.MemoryStore{}
	if err := store.Save(t.Context(), notify.Registration{Owner: "adele", Subscription: notify.Subscription{ID: subID, Resource: "me/events"}}); err != nil {
		t.Fatal(err)
	}
	var got []error
	h, err := notify.NewHandler(store, noop, notify.WithOnReject(func(_ *http.Request, err error) { got = append(got, err) }))
	if err != nil {
		t.Fatal(err)
	}
	post(t, h, "/notify", changeBody(subID, ""))
	if len(got) != 1 || !errors.Is(got[0], notify.ErrClientState) || h.Pending() != 0 {
		t.Errorf("rejections %v, pending %d", got, h.Pending())
	}
	if err := store.Save(t.Context(), notify.Registration{}); !errors.Is(err, notify.ErrInvalidInput) {
		t.Errorf("Save without an ID: %v", err)
	}
}
