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
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/notify"
)

const (
	subID  = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"
	regID  = "cmVnaXN0cmF0aW9uIDE"
	secret = regID + ".fJ3k9Qz-secret-client-state"
)

// testStore holds one registration, regID, for subID, owned by adele.
func testStore(t *testing.T) *notify.MemoryStore {
	t.Helper()
	s := &notify.MemoryStore{}
	err := s.Save(t.Context(), notify.Registration{ID: regID, Owner: "adele", Subscription: notify.Subscription{
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

// collector is a Deliver that keeps what it receives.
type collector struct {
	mu  sync.Mutex
	got []notify.ChangeNotification
	err error // returned by deliver
}

func (c *collector) deliver(_ context.Context, batch []notify.ChangeNotification) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, batch...)
	return c.err
}

func (c *collector) delivered() []notify.ChangeNotification {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]notify.ChangeNotification(nil), c.got...)
}

func newHandler(t *testing.T, cfg notify.HandlerConfig) *notify.Handler {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = testStore(t)
	}
	if cfg.Deliver == nil {
		cfg.Deliver = (&collector{}).deliver
	}
	h, err := notify.NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHandlerValidationHandshake(t *testing.T) {
	t.Parallel()
	h := newHandler(t, notify.HandlerConfig{})
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
		{"unknown registration", changeBody(subID, "bm9zdWNo.x"), notify.ErrUnknownSubscription},
		{"wrong clientState", changeBody(subID, secret+"x"), notify.ErrClientState},
		{"oversized clientState", changeBody(subID, secret+strings.Repeat("x", 128)), notify.ErrClientState},
		{"no clientState", changeBody(subID, ""), notify.ErrClientState},
		{"clientState prefix", changeBody(subID, secret[:len(secret)-1]), notify.ErrClientState},
	}
	for _, status := range []int{http.StatusAccepted, http.StatusForbidden} {
		var responses []string
		for _, tc := range tests {
			var got []error
			h := newHandler(t, notify.HandlerConfig{
				Deliver: func(context.Context, []notify.ChangeNotification) error {
					t.Errorf("%s: a rejected notification was delivered", tc.name)
					return nil
				},
				MaxBodySize:  512,
				RejectStatus: status,
				OnReject:     func(_ *http.Request, err error) { got = append(got, err) },
			})
			rec := post(t, h, "/notify", tc.body)
			responses = append(responses, fmt.Sprintf("%d %q", rec.Code, rec.Body))
			if len(got) != 1 || !errors.Is(got[0], tc.want) {
				t.Errorf("%s: rejections %v, want one matching %v", tc.name, got, tc.want)
			}
			// The package names itself once: "notify: Handler: ...: clientState mismatch".
			if len(got) == 1 && (strings.Count(got[0].Error(), "notify") != 1 || !strings.HasPrefix(got[0].Error(), "notify: ")) {
				t.Errorf("%s: rejection reads %q, want the package named once, first", tc.name, got[0])
			}
			if strings.Contains(fmt.Sprint(got), secret) {
				t.Errorf("%s: rejection leaks the clientState: %v", tc.name, got)
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
	c := &collector{}
	h := newHandler(t, notify.HandlerConfig{Deliver: c.deliver})
	body := `{"value":[` +
		strings.TrimSuffix(strings.TrimPrefix(changeBody(subID, "forged"), `{"value":[`), `]}`) + "," +
		strings.TrimSuffix(strings.TrimPrefix(changeBody(subID, secret), `{"value":[`), `]}`) + `]}`
	if rec := post(t, h, "/notify", body); rec.Code != http.StatusAccepted {
		t.Fatalf("status %d", rec.Code)
	}
	got := c.delivered()
	if len(got) != 1 {
		t.Fatalf("delivered %d notifications, want 1", len(got))
	}
	n := got[0]
	want := notify.ChangeNotification{
		SubscriptionID: subID, ChangeType: "updated", Resource: "Users/u1/Events/e1", TenantID: "t1",
		SubscriptionExpirationDateTime: n.SubscriptionExpirationDateTime,
		ResourceData:                   &notify.ResourceData{ODataType: "#Microsoft.Graph.Event", ID: "e1"},
		Owner:                          "adele", SubscriptionResource: "me/events", RegistrationID: regID,
	}
	if diff := cmp.Diff(want, n); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	if n.Key() != (notify.Key{Owner: "adele", Resource: "me/events"}) {
		t.Errorf("Key = %v", n.Key())
	}
}

// TestHandlerDeliversBeforeAnswering: without Workers, the answer waits
// for Deliver; its error asks Graph to deliver again (503 with
// Retry-After), and so does a panic.
func TestHandlerDeliversBeforeAnswering(t *testing.T) {
	t.Parallel()
	c := &collector{}
	h := newHandler(t, notify.HandlerConfig{Deliver: func(ctx context.Context, batch []notify.ChangeNotification) error {
		if len(c.delivered()) == 0 && len(batch) == 1 { // the first delivery fails
			_ = c.deliver(ctx, batch)
			return errors.New("database unavailable")
		}
		if batch[0].ChangeType == "deleted" {
			panic("bug in Deliver")
		}
		return c.deliver(ctx, batch)
	}})
	rec := post(t, h, "/notify", changeBody(subID, secret))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("failed delivery: %d %v, want 503 with Retry-After", rec.Code, rec.Header())
	}
	if rec := post(t, h, "/notify", changeBody(subID, secret)); rec.Code != http.StatusAccepted {
		t.Errorf("redelivery: %d, want 202", rec.Code)
	}
	if got := len(c.delivered()); got != 2 {
		t.Errorf("Deliver saw %d notifications, want the first twice", got)
	}
	panicky := strings.Replace(changeBody(subID, secret), `"updated"`, `"deleted"`, 1)
	if rec := post(t, h, "/notify", panicky); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("panicking Deliver: %d, want 503", rec.Code)
	}
}

