package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/notify"
)

// managerNow is the start of time inside a synctest bubble, where the
// Manager tests run so that expirations are exact.
var managerNow = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// recorded is one request the test Graph received.
type recorded struct {
	Method, Path, Prefer string
	Body                 map[string]any
}

// handlerTransport serves requests with a handler, in process: no socket,
// so it works inside a synctest bubble.
type handlerTransport struct{ h http.Handler }

func (tr handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil {
		r.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	tr.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// fakeGraph serves mux under /prefix/v1.0/ and records every request.
func fakeGraph(t *testing.T, mux *http.ServeMux, opts ...graphclient.Option) (*graphclient.Client, func() []recorded) {
	t.Helper()
	var mu sync.Mutex
	var reqs []recorded
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec := recorded{Method: r.Method, Path: r.URL.EscapedPath(), Prefer: strings.Join(r.Header.Values("Prefer"), ", ")}
		if len(b) > 0 {
			if err := json.Unmarshal(b, &rec.Body); err != nil {
				t.Errorf("request body %s: %v", b, err)
			}
		}
		mu.Lock()
		reqs = append(reqs, rec)
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		mux.ServeHTTP(w, r)
	})
	opts = append([]graphclient.Option{
		graphclient.WithBaseURL("https://graph.test/prefix/v1.0/"),
		graphclient.WithHTTPClient(&http.Client{Transport: handlerTransport{h}}),
		graphclient.WithRetry(graphclient.RetryPolicy{MaxAttempts: 1}),
	}, opts...)
	gc, err := graphclient.New(graphclient.StaticToken("token"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return gc, func() []recorded {
		mu.Lock()
		defer mu.Unlock()
		return append([]recorded(nil), reqs...)
	}
}

func serveFile(t *testing.T, status int, file string) http.HandlerFunc {
	b := readTestdata(t, file)
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(b)
	}
}

func notFound(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	_, _ = io.WriteString(w, `{"error":{"code":"ResourceNotFound","message":"The object was not found."}}`)
}

const hookURL = "https://webhook.example.com/graph/notify"

func newManager(t *testing.T, gc *graphclient.Client, store notify.Store, cfg notify.Config) *notify.Manager {
	t.Helper()
	cfg.Store = store
	if cfg.Owner == "" {
		cfg.Owner = "adele"
	}
	m, err := notify.NewManager(gc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestManagerCreate(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		store := &notify.MemoryStore{}
		var pendingAtPOST []notify.Registration
		created := serveFile(t, http.StatusCreated, "subscription-created.json")
		mux := http.NewServeMux()
		mux.HandleFunc("POST /prefix/v1.0/subscriptions", func(w http.ResponseWriter, r *http.Request) {
			pendingAtPOST = store.List("") // what a notification arriving now would be verified against
			created(w, r)
		})
		gc, reqs := fakeGraph(t, mux)
		m := newManager(t, gc, store, notify.Config{})

		reg, err := m.Create(t.Context(), hookURL, notify.MailFolder("Inbox"))
		if err != nil {
			t.Fatal(err)
		}
		got := reqs()
		if len(got) != 1 {
			t.Fatalf("%d requests", len(got))
		}
		r := got[0]
		if !strings.Contains(r.Prefer, `IdType="ImmutableId"`) {
			t.Errorf("Prefer = %q, want immutable IDs", r.Prefer)
		}
		state, _ := r.Body["clientState"].(string)
		id, secret, ok := strings.Cut(state, ".")
		if !ok || id != reg.ID || len(id) != 22 || len(secret) != 43 {
			t.Errorf("clientState %q: want the registration ID %q, a dot and 43 characters of base64url", state, reg.ID)
		}
		delete(r.Body, "clientState")
		wantBody := map[string]any{
			"resource":                  "me/mailFolders('Inbox')/messages",
			"changeType":                "created,updated,deleted",
			"notificationUrl":           hookURL,
			"lifecycleNotificationUrl":  hookURL,
			"expirationDateTime":        "2000-01-03T22:15:00Z", // 4,230 minutes less 15
			"latestSupportedTlsVersion": "v1_2",
		}
		if diff := cmp.Diff(wantBody, r.Body); diff != "" {
			t.Errorf("request body (-want +got):\n%s", diff)
		}

		// Before Graph answered, the registration was already stored,
		// pending: no subscription ID yet, the clientState Graph will echo.
		wantPending := []notify.Registration{{ID: reg.ID, Owner: "adele", Subscription: notify.Subscription{
			Resource: "me/mailFolders('Inbox')/messages", ChangeType: "created,updated,deleted",
			NotificationURL: hookURL, LifecycleNotificationURL: hookURL,
			ExpirationDateTime: time.Date(2000, 1, 3, 22, 15, 0, 0, time.UTC), ClientState: state, LatestSupportedTLSVersion: "v1_2",
		}}}
		if diff := cmp.Diff(wantPending, pendingAtPOST); diff != "" {
			t.Errorf("store during the POST (-want +got):\n%s", diff)
		}
		// After: the same registration with Graph's answer.
		want := notify.Registration{ID: reg.ID, Owner: "adele", Subscription: notify.Subscription{
			ID:                        "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
			Resource:                  "me/mailFolders('Inbox')/messages",
			ApplicationID:             "24d3b144-21ae-4080-943f-7067b395b913",
			ChangeType:                "created",
			ClientState:               "secretClientValue",
			NotificationURL:           "https://webhook.azurewebsites.net/api/send/myNotifyClient",
			ExpirationDateTime:        time.Date(2016, 11, 20, 18, 23, 45, 935691300, time.UTC),
			CreatorID:                 "8ee44408-0679-472c-bc2a-692812af3437",
			LatestSupportedTLSVersion: "v1_2",
		}}
		if diff := cmp.Diff(want, reg); diff != "" {
			t.Errorf("registration (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]notify.Registration{want}, store.List("")); diff != "" {
			t.Errorf("store after Create (-want +got):\n%s", diff)
		}
	})
}

// TestManagerCreateFailureLeavesNothing: when Graph refuses the
// subscription, the pending registration is deleted; when the final save
// fails, the subscription Graph created is deleted again.
func TestManagerCreateFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /prefix/v1.0/subscriptions", serveFile(t, http.StatusCreated, "subscription-created.json"))
	mux.HandleFunc("DELETE /prefix/v1.0/subscriptions/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	gc, reqs := fakeGraph(t, mux)
	store := &notify.MemoryStore{}
	refusing, _ := fakeGraph(t, http.NewServeMux()) // every request 404s
	if _, err := newManager(t, refusing, store, notify.Config{}).Create(t.Context(), hookURL, notify.Events()); err == nil {
		t.Fatal("Create succeeded against a Graph that refuses")
	}
	if regs := store.List(""); len(regs) != 0 {
		t.Errorf("after a refused Create the store holds %+v", regs)
	}

	failing := &failingStore{MemoryStore: store, failSaves: 2} // the pending save succeeds, the final one fails
	if _, err := newManager(t, gc, failing, notify.Config{}).Create(t.Context(), hookURL, notify.Events()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Create with a failing final save = %v", err)
	}
	var calls []string
	for _, r := range reqs() {
		calls = append(calls, r.Method+" "+r.Path)
	}
	if diff := cmp.Diff([]string{"POST /prefix/v1.0/subscriptions", "DELETE /prefix/v1.0/subscriptions/7f105c7d-2dc5-4530-97cd-4e7ae6534c07"}, calls); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if regs := store.List(""); len(regs) != 0 {
		t.Errorf("after a failed final save the store holds %+v", regs)
	}
}

// failingStore fails its failSaves-th Save.
type failingStore struct {
	*notify.MemoryStore
	mu        sync.Mutex
	saves     int
	failSaves int
}

func (s *failingStore) Save(ctx context.Context, reg notify.Registration) error {
	s.mu.Lock()
	s.saves++
	fail := s.saves == s.failSaves
	s.mu.Unlock()
	if fail {
		return errors.New("disk full")
	}
	return s.MemoryStore.Save(ctx, reg)
}

// echoCreate answers POST /subscriptions with the request and an ID.
func echoCreate(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	body["id"] = "new-for-" + body["resource"].(string)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(body)
}

func TestManagerClientStatesDiffer(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /prefix/v1.0/subscriptions", echoCreate)
	gc, _ := fakeGraph(t, mux)
	m := newManager(t, gc, &notify.MemoryStore{}, notify.Config{})
	seen := map[string]bool{}
	for range 50 {
		reg, err := m.Create(t.Context(), hookURL, notify.Events())
		if err != nil {
			t.Fatal(err)
		}
		s := reg.Subscription.ClientState
		if seen[s] || len(s) > 128 || seen[reg.ID] {
			t.Fatalf("clientState %q or ID %q repeated, or too long", s, reg.ID)
		}
		seen[s], seen[reg.ID] = true, true
	}
}

func TestManagerExpirationPerKind(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /prefix/v1.0/subscriptions", echoCreate)
		gc, reqs := fakeGraph(t, mux)
		m := newManager(t, gc, &notify.MemoryStore{}, notify.Config{
			MaxLifetime: map[notify.Kind]time.Duration{notify.KindMessages: 10080 * time.Minute},
			Margin:      time.Minute,
		})
		tests := []struct {
			target notify.Target
			want   time.Duration
		}{
			{notify.Events(), 4229 * time.Minute},
			{notify.MailFolder("inbox"), 10079 * time.Minute},
			{notify.ChatMessages("19:abc@thread.v2"), 4319 * time.Minute},
			{notify.AllChatMessages(), 4319 * time.Minute},
		}
		for _, tc := range tests {
			reg, err := m.Create(t.Context(), hookURL, tc.target)
			if err != nil {
				t.Fatal(err)
			}
			if got := reg.Subscription.ExpirationDateTime.Sub(managerNow); got != tc.want {
				t.Errorf("%s: lifetime %v, want %v", tc.target.Resource, got, tc.want)
			}
		}
		if n := len(reqs()); n != len(tests) {
			t.Errorf("%d requests", n)
		}
	})
}

