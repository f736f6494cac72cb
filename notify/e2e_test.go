package notify_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365kit/m365kit/calendar"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/mail"
	"github.com/m365kit/m365kit/notify"
	"github.com/m365kit/m365kit/scopes"
)

// e2eNow is the fixed clock of graphtest and the Manager.
var e2eNow = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// manualClock is a notify.Clock whose timers fire when the test says.
type manualClock struct {
	mu      sync.Mutex
	pending []func()
	started int // AfterFunc calls so far
}

func (c *manualClock) AfterFunc(_ time.Duration, f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = append(c.pending, f)
	c.started++
}

// fire runs every pending timer and returns how many there were.
func (c *manualClock) fire() int {
	c.mu.Lock()
	fs := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, f := range fs {
		f()
	}
	return len(fs)
}

func (c *manualClock) timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started
}

// world is a notetaker backend wired to a fake Microsoft 365: the
// webhook Handler behind a TLS server, the Router, a Debouncer whose
// timers the test fires, and the synced state of one user.
type world struct {
	srv     *graphtest.Server
	tenant  *graphtest.Tenant
	adele   *graphtest.User
	gc      *graphclient.Client
	store   *notify.MemoryStore
	manager *notify.Manager
	clock   *manualClock
	webhook *httptest.Server

	processed chan notify.Notification // every notification the callback handled
	synced    chan notify.Key          // every debounced sync that finished

	mu       sync.Mutex
	cursors  map[notify.Key]string
	events   map[string]calendar.Event
	messages map[string]string // message ID -> subject
	syncs    map[notify.Key]int
	rejected []error
}

const owner = "adele-account"

