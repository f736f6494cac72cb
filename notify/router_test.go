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

	"github.com/google/go-cmp/cmp"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/notify"
)

// syncCalls is a SyncFunc that records its calls.
type syncCalls struct {
	mu   sync.Mutex
	keys []string
}

func (s *syncCalls) sync(_ context.Context, k notify.Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, k.String())
	return nil
}

func (s *syncCalls) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.keys...)
}

func TestRouterLifecycleErrors(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("PATCH /prefix/v1.0/subscriptions/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"error":{"code":"ExtensionError","message":"Operation: Update; Exception: [Status Code: Forbidden]"}}`))
	})
	gc, reqs := fakeGraph(t, mux)
	store := testStore(t)
	m := newManager(t, gc, store, notify.Config{})
	emptyManager := newManager(t, gc, &notify.MemoryStore{}, notify.Config{})
	calls := &syncCalls{}
	syncer := notify.SyncFunc(calls.sync)
	managerFor := func(context.Context, string) (*notify.Manager, error) { return m, nil }
	lifecycle := func(event string) notify.ChangeNotification {
		return notify.ChangeNotification{SubscriptionID: subID, LifecycleEvent: event, Owner: "adele", SubscriptionResource: "me/events", RegistrationID: regID}
	}
	tests := []struct {
		name   string
		router *notify.Router
		n      notify.ChangeNotification
		want   string // substring of the error; empty for none
	}{
		{"no syncer", &notify.Router{}, lifecycle(notify.Missed), "Router.Sync"},
		{"no manager", &notify.Router{Sync: syncer}, lifecycle(notify.SubscriptionRemoved), "Router.Manager"},
		{"unknown event ignored", &notify.Router{Sync: syncer}, lifecycle("somethingNew"), ""},
		{"replaced registration ignored", &notify.Router{Sync: syncer, Manager: func(context.Context, string) (*notify.Manager, error) { return emptyManager, nil }},
			lifecycle(notify.SubscriptionRemoved), ""},
		{"manager fails", &notify.Router{Sync: syncer, Manager: func(context.Context, string) (*notify.Manager, error) {
			return nil, errors.New("user signed out")
		}}, lifecycle(notify.ReauthorizationRequired), "user signed out"},
		{"renewal refused is not recreated", &notify.Router{Sync: syncer, Manager: managerFor}, lifecycle(notify.ReauthorizationRequired), "403"},
	}
	for _, tc := range tests {
		err := tc.router.Deliver(t.Context(), []notify.ChangeNotification{tc.n})
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
	if _, err := store.Load(t.Context(), regID); err != nil {
		t.Errorf("the registration was dropped: %v", err)
	}
	if got := calls.got(); len(got) != 0 {
		t.Errorf("failed lifecycle events synced %v", got)
	}
}

// TestRouterOneSyncPerKeyAndBatch: a SyncFunc runs once per Key of a
// delivery, in the order the keys first appear; missed events sync too.
func TestRouterOneSyncPerKeyAndBatch(t *testing.T) {
	t.Parallel()
	calls := &syncCalls{}
	rt := &notify.Router{Sync: notify.SyncFunc(calls.sync)}
	n := func(owner, resource, event string) notify.ChangeNotification {
		c := notify.ChangeNotification{SubscriptionID: subID, Owner: owner, SubscriptionResource: resource, LifecycleEvent: event}
		if event == "" {
			c.ChangeType = "updated"
		}
		return c
	}
	batch := []notify.ChangeNotification{
		n("adele", "me/events", ""), n("alex", "me/events", ""), n("adele", "me/events", ""),
		n("adele", "me/mailFolders('inbox')/messages", notify.Missed), n("alex", "me/events", ""),
	}
	if err := rt.Deliver(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	want := []string{"adele me/events", "alex me/events", "adele me/mailFolders('inbox')/messages"}
	if diff := cmp.Diff(want, calls.got()); diff != "" {
		t.Errorf("syncs (-want +got):\n%s", diff)
	}
	failing := &notify.Router{Sync: notify.SyncFunc(func(context.Context, notify.Key) error { return errors.New("token revoked") })}
	if err := failing.Deliver(t.Context(), batch[:1]); err == nil || !strings.Contains(err.Error(), "adele me/events: token revoked") {
		t.Errorf("failing sync: %v", err)
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
	for _, workers := range []int{0, 1} {
		h := newHandler(t, notify.HandlerConfig{Workers: workers, Logger: logger, Deliver: func(context.Context, []notify.ChangeNotification) error {
			return errors.New("sync queue unavailable")
		}})
		post(t, h, "/notify", changeBody(subID, secret+"-forged"))
		post(t, h, "/notify?validationToken=token-"+secret, "")
		post(t, h, "/notify", changeBody(subID, secret))
		if err := h.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	out := buf.String()
	if strings.Count(out, "clientState mismatch") != 2 || strings.Count(out, "sync queue unavailable") != 2 {
		t.Errorf("log lacks the rejections or the delivery errors:\n%s", out)
	}
	if strings.Contains(out, secret) {
		t.Errorf("log leaks a clientState or validation token:\n%s", out)
	}
}

func TestMemoryStore(t *testing.T) {
	t.Parallel()
	store := &notify.MemoryStore{}
	if err := store.Save(t.Context(), notify.Registration{Owner: "adele"}); !errors.Is(err, graphclient.ErrInvalidInput) {
		t.Errorf("Save without an ID: %v", err)
	}
	if _, err := store.Load(t.Context(), "nope"); !errors.Is(err, notify.ErrUnknownSubscription) {
		t.Errorf("Load of an unknown ID: %v", err)
	}
	if err := store.Delete(t.Context(), "nope"); err != nil {
		t.Errorf("Delete of an unknown ID: %v", err)
	}
}

// TestRegistrationWithoutClientStateMatchesNothing: a stored registration
// with no clientState verifies no notification, not even one without.
func TestRegistrationWithoutClientStateMatchesNothing(t *testing.T) {
	t.Parallel()
	store := &notify.MemoryStore{}
	if err := store.Save(t.Context(), notify.Registration{ID: regID, Owner: "adele", Subscription: notify.Subscription{ID: subID, Resource: "me/events"}}); err != nil {
		t.Fatal(err)
	}
	var got []error
	c := &collector{}
	h := newHandler(t, notify.HandlerConfig{Store: store, Deliver: c.deliver, OnReject: func(_ *http.Request, err error) { got = append(got, err) }})
	post(t, h, "/notify", changeBody(subID, regID+"."))
	post(t, h, "/notify", changeBody(subID, ""))
	if len(got) != 2 || !errors.Is(got[0], notify.ErrClientState) || !errors.Is(got[1], notify.ErrClientState) || len(c.delivered()) != 0 {
		t.Errorf("rejections %v, delivered %d", got, len(c.delivered()))
	}
}