func TestManagerRenewReauthorizeDelete(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		mux := http.NewServeMux()
		mux.HandleFunc("PATCH /prefix/v1.0/subscriptions/{id}", func(w http.ResponseWriter, r *http.Request) {
			var body map[string]string
			_ = json.NewDecoder(r.Body).Decode(&body)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"id": r.PathValue("id"), "resource": "me/events", "changeType": "created,updated,deleted", "expirationDateTime": body["expirationDateTime"], "clientState": nil})
		})
		mux.HandleFunc("POST /prefix/v1.0/subscriptions/{id}/reauthorize", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
		mux.HandleFunc("DELETE /prefix/v1.0/subscriptions/gone", notFound)
		mux.HandleFunc("DELETE /prefix/v1.0/subscriptions/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
		gc, reqs := fakeGraph(t, mux)
		store := &notify.MemoryStore{}
		m := newManager(t, gc, store, notify.Config{})
		old := notify.Registration{ID: "r1", Owner: "adele", Subscription: notify.Subscription{
			ID: "s/1", Resource: "me/events", ChangeType: "created,updated,deleted", NotificationURL: hookURL,
			ClientState: secret, ExpirationDateTime: managerNow.Add(time.Hour),
		}}
		renewed, err := m.Renew(t.Context(), old)
		if err != nil {
			t.Fatal(err)
		}
		if renewed.ID != "r1" || renewed.Subscription.ClientState != secret || renewed.Subscription.NotificationURL != hookURL ||
			!renewed.Subscription.ExpirationDateTime.Equal(time.Date(2000, 1, 3, 22, 15, 0, 0, time.UTC)) {
			t.Errorf("renewed = %+v", renewed)
		}
		if stored, err := store.Load(t.Context(), "r1"); err != nil || !cmp.Equal(stored, renewed) {
			t.Errorf("stored after Renew = %+v, %v; want %+v", stored, err, renewed)
		}
		if err := m.Reauthorize(t.Context(), "s/1"); err != nil {
			t.Fatal(err)
		}
		if err := m.Delete(t.Context(), renewed); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Load(t.Context(), "r1"); !errors.Is(err, notify.ErrUnknownSubscription) {
			t.Errorf("Load after Delete = %v, want ErrUnknownSubscription", err)
		}
		if err := m.Delete(t.Context(), notify.Registration{Subscription: notify.Subscription{ID: "gone"}}); err != nil {
			t.Errorf("deleting a gone subscription: %v", err)
		}
		var paths []string
		for _, r := range reqs() {
			paths = append(paths, r.Method+" "+r.Path)
		}
		want := []string{
			"PATCH /prefix/v1.0/subscriptions/s%2F1",
			"POST /prefix/v1.0/subscriptions/s%2F1/reauthorize",
			"DELETE /prefix/v1.0/subscriptions/s%2F1",
			"DELETE /prefix/v1.0/subscriptions/gone",
		}
		if diff := cmp.Diff(want, paths); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
	})
}

