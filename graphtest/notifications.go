package graphtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// validationTimeout is how long Graph waits for the validation answer.
const validationTimeout = 10 * time.Second

// snapshot is the version of every item of a user when last compared.
type snapshot struct {
	rev      int64
	events   map[string]string // event ID -> change key
	messages map[string]msgVersion
}

type msgVersion struct {
	rev    int64
	folder string
}

// validate runs the validation handshake against target: POST with a
// validationToken query parameter, expecting 200, text/plain and the
// decoded token within 10 seconds.
func (s *Server) validate(ctx context.Context, target string) bool {
	token := "Validation: Testing client application reachability for subscription Request-Id: " + newID()
	u, err := url.Parse(target)
	if err != nil {
		return false
	}
	q := u.Query()
	q.Set("validationToken", token)
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), validationTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	d := Delivery{Kind: "validation", URL: target}
	resp, err := s.notificationClient().Do(req)
	if err != nil {
		d.Err = err.Error()
		s.record(d)
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	d.Status = resp.StatusCode
	s.record(d)
	ct := strings.ToLower(resp.Header.Get("Content-Type"))
	return resp.StatusCode == http.StatusOK && strings.HasPrefix(ct, "text/plain") && string(body) == token
}

func (s *Server) notificationClient() *http.Client {
	s.subs.mu.Lock()
	defer s.subs.mu.Unlock()
	if s.subs.client != nil {
		return s.subs.client
	}
	if s.subs.own == nil {
		s.subs.own = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &http.Client{Transport: s.subs.own, Timeout: validationTimeout}
}

// closeNotificationClient closes the idle connections of the default
// notification client, so a closed server leaves no connection behind.
func (s *Server) closeNotificationClient() {
	s.subs.mu.Lock()
	defer s.subs.mu.Unlock()
	if s.subs.own != nil {
		s.subs.own.CloseIdleConnections()
	}
}

func (s *Server) record(d Delivery) {
	s.subs.mu.Lock()
	defer s.subs.mu.Unlock()
	s.subs.deliveries = append(s.subs.deliveries, d)
}

// notificationJSON is Graph's changeNotification, change or lifecycle.
type notificationJSON struct {
	SubscriptionID string        `json:"subscriptionId"`
	Expiration     string        `json:"subscriptionExpirationDateTime"`
	ChangeType     string        `json:"changeType,omitempty"`
	Resource       string        `json:"resource,omitempty"`
	ResourceData   *resourceData `json:"resourceData,omitempty"`
	ClientState    string        `json:"clientState,omitempty"`
	TenantID       string        `json:"tenantId"`
	LifecycleEvent string        `json:"lifecycleEvent,omitempty"`
}

type resourceData struct {
	Type string `json:"@odata.type"`
	ID   string `json:"@odata.id"`
	ETag string `json:"@odata.etag,omitempty"`
	Key  string `json:"id"`
}

// watch starts tracking u's items for change notifications.
func (s *Server) watch(u *User) {
	unlock := u.tenant.lockGraph()
	snap := takeSnapshot(u.data)
	unlock()
	s.subs.mu.Lock()
	defer s.subs.mu.Unlock()
	if s.subs.snaps == nil {
		s.subs.snaps = map[*User]*snapshot{}
	}
	if old := s.subs.snaps[u]; old == nil || old.rev < snap.rev {
		s.subs.snaps[u] = snap
	}
}

// takeSnapshot records the version of every event and message of d.
// The caller holds the tenant's graph lock.
func takeSnapshot(d *userData) *snapshot {
	snap := &snapshot{rev: d.rev, events: map[string]string{}, messages: map[string]msgVersion{}}
	for id, e := range d.events {
		if e.Type == "occurrence" {
			continue // generated from the master; Graph notifies for the series
		}
		snap.events[id] = fmt.Sprint(e.rev) + "/" + e.ChangeKey
	}
	for id, m := range d.messages {
		snap.messages[id] = msgVersion{rev: m.rev, folder: m.folderID}
	}
	return snap
}

// change is one item change found by comparing snapshots.
type change struct {
	kind       string // EventSubscriptions or MessageSubscriptions
	changeType string
	id         string
	folder     string // the message's folder (for deletions, the folder it left)
	etag       string
	move       bool // one half of a message moved between folders
}

// dataChanged is called after u's Graph data changed: it compares the
// items with the last snapshot and sends change notifications to the
// subscriptions that cover them.
func (s *Server) dataChanged(u *User) {
	s.subs.mu.Lock()
	watched := s.subs.snaps[u] != nil
	s.subs.mu.Unlock()
	if !watched {
		return
	}
	unlock := u.tenant.lockGraph()
	cur := takeSnapshot(u.data)
	etags := map[string]string{}
	for id := range cur.events {
		etags[id] = `W/"` + u.data.events[id].ChangeKey + `"`
	}
	for id, m := range u.data.messages {
		etags[id] = `W/"` + m.ChangeKey + `"`
	}
	unlock()

	s.subs.mu.Lock()
	old := s.subs.snaps[u]
	if old.rev >= cur.rev {
		s.subs.mu.Unlock()
		return
	}
	s.subs.snaps[u] = cur
	changes := diffSnapshots(old, cur, etags)
	now := s.now()
	type post struct {
		id, url string
		items   []notificationJSON
	}
	var posts []post
	for _, sub := range s.subs.subs {
		if sub.user != u || !now.Before(sub.Expiration) || sub.NeedsReauthorization {
			continue
		}
		var items []notificationJSON
		for _, c := range changes {
			if n, ok := sub.covers(c); ok {
				items = append(items, n)
			}
		}
		if len(items) > 0 {
			posts = append(posts, post{sub.ID, sub.NotificationURL, items})
		}
	}
	s.subs.mu.Unlock()
	slices.SortFunc(posts, func(a, b post) int { return strings.Compare(a.id, b.id) })
	for _, p := range posts {
		s.deliver("notification", p.id, p.url, p.items)
	}
}

// diffSnapshots lists the changes from old to cur, events first.
func diffSnapshots(old, cur *snapshot, etags map[string]string) []change {
	var out []change
	for _, id := range sortedKeys(cur.events) {
		prev, ok := old.events[id]
		switch {
		case !ok:
			out = append(out, change{kind: EventSubscriptions, changeType: "created", id: id, etag: etags[id]})
		case prev != cur.events[id]:
			out = append(out, change{kind: EventSubscriptions, changeType: "updated", id: id, etag: etags[id]})
		}
	}
	for _, id := range sortedKeys(old.events) {
		if _, ok := cur.events[id]; !ok {
			out = append(out, change{kind: EventSubscriptions, changeType: "deleted", id: id})
		}
	}
	for _, id := range sortedKeys(cur.messages) {
		m := cur.messages[id]
		prev, ok := old.messages[id]
		switch {
		case !ok:
			out = append(out, change{kind: MessageSubscriptions, changeType: "created", id: id, folder: m.folder, etag: etags[id]})
		case prev.folder != m.folder:
			out = append(out,
				change{kind: MessageSubscriptions, changeType: "deleted", id: id, folder: prev.folder, move: true},
				change{kind: MessageSubscriptions, changeType: "created", id: id, folder: m.folder, etag: etags[id], move: true})
		case prev.rev != m.rev:
			out = append(out, change{kind: MessageSubscriptions, changeType: "updated", id: id, folder: m.folder, etag: etags[id]})
		}
	}
	for _, id := range sortedKeys(old.messages) {
		if _, ok := cur.messages[id]; !ok {
			out = append(out, change{kind: MessageSubscriptions, changeType: "deleted", id: id, folder: old.messages[id].folder})
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// covers reports whether the subscription notifies about c and builds the
// notification. A message moved between folders counts as deleted from one
// and created in the other for folder subscriptions, and as updated for
// me/messages.
func (sub *subscription) covers(c change) (notificationJSON, bool) {
	if c.kind != sub.kind {
		return notificationJSON{}, false
	}
	changeType := c.changeType
	if c.kind == MessageSubscriptions && sub.folderID != "" && c.folder != sub.folderID {
		return notificationJSON{}, false
	}
	if c.kind == MessageSubscriptions && sub.folderID == "" && c.move {
		if c.changeType == "deleted" {
			return notificationJSON{}, false
		}
		changeType = "updated"
	}
	if !slices.Contains(strings.Split(strings.ReplaceAll(sub.ChangeType, " ", ""), ","), changeType) {
		return notificationJSON{}, false
	}
	typ, set := "#Microsoft.Graph.Event", "Events"
	if c.kind == MessageSubscriptions {
		typ, set = "#Microsoft.Graph.Message", "Messages"
	}
	res := "Users/" + sub.user.ID + "/" + set + "/" + c.id
	n := notificationJSON{
		SubscriptionID: sub.ID,
		Expiration:     graphTime(sub.Expiration),
		ChangeType:     changeType,
		Resource:       res,
		ResourceData:   &resourceData{Type: typ, ID: res, ETag: c.etag, Key: c.id},
		ClientState:    sub.ClientState,
		TenantID:       sub.user.TenantID,
	}
	return n, true
}

// post sends p's notification collection to its URL once and records
// the Delivery: the status, how long the endpoint took (by the server
// clock or in real time, whichever is longer, so a test moving a WithClock
// clock inside its endpoint makes a slow answer) and whether it counts as
// delivered: a 2xx within the answer window. The request is cut off after
// the window, in real time.
func (s *Server) post(ctx context.Context, p *pendingPost) Delivery {
	d := Delivery{Kind: p.kind, SubscriptionID: p.subID, URL: p.url, Events: p.events(), Attempt: p.attempts}
	defer func() { s.record(d) }()
	body, err := json.Marshal(map[string]any{"value": p.items})
	if err != nil {
		d.Err = err.Error()
		return d
	}
	ctx, cancel := context.WithTimeout(ctx, answerWindow)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		d.Err = err.Error()
		return d
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	startClock, startReal := s.now(), time.Now()
	resp, err := s.notificationClient().Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
	d.Elapsed = max(s.now().Sub(startClock), time.Since(startReal))
	if err != nil {
		d.Err = err.Error()
		return d
	}
	d.Status = resp.StatusCode
	d.Delivered = resp.StatusCode/100 == 2 && d.Elapsed <= answerWindow
	return d
}

// chatMessagePosted notifies the chat-message subscriptions that cover a
// message just posted to a chat: those on the chat itself and those of its
// members on all their chats (getAllMessages). Graph sends basic
// notifications (no resource data) in this shape:
// resource "chats('{chat}')/messages('{id}')". The caller holds no lock.
func (s *Server) chatMessagePosted(chatID string, members []*User, msgID string) {
	res := "chats('" + chatID + "')/messages('" + msgID + "')"
	now := s.now()
	type post struct {
		id, url string
		item    notificationJSON
	}
	var posts []post
	s.subs.mu.Lock()
	for _, sub := range s.subs.subs {
		switch {
		case sub.kind != ChatMessageSubscriptions, !now.Before(sub.Expiration), sub.NeedsReauthorization:
			continue
		case sub.chatID != "" && sub.chatID != chatID, sub.chatID == "" && !slices.Contains(members, sub.user):
			continue
		case !slices.Contains(strings.Split(strings.ReplaceAll(sub.ChangeType, " ", ""), ","), "created"):
			continue
		}
		posts = append(posts, post{sub.ID, sub.NotificationURL, notificationJSON{
			SubscriptionID: sub.ID,
			Expiration:     graphTime(sub.Expiration),
			ChangeType:     "created",
			Resource:       res,
			ResourceData:   &resourceData{Type: "#Microsoft.Graph.chatMessage", ID: res, Key: msgID},
			ClientState:    sub.ClientState,
			TenantID:       sub.user.TenantID,
		}})
	}
	s.subs.mu.Unlock()
	slices.SortFunc(posts, func(a, b post) int { return strings.Compare(a.id, b.id) })
	for _, p := range posts {
		s.deliver("notification", p.id, p.url, []notificationJSON{p.item})
	}
}