func newWorld(t *testing.T) *world {
	t.Helper()
	fixed := func() time.Time { return e2eNow }
	w := &world{
		srv:       graphtest.New(t, graphtest.WithClock(fixed)),
		store:     &notify.MemoryStore{},
		clock:     &manualClock{},
		processed: make(chan notify.Notification, 1000),
		synced:    make(chan notify.Key, 100),
		cursors:   map[notify.Key]string{},
		events:    map[string]calendar.Event{},
		messages:  map[string]string{},
		syncs:     map[notify.Key]int{},
	}
	w.tenant = w.srv.AddTenant("contoso.com")
	w.adele = w.tenant.AddUser("adele@contoso.com", "Adele Vance")
	// The scopes the SDK asks for: Calendars.ReadWrite covers the event
	// subscriptions, Mail.Read the mail ones, Chat.Read (the opt-in
	// ChatMessages feature) the chat ones.
	tok := w.srv.IssueToken(w.adele, "notetaker-app", scopes.For(scopes.Calendar, scopes.Mail, scopes.ChatMessages)...)
	gc, err := graphclient.New(graphclient.StaticToken(tok), graphclient.WithHTTPClient(w.srv.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	w.gc = gc

	deb, err := notify.NewDebouncer(30*time.Second, w.sync, notify.WithClock(w.clock),
		notify.WithSyncError(func(k notify.Key, err error) { t.Errorf("sync %v: %v", k, err) }))
	if err != nil {
		t.Fatal(err)
	}
	rt := &notify.Router{Sync: deb, Store: w.store, Manager: func(context.Context, string) (*notify.Manager, error) { return w.manager, nil }}
	h, err := notify.NewHandler(w.store, func(ctx context.Context, n notify.Notification) error {
		err := rt.Process(ctx, n)
		if err != nil {
			t.Errorf("Router.Process(%+v): %v", n, err)
		}
		w.processed <- n
		return err
	}, notify.WithWorkers(1), notify.WithOnReject(func(_ *http.Request, err error) {
		w.mu.Lock()
		w.rejected = append(w.rejected, err)
		w.mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/graph/notify", h)
	w.webhook = httptest.NewTLSServer(mux)
	t.Cleanup(w.webhook.Close)
	w.srv.SetNotificationClient(w.webhook.Client())
	w.manager, err = notify.NewManager(gc, notify.Config{NotificationURL: w.webhook.URL + "/graph/notify", Now: fixed})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = h.Run(ctx) })
	wg.Go(func() { _ = deb.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return w
}

// sync is the SyncFunc: calendar or mail delta sync from the stored
// cursor, applied to the synced state.
func (w *world) sync(ctx context.Context, k notify.Key) error {
	if err := w.syncOnce(ctx, k); err != nil {
		return err
	}
	w.mu.Lock()
	w.syncs[k]++
	w.mu.Unlock()
	w.synced <- k
	return nil
}

func (w *world) syncOnce(ctx context.Context, k notify.Key) error {
	w.mu.Lock()
	cursor := w.cursors[k]
	w.mu.Unlock()
	kind, _ := notify.KindOf(k.Resource)
	switch kind {
	case notify.KindEvents:
		req := calendar.SyncRequest{Start: e2eNow.Add(-24 * time.Hour), End: e2eNow.Add(7 * 24 * time.Hour), Cursor: cursor}
		for page, err := range calendar.New(w.gc).Sync(ctx, req) {
			if err != nil {
				return err
			}
			w.mu.Lock()
			if page.Reset {
				clear(w.events)
			}
			for _, ev := range page.Events {
				w.events[ev.ID] = ev
			}
			for _, id := range page.Removed {
				delete(w.events, id)
			}
			w.cursors[k] = page.Cursor
			w.mu.Unlock()
		}
	case notify.KindMessages:
		folder, _ := notify.FolderOf(k.Resource)
		for page, err := range mail.New(w.gc).Sync(ctx, mail.SyncRequest{Folder: folder, Cursor: cursor}) {
			if err != nil {
				return err
			}
			w.mu.Lock()
			for _, m := range page.Messages {
				w.messages[m.ID] = m.Subject
			}
			for _, id := range page.Removed {
				delete(w.messages, id)
			}
			w.cursors[k] = page.Cursor
			w.mu.Unlock()
		}
	default:
		return fmt.Errorf("no sync for %q", k.Resource)
	}
	return nil
}

// subscribe creates a subscription and stores its Registration.
func (w *world) subscribe(t *testing.T, target notify.Target) notify.Subscription {
	t.Helper()
	sub, err := w.manager.Create(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.store.Save(t.Context(), notify.Registration{Owner: owner, Subscription: *sub}); err != nil {
		t.Fatal(err)
	}
	return *sub
}

// waitProcessed returns the next n notifications the callback handled.
func (w *world) waitProcessed(t *testing.T, n int) []notify.Notification {
	t.Helper()
	var out []notify.Notification
	for range n {
		select {
		case got := <-w.processed:
			out = append(out, got)
		case <-t.Context().Done():
			t.Fatal("test ended waiting for notifications")
		}
	}
	return out
}

// fireAndWait fires the debounce timers and waits for the syncs.
func (w *world) fireAndWait(t *testing.T) {
	t.Helper()
	for range w.clock.fire() {
		select {
		case <-w.synced:
		case <-t.Context().Done():
			t.Fatal("test ended waiting for a sync")
		}
	}
}

func (w *world) event(id string) calendar.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.events[id]
}

var eventsKey = notify.Key{Owner: owner, Resource: "me/events"}

func TestE2EMeetingMovedReachesSyncedState(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ev := w.adele.AddEvent(graphtest.Event{Subject: "Pipeline review", Start: e2eNow.Add(2 * time.Hour), End: e2eNow.Add(3 * time.Hour),
		OnlineMeetingProvider: "teamsForBusiness"})
	if err := w.syncOnce(t.Context(), eventsKey); err != nil { // the first full sync
		t.Fatal(err)
	}
	w.subscribe(t, notify.Events())

	moved := e2eNow.Add(26 * time.Hour)
	if err := w.adele.UpdateEvent(ev.ID, func(e *graphtest.Event) { e.Start, e.End = moved, moved.Add(time.Hour) }); err != nil {
		t.Fatal(err)
	}
	n := w.waitProcessed(t, 1)[0]
	if n.ChangeType != "updated" || n.ResourceData == nil || n.ResourceData.ID != ev.ID || n.Owner != owner || n.ClientState != "" {
		t.Errorf("notification = %+v", n)
	}
	if got := w.event(ev.ID).Start.Time; got.Equal(moved) {
		t.Fatal("state changed before the debounced sync ran")
	}
	w.fireAndWait(t)
	if got := w.event(ev.ID).Start.Time; !got.Equal(moved) {
		t.Errorf("synced start = %v, want %v", got, moved)
	}
}

func TestE2EForgedNotificationRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ev := w.adele.AddEvent(graphtest.Event{Subject: "Standup", Start: e2eNow.Add(time.Hour), End: e2eNow.Add(2 * time.Hour)})
	sub := w.subscribe(t, notify.Events())

	forge := func(body string) string {
		resp, err := w.webhook.Client().Post(w.webhook.URL+"/graph/notify", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %q", resp.StatusCode, b)
	}
	forged := func(id, state string) string {
		return fmt.Sprintf(`{"value":[{"subscriptionId":%q,"clientState":%q,"changeType":"deleted","resource":"Users/%s/Events/%s","tenantId":%q}]}`,
			id, state, w.adele.ID, ev.ID, w.adele.TenantID)
	}
	answers := []string{
		forge(forged(sub.ID, "guessed-client-state")),
		forge(forged("11111111-2222-3333-4444-555555555555", sub.ClientState)),
		forge(`{"value":[{"subscriptionId":`),
	}
	for i, a := range answers {
		if a != answers[0] || !strings.HasPrefix(a, "202 ") {
			t.Errorf("answer %d = %s, want the same 202 for every forgery (first: %s)", i, a, answers[0])
		}
	}
	w.mu.Lock()
	rejected := w.rejected
	w.mu.Unlock()
	if len(rejected) != 3 || !errors.Is(rejected[0], notify.ErrClientState) || !errors.Is(rejected[1], notify.ErrUnknownSubscription) || !errors.Is(rejected[2], notify.ErrMalformed) {
		t.Errorf("rejections = %v", rejected)
	}
	// A genuine change is the first thing the (single) worker handles:
	// nothing forged was queued before it.
	if err := w.adele.UpdateEvent(ev.ID, func(e *graphtest.Event) { e.Subject = "Standup (moved)" }); err != nil {
		t.Fatal(err)
	}
	if n := w.waitProcessed(t, 1)[0]; n.ChangeType != "updated" {
		t.Errorf("first processed = %+v, want the genuine update", n)
	}
}

func TestE2EBurstOfHundredCausesOneSync(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ev := w.adele.AddEvent(graphtest.Event{Subject: "v0", Start: e2eNow.Add(time.Hour), End: e2eNow.Add(2 * time.Hour)})
	if err := w.syncOnce(t.Context(), eventsKey); err != nil {
		t.Fatal(err)
	}
	w.subscribe(t, notify.Events())
	for i := 1; i <= 100; i++ {
		if err := w.adele.UpdateEvent(ev.ID, func(e *graphtest.Event) { e.Subject = fmt.Sprintf("v%d", i) }); err != nil {
			t.Fatal(err)
		}
	}
	w.waitProcessed(t, 100)
	if got := w.clock.timers(); got != 1 {
		t.Errorf("100 notifications started %d debounce timers, want 1", got)
	}
	w.fireAndWait(t)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.syncs[eventsKey] != 1 {
		t.Errorf("syncs = %d, want 1", w.syncs[eventsKey])
	}
	if got := w.events[ev.ID].Subject; got != "v100" {
		t.Errorf("synced subject %q, want v100", got)
	}
}

func TestE2EMissedTriggersResync(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if err := w.syncOnce(t.Context(), eventsKey); err != nil {
		t.Fatal(err)
	}
	// A change Graph never notified about.
	lost := w.adele.AddEvent(graphtest.Event{Subject: "Board meeting", Start: e2eNow.Add(5 * time.Hour), End: e2eNow.Add(6 * time.Hour)})
	sub := w.subscribe(t, notify.Events())
	if err := w.srv.SendLifecycle(sub.ID, notify.Missed); err != nil {
		t.Fatal(err)
	}
	if n := w.waitProcessed(t, 1)[0]; n.LifecycleEvent != notify.Missed || !n.IsLifecycle() {
		t.Errorf("notification = %+v", n)
	}
	w.fireAndWait(t)
	if got := w.event(lost.ID).Subject; got != "Board meeting" {
		t.Errorf("after the resync the missed event is %q", got)
	}
}

func TestE2ERemovedSubscriptionIsRecreated(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ev := w.adele.AddEvent(graphtest.Event{Subject: "1:1", Start: e2eNow.Add(time.Hour), End: e2eNow.Add(2 * time.Hour)})
	if err := w.syncOnce(t.Context(), eventsKey); err != nil {
		t.Fatal(err)
	}
	old := w.subscribe(t, notify.Events())
	if err := w.srv.SendLifecycle(old.ID, notify.SubscriptionRemoved); err != nil {
		t.Fatal(err)
	}
	w.waitProcessed(t, 1)
	subs := w.srv.Subscriptions()
	if len(subs) != 1 || subs[0].ID == old.ID || subs[0].Resource != "me/events" || !subs[0].ImmutableIDs || subs[0].LifecycleNotificationURL == "" {
		t.Fatalf("Graph's subscriptions after recreation: %+v", subs)
	}
	regs := w.store.List(owner)
	if len(regs) != 1 || regs[0].Subscription.ID != subs[0].ID || regs[0].Subscription.ClientState == old.ClientState {
		t.Fatalf("stored registrations: %+v", regs)
	}
	w.fireAndWait(t) // the resync after recreation

	// The new subscription delivers, and its clientState verifies.
	if err := w.adele.UpdateEvent(ev.ID, func(e *graphtest.Event) { e.Subject = "1:1 (agenda)" }); err != nil {
		t.Fatal(err)
	}
	if n := w.waitProcessed(t, 1)[0]; n.SubscriptionID != subs[0].ID {
		t.Errorf("notification from %s, want the new subscription %s", n.SubscriptionID, subs[0].ID)
	}
	w.fireAndWait(t)
	if got := w.event(ev.ID).Subject; got != "1:1 (agenda)" {
		t.Errorf("synced subject %q", got)
	}
}

func TestE2EReauthorizationRequiredRenews(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	sub := w.subscribe(t, notify.Events())
	if err := w.srv.SendLifecycle(sub.ID, notify.ReauthorizationRequired); err != nil {
		t.Fatal(err)
	}
	w.waitProcessed(t, 1)
	got := w.srv.Subscriptions()
	if len(got) != 1 || got[0].ID != sub.ID || got[0].Renewed != 1 || got[0].NeedsReauthorization {
		t.Errorf("after reauthorizationRequired: %+v", got)
	}
	if w.clock.timers() != 0 {
		t.Error("a reauthorization triggered a sync")
	}
}

func TestE2EMailFolderNotificationSyncsMail(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	inbox := notify.Key{Owner: owner, Resource: notify.MailFolder("inbox").Resource}
	if err := w.syncOnce(t.Context(), inbox); err != nil {
		t.Fatal(err)
	}
	w.subscribe(t, notify.MailFolder("inbox"))
	m := w.adele.AddMessage(graphtest.Message{Subject: "Renewal quote", From: graphtest.Address{Name: "Katie", Address: "katie@fabrikam.com"}})
	w.adele.AddMessage(graphtest.Message{Subject: "draft", Folder: "drafts", IsDraft: true}) // not in the watched folder
	if n := w.waitProcessed(t, 1)[0]; n.ChangeType != "created" || n.ResourceData.ID != m.ID {
		t.Errorf("notification = %+v", n)
	}
	w.fireAndWait(t)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.messages[m.ID] != "Renewal quote" || len(w.messages) != 1 {
		t.Errorf("synced inbox = %v", w.messages)
	}
}

func TestE2ERenewDueRecreatesGone(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	kept := w.subscribe(t, notify.Events())
	gone := w.subscribe(t, notify.MailFolder("inbox"))
	w.srv.RemoveSubscription(gone.ID)
	renewals := w.manager.RenewDue(t.Context(), []notify.Subscription{kept, gone}, 100*time.Hour)
	if len(renewals) != 2 || renewals[0].Err != nil || renewals[0].Recreated || renewals[1].Err != nil || !renewals[1].Recreated {
		t.Fatalf("renewals = %+v", renewals)
	}
	subs := w.srv.Subscriptions()
	if len(subs) != 2 {
		t.Fatalf("Graph has %d subscriptions, want 2", len(subs))
	}
	for _, s := range subs {
		if s.ID == kept.ID && s.Renewed != 1 {
			t.Errorf("kept subscription renewed %d times", s.Renewed)
		}
		if s.ID != kept.ID && (s.ID != renewals[1].New.ID || s.Resource != gone.Resource) {
			t.Errorf("recreated subscription %+v", s)
		}
	}
}

func TestE2EListAndGet(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := w.subscribe(t, notify.Events())
	b := w.subscribe(t, notify.MailFolder("sentitems"))
	var ids []string
	for s, err := range w.manager.List(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		if s.ExpirationDateTime.Location() != time.UTC || s.NotificationURL != w.webhook.URL+"/graph/notify" {
			t.Errorf("listed %+v", s)
		}
		ids = append(ids, s.ID)
	}
	if len(ids) != 2 || !slices.Contains(ids, a.ID) || !slices.Contains(ids, b.ID) {
		t.Errorf("List = %v, want %s and %s", ids, a.ID, b.ID)
	}
	got, err := w.manager.Get(t.Context(), b.ID)
	if err != nil || got.Resource != "me/mailFolders('sentitems')/messages" || got.LifecycleNotificationURL == "" {
		t.Errorf("Get = %+v, %v", got, err)
	}
	if err := w.manager.Delete(t.Context(), a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.manager.Get(t.Context(), a.ID); !errors.Is(err, notify.ErrNotFound) {
		t.Errorf("Get after Delete = %v, want ErrNotFound", err)
	}
}

// TestE2EChatMessageNotification: a message another member writes in a
// watched chat reaches the callback as a verified "created" notification
// naming the message; one in a chat that is not watched does not.
func TestE2EChatMessageNotification(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	alex := w.tenant.AddUser("alex@contoso.com", "Alex Wilber")
	watched := w.tenant.AddChat("oneOnOne", "", w.adele, alex)
	other := w.tenant.AddChat("group", "not watched", w.adele, alex)
	sub := w.subscribe(t, notify.ChatMessages(watched.ID))
	other.Post(alex, "<p>lunch?</p>")
	m := watched.Post(alex, "<p>is the recording ready?</p>")
	n := w.waitProcessed(t, 1)[0]
	if n.SubscriptionID != sub.ID || n.ChangeType != "created" || n.ResourceData == nil || n.ResourceData.ID != m.ID || n.Owner != owner {
		t.Errorf("notification = %+v", n)
	}
	select {
	case extra := <-w.processed:
		t.Errorf("a second notification: %+v", extra)
	default:
	}
}