func TestManagerRenewDue(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		mux := http.NewServeMux()
		mux.HandleFunc("PATCH /prefix/v1.0/subscriptions/gone", notFound)
		mux.HandleFunc("PATCH /prefix/v1.0/subscriptions/{id}", func(w http.ResponseWriter, r *http.Request) {
			var body map[string]string
			_ = json.NewDecoder(r.Body).Decode(&body)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"id": r.PathValue("id"), "expirationDateTime": body["expirationDateTime"]})
		})
		mux.HandleFunc("POST /prefix/v1.0/subscriptions", echoCreate)
		gc, reqs := fakeGraph(t, mux)
		store := &notify.MemoryStore{}
		m := newManager(t, gc, store, notify.Config{})
		regs := []notify.Registration{
			{ID: "r-far", Subscription: notify.Subscription{ID: "far", Resource: "me/events", ChangeType: "created", ExpirationDateTime: managerNow.Add(48 * time.Hour)}},
			{ID: "r-near", Subscription: notify.Subscription{ID: "near", Resource: "me/events", ChangeType: "created", ClientState: "keep", ExpirationDateTime: managerNow.Add(time.Hour)}},
			{ID: "r-gone", Subscription: notify.Subscription{ID: "gone", Resource: "me/mailFolders('inbox')/messages", ChangeType: "created,updated", NotificationURL: hookURL, ExpirationDateTime: managerNow.Add(2 * time.Hour)}},
			{ID: "r-expired", Subscription: notify.Subscription{ID: "expired", Resource: "me/messages", ChangeType: "created", NotificationURL: hookURL, ExpirationDateTime: managerNow.Add(-time.Minute)}},
		}
		for i := range regs {
			regs[i].Owner = "adele"
			if err := store.Save(t.Context(), regs[i]); err != nil {
				t.Fatal(err)
			}
		}
		got := m.RenewDue(t.Context(), regs, 12*time.Hour)
		type outcome struct {
			Old, New    string
			Recreated   bool
			ClientState bool
		}
		var outcomes []outcome
		for _, r := range got {
			if r.Err != nil {
				t.Fatalf("%s: %v", r.Old.Subscription.ID, r.Err)
			}
			outcomes = append(outcomes, outcome{r.Old.Subscription.ID, r.New.Subscription.ID, r.Recreated,
				r.New.Subscription.ClientState != "" && r.New.Subscription.ClientState != r.Old.Subscription.ClientState})
		}
		want := []outcome{
			{"near", "near", false, false},
			{"gone", "new-for-me/mailFolders('inbox')/messages", true, true},
			{"expired", "new-for-me/messages", true, true},
		}
		if diff := cmp.Diff(want, outcomes); diff != "" {
			t.Errorf("RenewDue (-want +got):\n%s", diff)
		}
		if got[0].New.Subscription.ClientState != "keep" {
			t.Errorf("renewal lost the clientState")
		}
		if n := len(reqs()); n != 4 { // PATCH near, PATCH gone, POST gone, POST expired
			t.Errorf("%d requests, want 4", n)
		}
		// The store follows: far and near kept, gone and expired replaced.
		var stored []string
		for _, r := range store.List("adele") {
			stored = append(stored, r.Subscription.ID)
		}
		slices.Sort(stored)
		if diff := cmp.Diff([]string{"far", "near", "new-for-me/mailFolders('inbox')/messages", "new-for-me/messages"}, stored); diff != "" {
			t.Errorf("stored subscriptions (-want +got):\n%s", diff)
		}
	})
}

