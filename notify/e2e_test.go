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

// e2eNow anchors the events the tests add and the calendar window.
var e2eNow = time.Now().UTC().Truncate(time.Hour)

// manualSyncer is the Router's Syncer in these tests: it records the keys
// asked for, and runs one sync per distinct key when the test fires it,
// as a Debouncer would when its timer fires.
type manualSyncer struct {
	mu       sync.Mutex
	pending  []notify.Key
	requests int
}

func (s *manualSyncer) Sync(_ context.Context, k notify.Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if !slices.Contains(s.pending, k) {
		s.pending = append(s.pending, k)
	}
	return nil
}

// take returns the pending keys and forgets them.
func (s *manualSyncer) take() []notify.Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	ks := s.pending
	s.pending = nil
	return ks
}

func (s *manualSyncer) asked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// hookStore is a MemoryStore that runs beforeFinalSave (once) when a
// registration with a subscription ID is saved: between Graph's answer to
// Create and the Registration's final save.
type hookStore struct {
	*notify.MemoryStore
	mu              sync.Mutex
	beforeFinalSave func()
}

func (s *hookStore) Save(ctx context.Context, reg notify.Registration) error {
	s.mu.Lock()
	f := s.beforeFinalSave
	if reg.Subscription.ID != "" {
		s.beforeFinalSave = nil
	}
	s.mu.Unlock()
	if f != nil && reg.Subscription.ID != "" {
		f()
	}
	return s.MemoryStore.Save(ctx, reg)
}