// TestHandlerPendingRegistration: a notification that arrives while
// Manager.Create waits for Graph's answer (the registration is stored
// without a subscription ID) is verified and delivered, not dropped.
func TestHandlerPendingRegistration(t *testing.T) {
	t.Parallel()
	store := &notify.MemoryStore{}
	if err := store.Save(t.Context(), notify.Registration{ID: regID, Owner: "adele", Subscription: notify.Subscription{Resource: "me/events", ClientState: secret}}); err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	h := newHandler(t, notify.HandlerConfig{Store: store, Deliver: c.deliver})
	if rec := post(t, h, "/notify", changeBody(subID, secret)); rec.Code != http.StatusAccepted {
		t.Fatalf("status %d", rec.Code)
	}
	if got := c.delivered(); len(got) != 1 || got[0].Owner != "adele" || got[0].SubscriptionID != subID || got[0].RegistrationID != regID {
		t.Errorf("delivered %+v", got)
	}
}

func TestHandlerQueueAnswersBeforeDelivering(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	var mu sync.Mutex
	delivered := 0
	h := newHandler(t, notify.HandlerConfig{Workers: 1, QueueSize: 2, Deliver: func(ctx context.Context, batch []notify.ChangeNotification) error {
		started <- struct{}{}
		<-release // a slow Graph call
		mu.Lock()
		delivered += len(batch)
		mu.Unlock()
		return nil
	}})

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
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("full queue: %d %v", rec.Code, rec.Header())
	}
	close(release)
	if err := h.Shutdown(t.Context()); err != nil { // waits for the queue
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if delivered != 3 {
		t.Errorf("delivered %d, want 3", delivered)
	}
}

// TestHandlerShutdown: Shutdown delivers what is queued; afterwards every
// notification is answered 503 (Graph delivers it again to the next
// process) and nothing more is delivered.
func TestHandlerShutdown(t *testing.T) {
	t.Parallel()
	for _, workers := range []int{0, 8} {
		c := &collector{}
		h := newHandler(t, notify.HandlerConfig{Workers: workers, Deliver: c.deliver})
		for range 5 {
			if rec := post(t, h, "/notify", changeBody(subID, secret)); rec.Code != http.StatusAccepted {
				t.Fatalf("workers %d: status %d", workers, rec.Code)
			}
		}
		if err := h.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := len(c.delivered()); got != 5 {
			t.Errorf("workers %d: %d delivered by Shutdown, want 5", workers, got)
		}
		if rec := post(t, h, "/notify", changeBody(subID, secret)); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Errorf("workers %d: after Shutdown: %d, want 503 with Retry-After", workers, rec.Code)
		}
		if rec := post(t, h, "/notify?validationToken=abc", ""); rec.Code != http.StatusOK {
			t.Errorf("workers %d: validation after Shutdown: %d", workers, rec.Code)
		}
		if got := len(c.delivered()); got != 5 {
			t.Errorf("workers %d: %d delivered after Shutdown, want 5", workers, got)
		}
		if err := h.Shutdown(t.Context()); err != nil {
			t.Errorf("second Shutdown: %v", err)
		}
	}
}

// TestHandlerShutdownGivesUp: when ctx ends first, Shutdown cancels the
// deliveries in progress and returns ctx's error.
func TestHandlerShutdownGivesUp(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	h := newHandler(t, notify.HandlerConfig{Workers: 1, Deliver: func(ctx context.Context, _ []notify.ChangeNotification) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}})
	post(t, h, "/notify", changeBody(subID, secret))
	<-started
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := h.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown = %v, want context.Canceled", err)
	}
}

