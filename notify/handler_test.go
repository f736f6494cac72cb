package notify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/m365kit/m365kit/notify"
)

const (
	subID  = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"
	secret = "fJ3k9Qz-secret-client-state"
)

// testStore holds one registration for subID, owned by adele.
func testStore(t *testing.T) *notify.MemoryStore {
	t.Helper()
	s := &notify.MemoryStore{}
	err := s.Save(t.Context(), notify.Registration{Owner: "adele", Subscription: notify.Subscription{
		ID: subID, Resource: "me/events", ChangeType: "created,updated,deleted", ClientState: secret,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func changeBody(id, state string) string {
	return fmt.Sprintf(`{"value":[{"subscriptionId":%q,"subscriptionExpirationDateTime":"2026-11-28T09:00:00Z","clientState":%q,"changeType":"updated","resource":"Users/u1/Events/e1","resourceData":{"@odata.type":"#Microsoft.Graph.Event","id":"e1"},"tenantId":"t1"}]}`, id, state)
}

func post(t *testing.T, h http.Handler, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func noop(context.Context, notify.Notification) error { return nil }

func TestHandlerValidationHandshake(t *testing.T) {
	t.Parallel()
	h, err := notify.NewHandler(testStore(t), noop)
	if err != nil {
		t.Fatal(err)
	}
	token := "Validation: Testing client application reachability for subscription Request-Id: 4b3b8a3e-ab9f-4ba3-9e8e-b7a1e6f6a0c3 <script>"
	for _, path := range []string{"/notify", "/lifecycle?tenant=contoso"} {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		rec := post(t, h, path+sep+"validationToken="+url.QueryEscape(token), "ignored body")
		if rec.Code != http.StatusOK || rec.Body.String() != token {
			t.Errorf("%s: %d %q, want 200 with the decoded token", path, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || rec.Header().Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(rec.Header().Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("%s: headers %v", path, rec.Header())
		}
	}
	if rec := post(t, h, "/notify?validationToken="+strings.Repeat("x", 9000), ""); rec.Code != http.StatusBadRequest {
		t.Errorf("oversized token: %d, want 400", rec.Code)
	}
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/notify?validationToken=abc", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", rec.Code)
	}
}

func TestHandlerRejectsAlike(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want error
	}{
		{"too large", changeBody(subID, secret) + strings.Repeat(" ", 600), notify.ErrMalformed},
		{"bad JSON", `{"value":[`, notify.ErrMalformed},
		{"unknown subscription", changeBody("00000000-0000-0000-0000-000000000000", secret), notify.ErrUnknownSubscription},
		{"wrong clientState", changeBody(subID, secret+"x"), notify.ErrClientState},
		{"no clientState", changeBody(subID, ""), notify.ErrClientState},
		{"clientState prefix", changeBody(subID, secret[:len(secret)-1]), notify.ErrClientState},
	}
	for _, status := range []int{http.StatusAccepted, http.StatusForbidden} {
		var responses []string
		for _, tc := range tests {
			var got []error
			h, err := notify.NewHandler(testStore(t), func(context.Context, notify.Notification) error {
				t.Errorf("%s: a rejected notification reached the callback", tc.name)
				return nil
			}, notify.WithMaxBodySize(512), notify.WithRejectStatus(status),
				notify.WithOnReject(func(_ *http.Request, err error) { got = append(got, err) }))
			if err != nil {
				t.Fatal(err)
			}
			rec := post(t, h, "/notify", tc.body)
			responses = append(responses, fmt.Sprintf("%d %q", rec.Code, rec.Body))
			if len(got) != 1 || !errors.Is(got[0], tc.want) {
				t.Errorf("%s: rejections %v, want one matching %v", tc.name, got, tc.want)
			}
			if strings.Contains(fmt.Sprint(got), secret) {
				t.Errorf("%s: rejection leaks the clientState: %v", tc.name, got)
			}
			if h.Pending() != 0 {
				t.Errorf("%s: %d notifications queued", tc.name, h.Pending())
			}
		}
		want := fmt.Sprintf("%d %q", status, "")
		for i, r := range responses {
			if r != want {
				t.Errorf("status %d, %s: response %s, want %s like every rejection", status, tests[i].name, r, want)
			}
		}
	}
}

func TestHandlerMixedBatchKeepsVerified(t *testing.T) {
	t.Parallel()
	got := make(chan notify.Notification, 2)
	h, err := notify.NewHandler(testStore(t), func(_ context.Context, n notify.Notification) error {
		got <- n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"value":[` +
		strings.TrimSuffix(strings.TrimPrefix(changeBody(subID, "forged"), `{"value":[`), `]}`) + "," +
		strings.TrimSuffix(strings.TrimPrefix(changeBody(subID, secret), `{"value":[`), `]}`) + `]}`
	if rec := post(t, h, "/notify", body); rec.Code != http.StatusAccepted {
		t.Fatalf("status %d", rec.Code)
	}
	if h.Pending() != 1 {
		t.Fatalf("Pending = %d, want 1", h.Pending())
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- h.Run(ctx) }()
	n := <-got
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}
	want := notify.Notification{
		SubscriptionID: subID, ChangeType: "updated", Resource: "Users/u1/Events/e1", TenantID: "t1",
		SubscriptionExpirationDateTime: n.SubscriptionExpirationDateTime,
		ResourceData:                   &notify.ResourceData{ODataType: "#Microsoft.Graph.Event", ID: "e1"},
		Owner:                          "adele", SubscriptionResource: "me/events",
	}
	if diff := cmp.Diff(want, n); diff != "" {
		t.Errorf("callback got (-want +got):\n%s", diff)
	}
	if n.Key() != (notify.Key{Owner: "adele", Resource: "me/events"}) {
		t.Errorf("Key = %v", n.Key())
	}
}

func TestHandlerAnswersBeforeProcessing(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	var mu sync.Mutex
	processed := 0
	h, err := notify.NewHandler(testStore(t), func(ctx context.Context, n notify.Notification) error {
		started <- struct{}{}
		<-release // a slow Graph call
		mu.Lock()
		processed++
		mu.Unlock()
		return nil
	}, notify.WithWorkers(1), notify.WithQueueSize(2))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- h.Run(ctx) }()

	// The first notification occupies the only worker; the answer is 202
	// all the same.
	if rec := post(t, h, "/notify", changeBody(subID, secret)); rec.Code != http.StatusAccepted {
		t.Fatalf("status %d", rec.Code)
	}
	<-started
	for range 2 { // fills the queue
		if rec := post(t, h, "/notify", changeBody(subID, secret)); rec.Code != http.StatusAccepted {
			t.Fatalf("status %d", rec.Code)
		}
	}
	// Full: 503 with Retry-After so Graph retries, nothing queued.
	rec := post(t, h, "/notify", changeBody(subID, secret))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || h.Pending() != 2 {
		t.Errorf("full queue: %d %v, Pending %d", rec.Code, rec.Header(), h.Pending())
	}
	close(release)
	for range 2 {
		<-started
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if processed != 3 {
		t.Errorf("processed %d, want 3", processed)
	}
}

func TestHandlerLookupFailureAsksForRetry(t *testing.T) {
	t.Parallel()
	broken := notify.LookupFunc(func(context.Context, string) (notify.Registration, error) {
		return notify.Registration{}, errors.New("database is down")
	})
	h, err := notify.NewHandler(broken, noop)
	if err != nil {
		t.Fatal(err)
	}
	if rec := post(t, h, "/notify", changeBody(subID, secret)); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", rec.Code)
	}
}

func TestHandlerRecoversCallbackPanic(t *testing.T) {
	t.Parallel()
	calls := make(chan struct{}, 2)
	h, err := notify.NewHandler(testStore(t), func(context.Context, notify.Notification) error {
		calls <- struct{}{}
		panic("bug in the callback")
	}, notify.WithWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- h.Run(ctx) }()
	for range 2 {
		post(t, h, "/notify", changeBody(subID, secret))
		<-calls // the worker survived the first panic
	}
	cancel()
	<-done
}

func TestNewHandlerRejectsBadOptions(t *testing.T) {
	t.Parallel()
	store := &notify.MemoryStore{}
	tests := []struct {
		name  string
		build func() (*notify.Handler, error)
		input string
	}{
		{"nil lookup", func() (*notify.Handler, error) { return notify.NewHandler(nil, noop) }, "lookup"},
		{"nil process", func() (*notify.Handler, error) { return notify.NewHandler(store, nil) }, "process"},
		{"body size", func() (*notify.Handler, error) { return notify.NewHandler(store, noop, notify.WithMaxBodySize(0)) }, "WithMaxBodySize"},
		{"queue", func() (*notify.Handler, error) { return notify.NewHandler(store, noop, notify.WithQueueSize(-1)) }, "WithQueueSize"},
		{"workers", func() (*notify.Handler, error) { return notify.NewHandler(store, noop, notify.WithWorkers(0)) }, "WithWorkers"},
		{"status", func() (*notify.Handler, error) { return notify.NewHandler(store, noop, notify.WithRejectStatus(99)) }, "WithRejectStatus"},
		{"logger", func() (*notify.Handler, error) { return notify.NewHandler(store, noop, notify.WithLogger(nil)) }, "WithLogger"},
		{"on reject", func() (*notify.Handler, error) { return notify.NewHandler(store, noop, notify.WithOnReject(nil)) }, "WithOnReject"},
	}
	for _, tc := range tests {
		_, err := tc.build()
		if !errors.Is(err, notify.ErrInvalidInput) || !strings.Contains(err.Error(), tc.input) {
			t.Errorf("%s: %v, want ErrInvalidInput naming %s", tc.name, err, tc.input)
		}
	}
}

func TestHandlerLooksUpEachSubscriptionOnce(t *testing.T) {
	t.Parallel()
	store := testStore(t)
	var mu sync.Mutex
	calls := map[string]int{}
	counting := notify.LookupFunc(func(ctx context.Context, id string) (notify.Registration, error) {
		mu.Lock()
		calls[id]++
		mu.Unlock()
		return store.Lookup(ctx, id)
	})
	h, err := notify.NewHandler(counting, noop)
	if err != nil {
		t.Fatal(err)
	}
	if rec := post(t, h, "/notify", batchBody(50)); rec.Code != http.StatusAccepted || h.Pending() != 50 {
		t.Fatalf("status %d, pending %d", rec.Code, h.Pending())
	}
	if diff := cmp.Diff(map[string]int{subID: 1}, calls); diff != "" {
		t.Errorf("lookups (-want +got):\n%s", diff)
	}
}

// TestHandlerRunAfterCancelKeepsTheQueue: a Run whose context is already
// done processes nothing and loses nothing; the notifications wait for the
// next Run.
func TestHandlerRunAfterCancelKeepsTheQueue(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	h, err := notify.NewHandler(testStore(t), func(_ context.Context, n notify.Notification) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, n.SubscriptionID)
		return nil
	}, notify.WithWorkers(8))
	if err != nil {
		t.Fatal(err)
	}
	if rec := post(t, h, "/notify", changeBody(subID, secret)); rec.Code != http.StatusAccepted {
		t.Fatalf("POST: %d", rec.Code)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for range 20 { // each worker's select may pick the queue over ctx
		if err := h.Run(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 0 || h.Pending() != 1 {
		t.Errorf("after cancelled Runs: processed %v, %d pending; want none processed and 1 pending", got, h.Pending())
	}
}