// world is a notetaker backend wired to a fake Microsoft 365: the
// webhook Handler (delivering before it answers, as a durable intake
// does) behind a TLS server, the Router, a Syncer the test fires, and the
// synced state of one user.
type world struct {
	srv     *graphtest.Server
	tenant  *graphtest.Tenant
	adele   *graphtest.User
	gc      *graphclient.Client
	store   *hookStore
	manager *notify.Manager
	syncer  *manualSyncer
	webhook *httptest.Server
	hookURL string

	processed chan notify.ChangeNotification // every notification the Router handled

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
	w := &world{
		srv:       graphtest.New(t),
		store:     &hookStore{MemoryStore: &notify.MemoryStore{}},
		syncer:    &manualSyncer{},
		processed: make(chan notify.ChangeNotification, 1000),
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
	// The Manager exists before the webhook server: Create takes the URL.
	w.manager, err = notify.NewManager(gc, notify.Config{Store: w.store, Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	rt := &notify.Router{Sync: w.syncer, Manager: func(context.Context, string) (*notify.Manager, error) { return w.manager, nil }}
	h, err := notify.NewHandler(notify.HandlerConfig{
		Store: w.store,
		Deliver: func(ctx context.Context, batch []notify.ChangeNotification) error {
			err := rt.Deliver(ctx, batch)
			if err != nil {
				t.Errorf("Router.Deliver(%+v): %v", batch, err)
			}
			for _, n := range batch {
				w.processed <- n
			}
			return err
		},
		OnReject: func(_ *http.Request, err error) {
			w.mu.Lock()
			w.rejected = append(w.rejected, err)
			w.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/graph/notify", h)
	w.webhook = httptest.NewTLSServer(mux)
	t.Cleanup(w.webhook.Close)
	w.hookURL = w.webhook.URL + "/graph/notify"
	w.srv.SetNotificationClient(w.webhook.Client())
	return w
}

// sync is the delta sync of one key, applied to the synced state.
func (w *world) sync(ctx context.Context, k notify.Key) error {
	if err := w.syncOnce(ctx, k); err != nil {
		return err
	}
	w.mu.Lock()
	w.syncs[k]++
	w.mu.Unlock()
	return nil
}

func (w *world) syncOnce(ctx context.Context, k notify.Key) error {
	w.mu.Lock()
	cursor := w.cursors[k]
	w.mu.Unlock()
	switch {
	case k.Resource == notify.Events().Resource:
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
	case k.Resource == notify.MailFolder("inbox").Resource:
		for page, err := range mail.New(w.gc).Sync(ctx, mail.SyncRequest{Folder: "inbox", Cursor: cursor}) {
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

// subscribe creates a subscription and its Registration.
func (w *world) subscribe(t *testing.T, target notify.Target) notify.Registration {
	t.Helper()
	reg, err := w.manager.Create(t.Context(), w.hookURL, target)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// waitProcessed returns the next n notifications the Router handled.
func (w *world) waitProcessed(t *testing.T, n int) []notify.ChangeNotification {
	t.Helper()
	var out []notify.ChangeNotification
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

// fire runs the syncs the Router asked for since the last fire, one per
// key, and returns how many ran.
func (w *world) fire(t *testing.T) int {
	t.Helper()
	keys := w.syncer.take()
	for _, k := range keys {
		if err := w.sync(t.Context(), k); err != nil {
			t.Fatalf("sync %v: %v", k, err)
		}
	}
	return len(keys)
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
		t.Fatal("state changed before the sync ran")
	}
	if w.fire(t) != 1 {
		t.Fatal("the notification asked for no sync")
	}
	if got := w.event(ev.ID).Start.Time; !got.Equal(moved) {
		t.Errorf("synced start = %v, want %v", got, moved)
	}
}

// TestE2ENotificationDuringCreateIsDelivered: Graph may notify between its
// answer to POST /subscriptions and the moment the caller stores the
// subscription. The Registration was stored, pending, before the POST, so
// that notification is verified and delivered, not dropped.
func TestE2ENotificationDuringCreateIsDelivered(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ev := w.adele.AddEvent(graphtest.Event{Subject: "Kickoff", Start: e2eNow.Add(time.Hour), End: e2eNow.Add(2 * time.Hour)})
	w.store.mu.Lock()
	w.store.beforeFinalSave = func() { // Graph has answered; the final save has not happened
		if err := w.adele.UpdateEvent(ev.ID, func(e *graphtest.Event) { e.Subject = "Kickoff (moved)" }); err != nil {
			t.Error(err)
		}
	}
	w.store.mu.Unlock()
	reg := w.subscribe(t, notify.Events())
	var n notify.ChangeNotification
	select { // graphtest has delivered by the time Create returns
	case n = <-w.processed:
	default:
		t.Fatal("the notification sent during Create was not delivered")
	}
	if n.SubscriptionID != reg.Subscription.ID || n.RegistrationID != reg.ID || n.Owner != owner || n.ChangeType != "updated" {
		t.Errorf("notification = %+v, want the update for %s", n, reg.Subscription.ID)
	}
	w.mu.Lock()
	rejected := w.rejected
	w.mu.Unlock()
	if len(rejected) != 0 {
		t.Errorf("rejected: %v", rejected)
	}
	if d := w.srv.Deliveries(); len(d) == 0 || d[len(d)-1].Kind != "notification" || d[len(d)-1].Status != http.StatusAccepted {
		t.Errorf("Graph's deliveries: %+v", d)
	}
}

func TestE2EForgedNotificationRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ev := w.adele.AddEvent(graphtest.Event{Subject: "Standup", Start: e2eNow.Add(time.Hour), End: e2eNow.Add(2 * time.Hour)})
	reg := w.subscribe(t, notify.Events())
	sub := reg.Subscription

	forge := func(body string) string {
		resp, err := w.webhook.Client().Post(w.hookURL, "application/json", strings.NewReader(body))
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
		forge(forged(sub.ID, reg.ID+".guessed-client-state")),
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
	// Nothing forged was delivered: the genuine change is the first.
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
	if got := w.syncer.asked(); got != 100 {
		t.Errorf("100 notifications asked for %d syncs, want 100", got)
	}
	if got := w.fire(t); got != 1 {
		t.Errorf("%d syncs ran, want 1", got)
	}
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
	reg := w.subscribe(t, notify.Events())
	if err := w.srv.SendLifecycle(reg.Subscription.ID, notify.Missed); err != nil {
		t.Fatal(err)
	}
	if n := w.waitProcessed(t, 1)[0]; n.LifecycleEvent != notify.Missed || !n.IsLifecycle() {
		t.Errorf("notification = %+v", n)
	}
	w.fire(t)
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
	if err := w.srv.SendLifecycle(old.Subscription.ID, notify.SubscriptionRemoved); err != nil {
		t.Fatal(err)
	}
	w.waitProcessed(t, 1)
	subs := w.srv.Subscriptions()
	if len(subs) != 1 || subs[0].ID == old.Subscription.ID || subs[0].Resource != "me/events" || !subs[0].ImmutableIDs || subs[0].LifecycleNotificationURL != w.hookURL {
		t.Fatalf("Graph's subscriptions after recreation: %+v", subs)
	}
	regs := w.store.List(owner)
	if len(regs) != 1 || regs[0].Subscription.ID != subs[0].ID || regs[0].ID == old.ID || regs[0].Subscription.ClientState == old.Subscription.ClientState {
		t.Fatalf("stored registrations: %+v", regs)
	}
	if w.fire(t) != 1 { // the resync after recreation
		t.Error("the recreation asked for no resync")
	}

	// The new subscription delivers, and its clientState verifies.
	if err := w.adele.UpdateEvent(ev.ID, func(e *graphtest.Event) { e.Subject = "1:1 (agenda)" }); err != nil {
		t.Fatal(err)
	}
	if n := w.waitProcessed(t, 1)[0]; n.SubscriptionID != subs[0].ID {
		t.Errorf("notification from %s, want the new subscription %s", n.SubscriptionID, subs[0].ID)
	}
	w.fire(t)
	if got := w.event(ev.ID).Subject; got != "1:1 (agenda)" {
		t.Errorf("synced subject %q", got)
	}
}

func TestE2EReauthorizationRequiredRenews(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	reg := w.subscribe(t, notify.Events())
	if err := w.srv.SendLifecycle(reg.Subscription.ID, notify.ReauthorizationRequired); err != nil {
		t.Fatal(err)
	}
	w.waitProcessed(t, 1)
	got := w.srv.Subscriptions()
	if len(got) != 1 || got[0].ID != reg.Subscription.ID || got[0].Renewed != 1 || got[0].NeedsReauthorization {
		t.Errorf("after reauthorizationRequired: %+v", got)
	}
	if stored, err := w.store.Load(t.Context(), reg.ID); err != nil || !stored.Subscription.ExpirationDateTime.Equal(got[0].Expiration) {
		t.Errorf("stored registration %+v, %v; want Graph's new expiration %v", stored, err, got[0].Expiration)
	}
	if w.syncer.asked() != 0 {
		t.Error("a reauthorization asked for a sync")
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
	w.fire(t)
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
	w.srv.RemoveSubscription(gone.Subscription.ID)
	renewals := w.manager.RenewDue(t.Context(), []notify.Registration{kept, gone}, 100*time.Hour)
	if len(renewals) != 2 || renewals[0].Err != nil || renewals[0].Recreated || renewals[1].Err != nil || !renewals[1].Recreated {
		t.Fatalf("renewals = %+v", renewals)
	}
	subs := w.srv.Subscriptions()
	if len(subs) != 2 {
		t.Fatalf("Graph has %d subscriptions, want 2", len(subs))
	}
	for _, s := range subs {
		if s.ID == kept.Subscription.ID && s.Renewed != 1 {
			t.Errorf("kept subscription renewed %d times", s.Renewed)
		}
		if s.ID != kept.Subscription.ID && (s.ID != renewals[1].New.Subscription.ID || s.Resource != gone.Subscription.Resource) {
			t.Errorf("recreated subscription %+v", s)
		}
	}
	var stored []string
	for _, r := range w.store.List(owner) {
		stored = append(stored, r.Subscription.ID)
	}
	if len(stored) != 2 || !slices.Contains(stored, kept.Subscription.ID) || !slices.Contains(stored, renewals[1].New.Subscription.ID) {
		t.Errorf("stored subscriptions %v", stored)
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
		if s.ExpirationDateTime.Location() != time.UTC || s.NotificationURL != w.hookURL {
			t.Errorf("listed %+v", s)
		}
		ids = append(ids, s.ID)
	}
	if len(ids) != 2 || !slices.Contains(ids, a.Subscription.ID) || !slices.Contains(ids, b.Subscription.ID) {
		t.Errorf("List = %v, want %s and %s", ids, a.Subscription.ID, b.Subscription.ID)
	}
	got, err := w.manager.Get(t.Context(), b.Subscription.ID)
	if err != nil || got.Resource != "me/mailFolders('sentitems')/messages" || got.LifecycleNotificationURL == "" {
		t.Errorf("Get = %+v, %v", got, err)
	}
	if err := w.manager.Delete(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	if _, err := w.manager.Get(t.Context(), a.Subscription.ID); !errors.Is(err, graphclient.ErrNotFound) {
		t.Errorf("Get after Delete = %v, want ErrNotFound", err)
	}
	if regs := w.store.List(owner); len(regs) != 1 || regs[0].ID != b.ID {
		t.Errorf("stored after Delete: %+v", regs)
	}
}

// TestE2EChatMessageNotification: a message another member writes in a
// watched chat reaches the Router as a verified "created" notification
// naming the message; one in a chat that is not watched does not.
func TestE2EChatMessageNotification(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	alex := w.tenant.AddUser("alex@contoso.com", "Alex Wilber")
	watched := w.tenant.AddChat("oneOnOne", "", w.adele, alex)
	other := w.tenant.AddChat("group", "not watched", w.adele, alex)
	reg := w.subscribe(t, notify.ChatMessages(watched.ID))
	other.Post(alex, "<p>lunch?</p>")
	m := watched.Post(alex, "<p>is the recording ready?</p>")
	n := w.waitProcessed(t, 1)[0]
	if n.SubscriptionID != reg.Subscription.ID || n.ChangeType != "created" || n.ResourceData == nil || n.ResourceData.ID != m.ID || n.Owner != owner {
		t.Errorf("notification = %+v", n)
	}
	select {
	case extra := <-w.processed:
		t.Errorf("a second notification: %+v", extra)
	default:
	}
}