// brokenStore fails every Load.
type brokenStore struct{ notify.MemoryStore }

func (*brokenStore) Load(context.Context, string) (notify.Registration, error) {
	return notify.Registration{}, errors.New("database is down")
}

func TestHandlerStoreFailureAsksForRetry(t *testing.T) {
	t.Parallel()
	h := newHandler(t, notify.HandlerConfig{Store: &brokenStore{}})
	if rec := post(t, h, "/notify", changeBody(subID, secret)); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", rec.Code)
	}
}

func TestHandlerQueueRecoversPanic(t *testing.T) {
	t.Parallel()
	calls := make(chan struct{}, 2)
	h := newHandler(t, notify.HandlerConfig{Workers: 1, Deliver: func(context.Context, []notify.ChangeNotification) error {
		calls <- struct{}{}
		panic("bug in the callback")
	}})
	for range 2 {
		post(t, h, "/notify", changeBody(subID, secret))
		<-calls // the worker survived the first panic
	}
	if err := h.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestNewHandlerRejectsBadConfig(t *testing.T) {
	t.Parallel()
	store := &notify.MemoryStore{}
	deliver := (&collector{}).deliver
	tests := []struct {
		cfg   notify.HandlerConfig
		input string
	}{
		{notify.HandlerConfig{Deliver: deliver}, "HandlerConfig.Store"},
		{notify.HandlerConfig{Store: store}, "HandlerConfig.Deliver"},
		{notify.HandlerConfig{Store: store, Deliver: deliver, MaxBodySize: -1}, "HandlerConfig.MaxBodySize"},
		{notify.HandlerConfig{Store: store, Deliver: deliver, Workers: 2, QueueSize: -1}, "HandlerConfig.QueueSize"},
		{notify.HandlerConfig{Store: store, Deliver: deliver, QueueSize: 10}, "HandlerConfig.QueueSize"},
		{notify.HandlerConfig{Store: store, Deliver: deliver, Workers: -1}, "HandlerConfig.Workers"},
		{notify.HandlerConfig{Store: store, Deliver: deliver, RejectStatus: 99}, "HandlerConfig.RejectStatus"},
	}
	for _, tc := range tests {
		_, err := notify.NewHandler(tc.cfg)
		if !errors.Is(err, graphclient.ErrInvalidInput) || !strings.Contains(err.Error(), tc.input) {
			t.Errorf("%+v: %v, want graphclient.ErrInvalidInput naming %s", tc.cfg, err, tc.input)
		}
	}
}

// countingStore counts Loads per registration ID.
type countingStore struct {
	*notify.MemoryStore
	mu    sync.Mutex
	calls map[string]int
}

func (s *countingStore) Load(ctx context.Context, id string) (notify.Registration, error) {
	s.mu.Lock()
	s.calls[id]++
	s.mu.Unlock()
	return s.MemoryStore.Load(ctx, id)
}

func TestHandlerLoadsEachRegistrationOnce(t *testing.T) {
	t.Parallel()
	store := &countingStore{MemoryStore: testStore(t), calls: map[string]int{}}
	c := &collector{}
	h := newHandler(t, notify.HandlerConfig{Store: store, Deliver: c.deliver})
	if rec := post(t, h, "/notify", batchBody(50)); rec.Code != http.StatusAccepted || len(c.delivered()) != 50 {
		t.Fatalf("status %d, delivered %d", rec.Code, len(c.delivered()))
	}
	if diff := cmp.Diff(map[string]int{regID: 1}, store.calls); diff != "" {
		t.Errorf("loads (-want +got):\n%s", diff)
	}
}

// TestRejectionText: a rejection reads as one sentence, the package named
// once, the subscription named, the clientState never.
func TestRejectionText(t *testing.T) {
	t.Parallel()
	var got []error
	h := newHandler(t, notify.HandlerConfig{
		Deliver:  func(context.Context, []notify.ChangeNotification) error { return nil },
		OnReject: func(_ *http.Request, err error) { got = append(got, err) },
	})
	post(t, h, "/notify", changeBody(subID, secret+"x"))
	post(t, h, "/notify", changeBody(subID, "bm9zdWNo.x"))
	want := []string{
		"notify: Handler: subscription " + subID + ": clientState mismatch",
		"notify: Handler: subscription " + subID + ": unknown subscription",
	}
	var texts []string
	for _, err := range got {
		texts = append(texts, err.Error())
	}
	if diff := cmp.Diff(want, texts); diff != "" {
		t.Errorf("rejections (-want +got):\n%s", diff)
	}
}
