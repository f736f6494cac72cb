package notify_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/notify"
)

var managerNow = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// recorded is one request the test Graph received.
type recorded struct {
	Method, Path, Prefer string
	Body                 map[string]any
}

// fakeGraph serves mux under /prefix/v1.0/ and records every request.
func fakeGraph(t *testing.T, mux *http.ServeMux, opts ...graphclient.Option) (*graphclient.Client, func() []recorded) {
	t.Helper()
	var mu sync.Mutex
	var reqs []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	}))
	t.Cleanup(srv.Close)
	opts = append([]graphclient.Option{graphclient.WithBaseURL(srv.URL + "/prefix/v1.0/"), graphclient.WithRetry(graphclient.RetryPolicy{MaxAttempts: 1})}, opts...)
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

func newManager(t *testing.T, gc *graphclient.Client, cfg notify.Config) *notify.Manager {
	t.Helper()
	if cfg.NotificationURL == "" {
		cfg.NotificationURL = "https://webhook.example.com/graph/notify"
	}
	cfg.Now = func() time.Time { return managerNow }
	m, err := notify.NewManager(gc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestManagerCreate(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /prefix/v1.0/subscriptions", serveFile(t, http.StatusCreated, "subscription-created.json"))
	gc, reqs := fakeGraph(t, mux)
	m := newManager(t, gc, notify.Config{})

	sub, err := m.Create(t.Context(), notify.MailFolder("Inbox"))
	if err != nil {
		t.Fatal(err)
	}
	want := &notify.Subscription{
		ID:                        "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
		Resource:                  "me/mailFolders('Inbox')/messages",
		ApplicationID:             "24d3b144-21ae-4080-943f-7067b395b913",
		ChangeType:                "created",
		ClientState:               "secretClientValue",
		NotificationURL:           "https://webhook.azurewebsites.net/api/send/myNotifyClient",
		ExpirationDateTime:        time.Date(2016, 11, 20, 18, 23, 45, 935691300, time.UTC),
		CreatorID:                 "8ee44408-0679-472c-bc2a-692812af3437",
		LatestSupportedTLSVersion: "v1_2",
	}
	if diff := cmp.Diff(want, sub); diff != "" {
		t.Errorf("subscription (-want +got):\n%s", diff)
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
	if len(state) != 43 {
		t.Errorf("clientState %q: want 43 characters of base64url", state)
	}
	delete(r.Body, "clientState")
	wantBody := map[string]any{
		"resource":                  "me/mailFolders('Inbox')/messages",
		"changeType":                "created,updated,deleted",
		"notificationUrl":           "https://webhook.example.com/graph/notify",
		"lifecycleNotificationUrl":  "https://webhook.example.com/graph/notify",
		"expirationDateTime":        "2026-11-28T07:15:00Z", // 4,230 minutes less 15
		"latestSupportedTlsVersion": "v1_2",
	}
	if diff := cmp.Diff(wantBody, r.Body); diff != "" {
		t.Errorf("request body (-want +got):\n%s", diff)
	}
}

func TestManagerClientStatesDiffer(t *testing.T) {
	t.Parallel()
	m := newManager(t, mustClient(t), notify.Config{})
	seen := map[string]bool{}
	for range 100 {
		s, err := m.NewClientState()
		if err != nil {
			t.Fatal(err)
		}
		if seen[s] || len(s) > 128 {
			t.Fatalf("clientState %q repeated or too long", s)
		}
		seen[s] = true
	}
	failing := newManager(t, mustClient(t), notify.Config{Rand: strings.NewReader("short")})
	if _, err := failing.Create(t.Context(), notify.Events()); err == nil {
		t.Error("Create with a failing random source succeeded")
	}
}

func mustClient(t *testing.T) *graphclient.Client {
	gc, err := graphclient.New(graphclient.StaticToken("token"), graphclient.WithBaseURL("http://127.0.0.1:9/v1.0/"))
	if err != nil {
		t.Fatal(err)
	}
	return gc
}

func TestManagerExpirationPerKind(t *testing.T) {
	t.Parallel()
	m := newManager(t, mustClient(t), notify.Config{
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
		if got := m.Expiration(tc.target.Resource).Sub(managerNow); got != tc.want {
			t.Errorf("%s: lifetime %v, want %v", tc.target.Resource, got, tc.want)
		}
	}
}

func TestManagerRenewReauthorizeDelete(t *testing.T) {
	t.Parallel()
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
	m := newManager(t, gc, notify.Config{})
	old := notify.Subscription{ID: "s/1", Resource: "me/events", ChangeType: "created,updated,deleted", ClientState: secret, ExpirationDateTime: managerNow.Add(time.Hour)}
	renewed, err := m.Renew(t.Context(), old)
	if err != nil {
		t.Fatal(err)
	}
	if renewed.ClientState != secret || !renewed.ExpirationDateTime.Equal(time.Date(2026, 11, 28, 7, 15, 0, 0, time.UTC)) {
		t.Errorf("renewed = %+v", renewed)
	}
	if err := m.Reauthorize(t.Context(), "s/1"); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(t.Context(), "s/1"); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(t.Context(), "gone"); err != nil {
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
}

func TestManagerRenewDue(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("PATCH /prefix/v1.0/subscriptions/gone", notFound)
	mux.HandleFunc("PATCH /prefix/v1.0/subscriptions/{id}", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": r.PathValue("id"), "expirationDateTime": body["expirationDateTime"]})
	})
	mux.HandleFunc("POST /prefix/v1.0/subscriptions", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		body["id"] = "new-for-" + body["resource"].(string)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(body)
	})
	gc, reqs := fakeGraph(t, mux)
	m := newManager(t, gc, notify.Config{})
	subs := []notify.Subscription{
		{ID: "far", Resource: "me/events", ChangeType: "created", ExpirationDateTime: managerNow.Add(48 * time.Hour)},
		{ID: "near", Resource: "me/events", ChangeType: "created", ClientState: "keep", ExpirationDateTime: managerNow.Add(time.Hour)},
		{ID: "gone", Resource: "me/mailFolders('inbox')/messages", ChangeType: "created,updated", ExpirationDateTime: managerNow.Add(2 * time.Hour)},
		{ID: "expired", Resource: "me/messages", ChangeType: "created", ExpirationDateTime: managerNow.Add(-time.Minute)},
	}
	got := m.RenewDue(t.Context(), subs, 12*time.Hour)
	type outcome struct {
		Old, New    string
		Recreated   bool
		ClientState bool
	}
	var outcomes []outcome
	for _, r := range got {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Old.ID, r.Err)
		}
		outcomes = append(outcomes, outcome{r.Old.ID, r.New.ID, r.Recreated, r.New.ClientState != "" && r.New.ClientState != r.Old.ClientState})
	}
	want := []outcome{
		{"near", "near", false, false},
		{"gone", "new-for-me/mailFolders('inbox')/messages", true, true},
		{"expired", "new-for-me/messages", true, true},
	}
	if diff := cmp.Diff(want, outcomes); diff != "" {
		t.Errorf("RenewDue (-want +got):\n%s", diff)
	}
	if got[0].New.ClientState != "keep" {
		t.Errorf("renewal lost the clientState")
	}
	if n := len(reqs()); n != 4 { // PATCH near, PATCH gone, POST gone, POST expired
		t.Errorf("%d requests, want 4", n)
	}
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
	m := newManager(t, gc, notify.Config{})
	_, err := m.Get(t.Context(), "abc")
	if !errors.Is(err, notify.ErrNotFound) || !errors.Is(err, graphclient.ErrNotFound) {
		t.Errorf("Get = %v, want ErrNotFound", err)
	}
	_, err = m.Create(t.Context(), notify.Events())
	var ge *graphclient.Error
	if !errors.As(err, &ge) || ge.Code != "ValidationError" || strings.Contains(err.Error(), "clientState\":") {
		t.Errorf("Create = %v", err)
	}
	bad := []struct {
		name string
		err  error
	}{
		{"Target.Resource", func() error {
			_, err := m.Create(t.Context(), notify.Target{Resource: "me/contacts", ChangeType: "created"})
			return err
		}()},
		{"Target.Resource", func() error { _, err := m.Create(t.Context(), notify.MailFolder("in'box")); return err }()},
		{"Target.ChangeType", func() error {
			_, err := m.Create(t.Context(), notify.Target{Resource: "me/events", ChangeType: "moved"})
			return err
		}()},
		{"sub.ID", func() error { _, err := m.Renew(t.Context(), notify.Subscription{}); return err }()},
		{"id", m.Reauthorize(t.Context(), "")},
		{"id", m.Delete(t.Context(), "")},
	}
	for _, b := range bad {
		if !errors.Is(b.err, notify.ErrInvalidInput) || !strings.Contains(b.err.Error(), b.name) {
			t.Errorf("%v: want ErrInvalidInput naming %s", b.err, b.name)
		}
	}
}

func TestNewManagerValidatesConfig(t *testing.T) {
	t.Parallel()
	gc := mustClient(t)
	tests := []struct {
		name  string
		cfg   notify.Config
		input string
	}{
		{"no URL", notify.Config{}, "Config.NotificationURL"},
		{"http URL", notify.Config{NotificationURL: "http://example.com/hook"}, "Config.NotificationURL"},
		{"relative URL", notify.Config{NotificationURL: "/hook"}, "Config.NotificationURL"},
		{"http lifecycle", notify.Config{NotificationURL: "https://a.example/h", LifecycleNotificationURL: "http://a.example/l"}, "Config.LifecycleNotificationURL"},
		{"margin too long", notify.Config{NotificationURL: "https://a.example/h", Margin: 5000 * time.Minute}, "Config.Margin"},
		{"zero lifetime", notify.Config{NotificationURL: "https://a.example/h", MaxLifetime: map[notify.Kind]time.Duration{notify.KindEvents: 0}}, "Config.MaxLifetime"},
	}
	for _, tc := range tests {
		if _, err := notify.NewManager(gc, tc.cfg); !errors.Is(err, notify.ErrInvalidInput) || !strings.Contains(err.Error(), tc.input) {
			t.Errorf("%s: %v, want ErrInvalidInput naming %s", tc.name, err, tc.input)
		}
	}
	if _, err := notify.NewManager(nil, notify.Config{NotificationURL: "https://a.example/h"}); !errors.Is(err, notify.ErrInvalidInput) {
		t.Errorf("nil client: %v", err)
	}
}

func TestKindOfAndFolderOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		resource string
		kind     notify.Kind
		folder   string
	}{
		{"me/events", notify.KindEvents, ""},
		{"/users/8ee44408/events", notify.KindEvents, ""},
		{"me/messages", notify.KindMessages, ""},
		{"me/mailFolders('Inbox')/messages", notify.KindMessages, "Inbox"},
		{"me/mailfolders('inbox')/messages", notify.KindMessages, "inbox"},
		{"/me/mailFolders/AAMkAGI2=/messages", notify.KindMessages, "AAMkAGI2="},
		{"chats/19%3Aabc%40thread.v2/messages", notify.KindChatMessages, ""},
		{"me/chats/getAllMessages", notify.KindChatMessages, ""},
		{"me/contacts", "", ""},
		{"me/events/extra", "", ""},
	}
	for _, tc := range tests {
		kind, ok := notify.KindOf(tc.resource)
		if kind != tc.kind || ok != (tc.kind != "") {
			t.Errorf("KindOf(%q) = %q, %v", tc.resource, kind, ok)
		}
		folder, ok := notify.FolderOf(tc.resource)
		if folder != tc.folder || ok != (tc.folder != "") {
			t.Errorf("FolderOf(%q) = %q, %v", tc.resource, folder, ok)
		}
	}
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
	if _, err := newManager(t, gc, notify.Config{}).Create(t.Context(), notify.MailFolder("Inbox")); err != nil {
		t.Fatal(err)
	}
	if got := reqs(); len(got) != 1 || strings.Count(got[0].Prefer, "IdType") != 1 {
		t.Errorf("requests %+v, want one with a single IdType preference", got)
	}
}
