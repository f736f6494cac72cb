package graphtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// webhook is a notification endpoint that answers the validation
// handshake and records every notification it receives.
type webhook struct {
	*httptest.Server
	mu       sync.Mutex
	received []map[string]any
	// echoEncoded makes the validation answer the still-encoded token,
	// the mistake Graph refuses.
	echoEncoded bool
}

func newWebhook(t *testing.T, srv *Server) *webhook {
	t.Helper()
	wh := &webhook{}
	wh.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("validationToken") {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			tok := r.URL.Query().Get("validationToken")
			if wh.echoEncoded {
				tok = strings.TrimPrefix(r.URL.RawQuery, "validationToken=")
			}
			_, _ = io.WriteString(w, tok)
			return
		}
		var body struct {
			Value []map[string]any `json:"value"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		wh.mu.Lock()
		wh.received = append(wh.received, body.Value...)
		wh.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(wh.Close)
	srv.SetNotificationClient(wh.Client())
	return wh
}

// got returns "changeType resource" (or the lifecycle event) of every
// notification received, and empties the list.
func (wh *webhook) got() []string {
	wh.mu.Lock()
	defer wh.mu.Unlock()
	var out []string
	for _, n := range wh.received {
		if ev, ok := n["lifecycleEvent"]; ok {
			out = append(out, fmt.Sprint(ev))
			continue
		}
		out = append(out, fmt.Sprint(n["changeType"], " ", n["resource"]))
	}
	wh.received = nil
	return out
}

func subscribeBody(resource, url string, exp time.Time) string {
	b, _ := json.Marshal(map[string]any{
		"changeType":               "created,updated,deleted",
		"notificationUrl":          url,
		"lifecycleNotificationUrl": url,
		"resource":                 resource,
		"expirationDateTime":       exp.Format(time.RFC3339Nano),
		"clientState":              "secret-123",
	})
	return string(b)
}

func TestSubscriptionNotifiesEventChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	wh := newWebhook(t, f.srv)
	tok := f.srv.IssueToken(f.adele, "app", "Calendars.Read")
	r := do(t, f.srv, graphCall{method: "POST", url: "subscriptions", token: tok,
		body:    subscribeBody("me/events", wh.URL+"/hook?tenant=contoso", testNow.Add(24*time.Hour)),
		headers: map[string]string{"Prefer": `IdType="ImmutableId"`}})
	wantStatus(t, r, http.StatusCreated)
	sub := r.json(t)
	id := sub["id"].(string)
	if sub["clientState"] != "secret-123" || sub["expirationDateTime"] != "2026-11-26T09:00:00.0000000Z" {
		t.Errorf("created subscription = %v", sub)
	}
	if got := f.srv.Subscriptions(); len(got) != 1 || !got[0].ImmutableIDs {
		t.Errorf("Subscriptions() = %+v, want one with ImmutableIDs", got)
	}

	ev := f.adele.AddEvent(Event{Subject: "Sync", Start: testNow.Add(time.Hour), End: testNow.Add(2 * time.Hour)})
	if err := f.adele.UpdateEvent(ev.ID, func(e *Event) { e.Start = e.Start.Add(time.Hour) }); err != nil {
		t.Fatal(err)
	}
	f.alex.AddEvent(Event{Subject: "not Adele's", Start: testNow, End: testNow.Add(time.Hour)})
	f.adele.AddMessage(Message{Subject: "mail is not an event"})
	if err := f.adele.DeleteEvent(ev.ID); err != nil {
		t.Fatal(err)
	}
	res := "Users/" + f.adele.ID + "/Events/" + ev.ID
	want := []string{"created " + res, "updated " + res, "deleted " + res}
	if diff := cmp.Diff(want, wh.got()); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
	for _, d := range f.srv.Deliveries() {
		if d.Kind == "notification" && (d.SubscriptionID != id || d.Status != http.StatusAccepted || !strings.Contains(d.URL, "?tenant=contoso")) {
			t.Errorf("delivery = %+v", d)
		}
	}
}

func TestSubscriptionMessageFolders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	wh := newWebhook(t, f.srv)
	tok := f.srv.IssueToken(f.adele, "app", "Mail.ReadBasic")
	for _, res := range []string{"me/mailFolders('inbox')/messages", "me/messages"} {
		wantStatus(t, do(t, f.srv, graphCall{method: "POST", url: "subscriptions", token: tok,
			body: subscribeBody(res, wh.URL, testNow.Add(time.Hour))}), http.StatusCreated)
	}
	m := f.adele.AddMessage(Message{Subject: "hello"})
	if err := f.adele.MoveMessage(m.ID, "archive"); err != nil {
		t.Fatal(err)
	}
	res := "Users/" + f.adele.ID + "/Messages/" + m.ID
	// Each subscription gets its own POST; both see the creation, the
	// inbox one sees the move as a deletion, me/messages as an update.
	got := wh.got()
	want := map[string]int{"created " + res: 2, "deleted " + res: 1, "updated " + res: 1}
	count := map[string]int{}
	for _, g := range got {
		count[g]++
	}
	if diff := cmp.Diff(want, count); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
}

func TestSubscriptionRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	wh := newWebhook(t, f.srv)
	bad := &webhook{echoEncoded: true}
	bad.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, strings.TrimPrefix(r.URL.RawQuery, "validationToken="))
	}))
	defer bad.Close()
	cases := []struct {
		name   string
		scopes []string
		body   string
		status int
		msg    string
	}{
		{"missing read scope", []string{"User.Read"}, subscribeBody("me/events", wh.URL, testNow.Add(time.Hour)), 403, "Calendars.Read"},
		{"write-only mail scope", []string{"Mail.Send"}, subscribeBody("me/messages", wh.URL, testNow.Add(time.Hour)), 403, "Mail.ReadBasic"},
		{"beyond maximum", []string{"Calendars.Read"}, subscribeBody("me/events", wh.URL, testNow.Add(4231*time.Minute)), 400, "4230 minutes"},
		{"past", []string{"Calendars.Read"}, subscribeBody("me/events", wh.URL, testNow.Add(-time.Minute)), 400, "in the future"},
		{"http endpoint", []string{"Calendars.Read"}, subscribeBody("me/events", "http://example.com/hook", testNow.Add(time.Hour)), 400, "HTTPS"},
		{"encoded token echoed", []string{"Calendars.Read"}, subscribeBody("me/events", bad.URL, testNow.Add(time.Hour)), 400, "validation request failed"},
		{"unknown folder", []string{"Mail.Read"}, subscribeBody("me/mailFolders('nope')/messages", wh.URL, testNow.Add(time.Hour)), 404, "folder"},
		{"other user", []string{"Calendars.Read"}, subscribeBody("users/alex@contoso.com/events", wh.URL, testNow.Add(time.Hour)), 403, "denied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := f.srv.IssueToken(f.adele, "app", tc.scopes...)
			r := do(t, f.srv, graphCall{method: "POST", url: "subscriptions", token: tok, body: tc.body})
			if r.status != tc.status || !strings.Contains(string(r.body), tc.msg) {
				t.Errorf("status %d body %s; want %d with %q", r.status, r.body, tc.status, tc.msg)
			}
		})
	}
	if got := f.srv.Subscriptions(); len(got) != 0 {
		t.Errorf("refused requests created %d subscriptions", len(got))
	}
}

func TestSubscriptionRenewExpireLifecycle(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := testNow
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	srv := New(t, WithClock(clock), WithSubscriptionLifetime(EventSubscriptions, 2*time.Hour))
	adele := srv.AddTenant("contoso.com").AddUser("adele@contoso.com", "Adele Vance")
	wh := newWebhook(t, srv)
	tok := srv.IssueToken(adele, "app", "Calendars.Read")
	r := do(t, srv, graphCall{method: "POST", url: "subscriptions", token: tok, body: subscribeBody("me/events", wh.URL, now.Add(2*time.Hour))})
	wantStatus(t, r, http.StatusCreated)
	id := r.json(t)["id"].(string)

	r = do(t, srv, graphCall{method: "PATCH", url: "subscriptions/" + id, token: tok, body: `{"expirationDateTime":"` + now.Add(3*time.Hour).Format(time.RFC3339) + `"}`})
	wantStatus(t, r, http.StatusBadRequest)
	r = do(t, srv, graphCall{method: "PATCH", url: "subscriptions/" + id, token: tok, body: `{"expirationDateTime":"` + now.Add(90*time.Minute).Format(time.RFC3339) + `"}`})
	wantStatus(t, r, http.StatusOK)
	wantStatus(t, do(t, srv, graphCall{url: "subscriptions/" + id, token: srv.IssueToken(adele, "other-app", "Calendars.Read")}), http.StatusNotFound)
	if got := do(t, srv, graphCall{url: "subscriptions", token: tok}).values(t); len(got) != 1 {
		t.Fatalf("list = %v", got)
	}

	// reauthorizationRequired pauses notifications until reauthorized.
	if err := srv.SendLifecycle(id, lifecycleReauthorizationRequired); err != nil {
		t.Fatal(err)
	}
	adele.AddEvent(Event{Subject: "lost", Start: now, End: now.Add(time.Hour)})
	wantStatus(t, do(t, srv, graphCall{method: "POST", url: "subscriptions/" + id + "/reauthorize", token: tok}), http.StatusNoContent)
	adele.AddEvent(Event{Subject: "seen", Start: now, End: now.Add(time.Hour)})
	if err := srv.SendLifecycle(id, lifecycleMissed); err != nil {
		t.Fatal(err)
	}
	if got := wh.got(); len(got) != 3 || got[0] != lifecycleReauthorizationRequired || !strings.HasPrefix(got[1], "created ") || got[2] != lifecycleMissed {
		t.Errorf("received %q", got)
	}

	// Past its expiration the subscription stops notifying and is gone.
	advance(91 * time.Minute)
	adele.AddEvent(Event{Subject: "after expiry", Start: now, End: now.Add(time.Hour)})
	if got := wh.got(); len(got) != 0 {
		t.Errorf("expired subscription notified: %q", got)
	}
	tok = srv.IssueToken(adele, "app", "Calendars.Read")
	wantStatus(t, do(t, srv, graphCall{method: "PATCH", url: "subscriptions/" + id, token: tok, body: `{"expirationDateTime":"` + clock().Add(time.Hour).Format(time.RFC3339) + `"}`}), http.StatusNotFound)

	// subscriptionRemoved deletes it.
	r = do(t, srv, graphCall{method: "POST", url: "subscriptions", token: tok, body: subscribeBody("me/events", wh.URL, clock().Add(time.Hour))})
	wantStatus(t, r, http.StatusCreated)
	id2 := r.json(t)["id"].(string)
	if err := srv.SendLifecycle(id2, lifecycleSubscriptionRemoved); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, do(t, srv, graphCall{method: "DELETE", url: "subscriptions/" + id2, token: tok}), http.StatusNotFound)
	if err := srv.SendLifecycle(id2, "bogus"); err == nil {
		t.Error("SendLifecycle accepted an unknown event")
	}
}

func TestSubscriptionChatMessages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	wh := newWebhook(t, f.srv)
	carol := f.tenant.AddUser("carol@contoso.com", "Carol")
	chat := f.tenant.AddChat("group", "Deal room", f.adele, f.alex)
	res := "chats/" + chat.ID + "/messages"
	noLifecycle := func(exp time.Time) string {
		b, _ := json.Marshal(map[string]any{"changeType": "created", "notificationUrl": wh.URL, "resource": res,
			"expirationDateTime": exp.Format(time.RFC3339), "clientState": "s"})
		return string(b)
	}
	cases := []struct {
		name   string
		user   *User
		scopes []string
		body   string
		status int
	}{
		{"member with Chat.Read", f.adele, []string{"Chat.Read"}, subscribeBody(res, wh.URL, testNow.Add(72*time.Hour)), http.StatusCreated},
		{"beyond 4,320 minutes", f.adele, []string{"Chat.Read"}, subscribeBody(res, wh.URL, testNow.Add(4321*time.Minute)), http.StatusBadRequest},
		{"over an hour without lifecycle URL", f.adele, []string{"Chat.Read"}, noLifecycle(testNow.Add(2 * time.Hour)), http.StatusBadRequest},
		{"an hour without lifecycle URL", f.adele, []string{"Chat.Read"}, noLifecycle(testNow.Add(time.Hour)), http.StatusCreated},
		{"send-only scope", f.adele, []string{"ChatMessage.Send"}, subscribeBody(res, wh.URL, testNow.Add(time.Hour)), http.StatusForbidden},
		{"not a member", carol, []string{"Chat.Read"}, subscribeBody(res, wh.URL, testNow.Add(time.Hour)), http.StatusNotFound},
		{"all my chats", f.alex, []string{"Chat.Read"}, subscribeBody("me/chats/getAllMessages", wh.URL, testNow.Add(time.Hour)), http.StatusCreated},
	}
	for _, tc := range cases {
		tok := f.srv.IssueToken(tc.user, "app", tc.scopes...)
		r := do(t, f.srv, graphCall{method: "POST", url: "subscriptions", token: tok, body: tc.body})
		if r.status != tc.status {
			t.Errorf("%s: status %d, want %d; body %s", tc.name, r.status, tc.status, r.body)
		}
	}
}

// TestSubscriptionChatMessageNotifications: a message posted to a chat,
// through Graph or Chat.Post, notifies the subscriptions on that chat and
// the getAllMessages subscriptions of its members, in Graph's shape.
func TestSubscriptionChatMessageNotifications(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	wh := newWebhook(t, f.srv)
	carol := f.tenant.AddUser("carol@contoso.com", "Carol")
	deal := f.tenant.AddChat("group", "Deal room", f.adele, f.alex)
	other := f.tenant.AddChat("oneOnOne", "", f.alex, carol)
	subscribe := func(u *User, resource string) string {
		t.Helper()
		tok := f.srv.IssueToken(u, "app", "Chat.Read")
		r := do(t, f.srv, graphCall{method: "POST", url: "subscriptions", token: tok, body: subscribeBody(resource, wh.URL, testNow.Add(time.Hour))})
		wantStatus(t, r, http.StatusCreated)
		return r.json(t)["id"].(string)
	}
	adeleSub := subscribe(f.adele, "chats/"+deal.ID+"/messages")
	alexSub := subscribe(f.alex, "me/chats/getAllMessages")
	carolSub := subscribe(carol, "chats/"+other.ID+"/messages")

	// Adele posts to the deal room through Graph; Carol writes to Alex.
	tok := f.srv.IssueToken(f.adele, "app", "ChatMessage.Send")
	r := do(t, f.srv, graphCall{method: "POST", url: "chats/" + deal.ID + "/messages", token: tok, body: `{"body":{"content":"clip ready"}}`})
	wantStatus(t, r, http.StatusCreated)
	posted := r.json(t)["id"].(string)
	written := other.Post(carol, "<p>call me</p>")
	if got := other.Messages(); len(got) != 1 || got[0].ID != written.ID || got[0].From != carol {
		t.Errorf("other.Messages() = %+v", got)
	}

	dealRes := "chats('" + deal.ID + "')/messages('" + posted + "')"
	otherRes := "chats('" + other.ID + "')/messages('" + written.ID + "')"
	bySub := map[string][]string{}
	for _, d := range f.srv.Deliveries() {
		if d.Kind == "notification" {
			bySub[d.SubscriptionID] = append(bySub[d.SubscriptionID], d.Events...)
		}
	}
	if diff := cmp.Diff(map[string][]string{adeleSub: {"created"}, alexSub: {"created", "created"}, carolSub: {"created"}}, bySub); diff != "" {
		t.Errorf("notifications per subscription (-want +got):\n%s", diff)
	}
	wh.mu.Lock()
	defer wh.mu.Unlock()
	var resources []string
	for _, n := range wh.received {
		rd, _ := n["resourceData"].(map[string]any)
		if rd["@odata.type"] != "#Microsoft.Graph.chatMessage" || rd["@odata.id"] != n["resource"] || n["clientState"] != "secret-123" || n["tenantId"] != f.adele.TenantID {
			t.Errorf("notification = %v", n)
		}
		if id := rd["id"]; id != posted && id != written.ID {
			t.Errorf("resourceData.id = %v, want a posted message's", id)
		}
		resources = append(resources, n["resource"].(string))
	}
	slices.Sort(resources)
	want := []string{dealRes, dealRes, otherRes, otherRes}
	slices.Sort(want)
	if diff := cmp.Diff(want, resources); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
}