func TestManagerErrors(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /prefix/v1.0/subscriptions/{id}", notFound)
	mux.HandleFunc("POST /prefix/v1.0/subscriptions", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"code":"ValidationError","message":"Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request."}}`)
	})
	gc, _ := fakeGraph(t, mux)
	m := newManager(t, gc, &notify.MemoryStore{}, notify.Config{})
	_, err := m.Get(t.Context(), "abc")
	if !errors.Is(err, graphclient.ErrNotFound) || !strings.Contains(err.Error(), "notify: Get: subscription abc: ") {
		t.Errorf("Get = %v, want graphclient.ErrNotFound naming the subscription", err)
	}
	_, err = m.Create(t.Context(), hookURL, notify.Events())
	var ge *graphclient.Error
	if !errors.As(err, &ge) || ge.Code != "ValidationError" || strings.Contains(err.Error(), "clientState\":") {
		t.Errorf("Create = %v", err)
	}
	bad := []struct {
		name string
		err  error
	}{
		{"Target.Resource", func() error {
			_, err := m.Create(t.Context(), hookURL, notify.Target{Resource: "me/contacts", ChangeType: "created"})
			return err
		}()},
		{"Target.Resource", func() error { _, err := m.Create(t.Context(), hookURL, notify.MailFolder("in'box")); return err }()},
		{"Target.ChangeType", func() error {
			_, err := m.Create(t.Context(), hookURL, notify.Target{Resource: "me/events", ChangeType: "moved"})
			return err
		}()},
		{"notificationURL", func() error { _, err := m.Create(t.Context(), "", notify.Events()); return err }()},
		{"notificationURL", func() error { _, err := m.Create(t.Context(), "http://example.com/hook", notify.Events()); return err }()},
		{"notificationURL", func() error { _, err := m.Create(t.Context(), "/hook", notify.Events()); return err }()},
		{"reg.ID", func() error { _, err := m.Renew(t.Context(), notify.Registration{}); return err }()},
		{"reg.Subscription.ID", func() error { _, err := m.Renew(t.Context(), notify.Registration{ID: "r"}); return err }()},
		{"reg.ID", func() error { _, err := m.Recreate(t.Context(), notify.Registration{}); return err }()},
		{"id", m.Reauthorize(t.Context(), "")},
		{"reg", m.Delete(t.Context(), notify.Registration{})},
	}
	for _, b := range bad {
		if !errors.Is(b.err, graphclient.ErrInvalidInput) || !strings.Contains(b.err.Error(), b.name) {
			t.Errorf("%v: want graphclient.ErrInvalidInput naming %s", b.err, b.name)
		}
		var ne *notify.Error
		if !errors.As(b.err, &ne) || ne.Input != b.name {
			t.Errorf("%v: want a *notify.Error with Input %q", b.err, b.name)
		}
	}
}

func TestNewManagerValidatesConfig(t *testing.T) {
	t.Parallel()
	gc, _ := fakeGraph(t, http.NewServeMux())
	store := &notify.MemoryStore{}
	tests := []struct {
		name  string
		cfg   notify.Config
		input string
	}{
		{"no store", notify.Config{Owner: "adele"}, "Config.Store"},
		{"no owner", notify.Config{Store: store}, "Config.Owner"},
		{"margin too long", notify.Config{Store: store, Owner: "adele", Margin: 5000 * time.Minute}, "Config.Margin"},
		{"zero lifetime", notify.Config{Store: store, Owner: "adele", MaxLifetime: map[notify.Kind]time.Duration{notify.KindEvents: 0}}, "Config.MaxLifetime"},
	}
	for _, tc := range tests {
		if _, err := notify.NewManager(gc, tc.cfg); !errors.Is(err, graphclient.ErrInvalidInput) || !strings.Contains(err.Error(), tc.input) {
			t.Errorf("%s: %v, want graphclient.ErrInvalidInput naming %s", tc.name, err, tc.input)
		}
	}
	if _, err := notify.NewManager(nil, notify.Config{Store: store, Owner: "adele"}); !errors.Is(err, graphclient.ErrInvalidInput) {
		t.Errorf("nil client: %v", err)
	}
}

// TestTargetsAndKinds: the Targets name the resources Graph documents,
// and Create accepts every resource spelling of the kinds it knows (the
// kind picks the lifetime) and refuses the others.
func TestTargetsAndKinds(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /prefix/v1.0/subscriptions", echoCreate)
		gc, _ := fakeGraph(t, mux)
		m := newManager(t, gc, &notify.MemoryStore{}, notify.Config{
			MaxLifetime: map[notify.Kind]time.Duration{notify.KindEvents: time.Hour, notify.KindMessages: 2 * time.Hour, notify.KindChatMessages: 3 * time.Hour},
			Margin:      time.Minute,
		})
		tests := []struct {
			resource string
			kind     notify.Kind
		}{
			{"me/events", notify.KindEvents},
			{"/users/8ee44408/events", notify.KindEvents},
			{"me/messages", notify.KindMessages},
			{"me/mailFolders('Inbox')/messages", notify.KindMessages},
			{"me/mailfolders('inbox')/messages", notify.KindMessages},
			{"/me/mailFolders/AAMkAGI2=/messages", notify.KindMessages},
			{"chats/19%3Aabc%40thread.v2/messages", notify.KindChatMessages},
			{"me/chats/getAllMessages", notify.KindChatMessages},
			{"me/contacts", ""},
			{"me/events/extra", ""},
		}
		lifetime := map[notify.Kind]time.Duration{notify.KindEvents: 59 * time.Minute, notify.KindMessages: 119 * time.Minute, notify.KindChatMessages: 179 * time.Minute}
		for _, tc := range tests {
			reg, err := m.Create(t.Context(), hookURL, notify.Target{Resource: tc.resource, ChangeType: "created"})
			switch {
			case tc.kind == "" && !errors.Is(err, graphclient.ErrInvalidInput):
				t.Errorf("%s: %v, want invalid input", tc.resource, err)
			case tc.kind != "" && err != nil:
				t.Errorf("%s: %v", tc.resource, err)
			case tc.kind != "" && reg.Subscription.ExpirationDateTime.Sub(managerNow) != lifetime[tc.kind]:
				t.Errorf("%s: lifetime %v, want the %s one", tc.resource, reg.Subscription.ExpirationDateTime.Sub(managerNow), tc.kind)
			}
		}
	})
	if got := notify.ChatMessages("19:abc@thread.v2").Resource; got != "chats/19:abc@thread.v2/messages" {
		t.Errorf("ChatMessages resource = %q", got)
	}
}

// TestManagerCreateAsksImmutableIDsOnce: over a client that already asks
// for immutable IDs, Create does not repeat the preference.
func TestManagerCreateAsksImmutableIDsOnce(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /prefix/v1.0/subscriptions", serveFile(t, http.StatusCreated, "subscription-created.json"))
	gc, reqs := fakeGraph(t, mux, graphclient.WithImmutableIDs())
	if _, err := newManager(t, gc, &notify.MemoryStore{}, notify.Config{}).Create(t.Context(), hookURL, notify.MailFolder("Inbox")); err != nil {
		t.Fatal(err)
	}
	if got := reqs(); len(got) != 1 || strings.Count(got[0].Prefer, "IdType") != 1 {
		t.Errorf("requests %+v, want one with a single IdType preference", got)
	}
}
