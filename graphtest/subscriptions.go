package graphtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Subscription kinds the fake tells apart; SubscriptionLifetime takes them.
const (
	// EventSubscriptions are subscriptions on me/events (users/{id}/events).
	EventSubscriptions = "event"
	// MessageSubscriptions are subscriptions on me/messages and
	// me/mailFolders('{id}')/messages.
	MessageSubscriptions = "message"
	// ChatMessageSubscriptions are subscriptions on chats/{id}/messages and
	// me/chats/getAllMessages. The fake notifies them of messages posted
	// to a chat (created), through Graph or Chat.Post.
	ChatMessageSubscriptions = "chatMessage"
)

// Lifecycle events SendLifecycle sends.
const (
	// LifecycleReauthorizationRequired asks the app to reauthorize or renew.
	LifecycleReauthorizationRequired = "reauthorizationRequired"
	// LifecycleSubscriptionRemoved says Graph removed the subscription.
	LifecycleSubscriptionRemoved = "subscriptionRemoved"
	// LifecycleMissed says change notifications may have been lost.
	LifecycleMissed = "missed"
)

// defaultLifetimes are the maximum subscription lifetimes the fake enforces
// unless WithSubscriptionLifetime says otherwise: Outlook message and event
// 4,230 minutes, Teams chatMessage 4,320 minutes (Microsoft's table of
// maximum lengths; it has changed before, so it is configurable).
var defaultLifetimes = map[string]time.Duration{
	EventSubscriptions:       4230 * time.Minute,
	MessageSubscriptions:     4230 * time.Minute,
	ChatMessageSubscriptions: 4320 * time.Minute,
}

// validationTimeout is how long Graph waits for the validation answer.
const validationTimeout = 10 * time.Second

// WithSubscriptionLifetime sets the longest expiration the fake accepts for
// a kind of subscription (EventSubscriptions, MessageSubscriptions,
// ChatMessageSubscriptions): creating or renewing beyond it fails with 400,
// as Graph does.
func WithSubscriptionLifetime(kind string, max time.Duration) Option {
	return func(s *Server) {
		s.subs.mu.Lock()
		defer s.subs.mu.Unlock()
		if s.subs.lifetimes == nil {
			s.subs.lifetimes = map[string]time.Duration{}
		}
		s.subs.lifetimes[kind] = max
	}
}

// subscriptionState is the fake's change-notification state.
type subscriptionState struct {
	mu         sync.Mutex
	client     *http.Client    // set by SetNotificationClient
	own        *http.Transport // the default client's transport, closed by Close
	lifetimes  map[string]time.Duration
	subs       map[string]*subscription // by ID
	snaps      map[*User]*snapshot      // item versions last notified, per watched user
	deliveries []Delivery
}

// subscription is one subscription as the fake stores it.
type subscription struct {
	Subscription
	user     *User
	kind     string
	folderID string // message subscriptions on one folder
	chatID   string // chat message subscriptions on one chat
	scopes   []string
}

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

// Subscription is a change-notification subscription as the fake holds it.
type Subscription struct {
	// ID, Resource, ChangeType, NotificationURL,
	// LifecycleNotificationURL, ClientState and Expiration
	// (expirationDateTime) are the subscription's Graph properties.
	ID                       string
	Resource                 string
	ChangeType               string
	NotificationURL          string
	LifecycleNotificationURL string
	ClientState              string
	Expiration               time.Time
	// UserID is the signed-in user who created it; ApplicationID the
	// client ID of the token.
	UserID        string
	ApplicationID string
	// ImmutableIDs reports the subscription was created with
	// Prefer: IdType="ImmutableId".
	ImmutableIDs bool
	// NeedsReauthorization is set by SendLifecycle(id,
	// "reauthorizationRequired") and cleared by reauthorize or a renewal.
	// While it is set, change notifications pause, as they eventually do
	// on Graph.
	NeedsReauthorization bool
	// Reauthorized counts POST /subscriptions/{id}/reauthorize calls;
	// Renewed counts PATCH calls.
	Reauthorized, Renewed int
}

// Delivery is one POST the fake sent to a notification endpoint.
type Delivery struct {
	// Kind is "validation", "notification" or "lifecycle".
	Kind           string
	SubscriptionID string
	URL            string
	// Events lists the changeType of each notification in the POST, or
	// the lifecycleEvent.
	Events []string
	// Status is the endpoint's status code; Err the transport error.
	Status int
	Err    string
}

// SetNotificationClient sets the client the fake uses to reach notification
// endpoints (validation, change and lifecycle notifications): typically
// the Client of an httptest TLS server running the webhook under test.
// Without it the fake uses a client of its own with a 10-second timeout,
// whose connections Close closes.
//
// Change notifications are delivered synchronously: the call that changed
// an event or message (User.UpdateEvent, a PATCH through Graph, ...)
// returns after every covered subscription's endpoint answered, so a test
// needs no waiting to know Graph has notified. The endpoint must therefore
// not wait for that call to return.
func (s *Server) SetNotificationClient(hc *http.Client) {
	s.subs.mu.Lock()
	defer s.subs.mu.Unlock()
	s.subs.client = hc
}

// Subscriptions returns the fake's subscriptions, expired ones included,
// ordered by ID.
func (s *Server) Subscriptions() []Subscription {
	s.subs.mu.Lock()
	defer s.subs.mu.Unlock()
	out := make([]Subscription, 0, len(s.subs.subs))
	for _, sub := range s.subs.subs {
		out = append(out, sub.Subscription)
	}
	slices.SortFunc(out, func(a, b Subscription) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Deliveries returns every POST the fake sent to notification endpoints,
// oldest first.
func (s *Server) Deliveries() []Delivery {
	s.subs.mu.Lock()
	defer s.subs.mu.Unlock()
	return slices.Clone(s.subs.deliveries)
}

// RemoveSubscription deletes a subscription without telling anyone, as when
// Graph drops one: renewing it then fails with 404.
func (s *Server) RemoveSubscription(id string) {
	s.subs.mu.Lock()
	defer s.subs.mu.Unlock()
	delete(s.subs.subs, id)
}

// SendLifecycle sends a lifecycle notification (reauthorizationRequired,
// subscriptionRemoved or missed) for the subscription to its
// lifecycleNotificationUrl and returns once the endpoint answered.
// subscriptionRemoved also deletes the subscription; reauthorizationRequired
// pauses its change notifications until it is reauthorized or renewed.
// It fails for an unknown subscription, one without a lifecycle URL, an
// unknown event, or an endpoint that does not answer 2xx.
func (s *Server) SendLifecycle(subscriptionID, event string) error {
	switch event {
	case LifecycleReauthorizationRequired, LifecycleSubscriptionRemoved, LifecycleMissed:
	default:
		return fmt.Errorf("graphtest: lifecycle event %q: want reauthorizationRequired, subscriptionRemoved or missed", event)
	}
	s.subs.mu.Lock()
	sub := s.subs.subs[subscriptionID]
	if sub == nil {
		s.subs.mu.Unlock()
		return fmt.Errorf("graphtest: subscription %q: %w", subscriptionID, ErrNotFound)
	}
	if sub.LifecycleNotificationURL == "" {
		s.subs.mu.Unlock()
		return fmt.Errorf("graphtest: subscription %q has no lifecycleNotificationUrl", subscriptionID)
	}
	switch event {
	case LifecycleReauthorizationRequired:
		sub.NeedsReauthorization = true
	case LifecycleSubscriptionRemoved:
		delete(s.subs.subs, subscriptionID)
	}
	n := notificationJSON{
		SubscriptionID: sub.ID,
		Expiration:     graphTime(sub.Expiration),
		TenantID:       sub.user.TenantID,
		ClientState:    sub.ClientState,
		LifecycleEvent: event,
	}
	target := sub.LifecycleNotificationURL
	s.subs.mu.Unlock()
	status, err := s.post(context.Background(), "lifecycle", sub.ID, target, []notificationJSON{n})
	if err != nil {
		return err
	}
	if status/100 != 2 {
		return fmt.Errorf("graphtest: lifecycle notification for %q: endpoint answered %d", subscriptionID, status)
	}
	return nil
}

// routesSubscriptions registers the subscription routes.
func (s *Server) routesSubscriptions() {
	s.handleGraph("POST /v1.0/subscriptions", nil, s.createSubscription)
	s.handleGraph("GET /v1.0/subscriptions", nil, s.listSubscriptions)
	s.handleGraph("GET /v1.0/subscriptions/{id}", nil, s.getSubscription)
	s.handleGraph("PATCH /v1.0/subscriptions/{id}", nil, s.renewSubscription)
	s.handleGraph("DELETE /v1.0/subscriptions/{id}", nil, s.deleteSubscription)
	s.handleGraph("POST /v1.0/subscriptions/{id}/reauthorize", nil, s.reauthorizeSubscription)
}

// subscriptionJSON is Graph's subscription resource.
type subscriptionJSON struct {
	Context                   string  `json:"@odata.context,omitempty"`
	ID                        string  `json:"id"`
	Resource                  string  `json:"resource"`
	ApplicationID             string  `json:"applicationId"`
	ChangeType                string  `json:"changeType"`
	ClientState               *string `json:"clientState"`
	NotificationURL           string  `json:"notificationUrl"`
	LifecycleNotificationURL  *string `json:"lifecycleNotificationUrl"`
	ExpirationDateTime        string  `json:"expirationDateTime"`
	CreatorID                 string  `json:"creatorId"`
	IncludeResourceData       bool    `json:"includeResourceData"`
	LatestSupportedTLSVersion string  `json:"latestSupportedTlsVersion"`
	NotificationContentType   string  `json:"notificationContentType,omitempty"`
}

func renderSubscription(sub *subscription, context string) subscriptionJSON {
	out := subscriptionJSON{
		Context:                   context,
		ID:                        sub.ID,
		Resource:                  sub.Resource,
		ApplicationID:             sub.ApplicationID,
		ChangeType:                sub.ChangeType,
		NotificationURL:           sub.NotificationURL,
		ExpirationDateTime:        graphTime(sub.Expiration),
		CreatorID:                 sub.UserID,
		LatestSupportedTLSVersion: "v1_2",
		NotificationContentType:   "application/json",
	}
	if sub.ClientState != "" {
		out.ClientState = &sub.ClientState
	}
	if sub.LifecycleNotificationURL != "" {
		out.LifecycleNotificationURL = &sub.LifecycleNotificationURL
	}
	return out
}

// subscriptionRequest is the body of a create or renew request.
type subscriptionRequest struct {
	ChangeType               string `json:"changeType"`
	NotificationURL          string `json:"notificationUrl"`
	LifecycleNotificationURL string `json:"lifecycleNotificationUrl"`
	Resource                 string `json:"resource"`
	ExpirationDateTime       string `json:"expirationDateTime"`
	ClientState              string `json:"clientState"`
	IncludeResourceData      bool   `json:"includeResourceData"`
}

var (
	reEvents      = regexp.MustCompile(`(?i)^(me|users/([^/]+))/events$`)
	reAllMessages = regexp.MustCompile(`(?i)^(me|users/([^/]+))/messages$`)
	reFolderMsgs  = regexp.MustCompile(`(?i)^(me|users/([^/]+))/mailfolders(?:\('([^']+)'\)|/([^/]+))/messages$`)
	reChatMsgs    = regexp.MustCompile(`(?i)^chats/([^/]+)/messages$`)
	reAllChatMsgs = regexp.MustCompile(`(?i)^(me|users/([^/]+))/chats/getallmessages$`)
)

// resolveResource parses a subscription resource for u. It returns the
// kind, folder or chat, the scopes that may read it, and an error message
// with its status.
func resolveResource(u *User, resource string) (sub subscription, status int, msg string) {
	res := strings.TrimPrefix(resource, "/")
	sameUser := func(ref string) bool {
		return ref == "" || strings.EqualFold(ref, u.ID) || strings.EqualFold(ref, u.UserPrincipalName)
	}
	switch {
	case reEvents.MatchString(res):
		m := reEvents.FindStringSubmatch(res)
		if !sameUser(m[2]) {
			return sub, http.StatusForbidden, "Access is denied. Check credentials and try again."
		}
		sub.kind, sub.scopes = EventSubscriptions, []string{"Calendars.Read", "Calendars.ReadWrite"}
	case reAllMessages.MatchString(res):
		m := reAllMessages.FindStringSubmatch(res)
		if !sameUser(m[2]) {
			return sub, http.StatusForbidden, "Access is denied. Check credentials and try again."
		}
		sub.kind, sub.scopes = MessageSubscriptions, []string{"Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite"}
	case reFolderMsgs.MatchString(res):
		m := reFolderMsgs.FindStringSubmatch(res)
		if !sameUser(m[2]) {
			return sub, http.StatusForbidden, "Access is denied. Check credentials and try again."
		}
		folder := m[3] + m[4]
		unlock := u.tenant.lockGraph()
		f := u.data.folder(folder)
		unlock()
		if f == nil {
			return sub, http.StatusNotFound, "The specified folder could not be found in the store."
		}
		sub.kind, sub.folderID = MessageSubscriptions, f.id
		sub.scopes = []string{"Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite"}
	case reChatMsgs.MatchString(res):
		id := reChatMsgs.FindStringSubmatch(res)[1]
		if dec, err := url.PathUnescape(id); err == nil {
			id = dec
		}
		member := false
		unlock := u.tenant.lockGraph()
		for _, c := range u.tenant.graph.chats {
			if c.ID == id && slices.Contains(c.members, u) {
				member = true
			}
		}
		unlock()
		if !member {
			return sub, http.StatusNotFound, "Chat " + id + " was not found."
		}
		sub.kind, sub.chatID, sub.scopes = ChatMessageSubscriptions, id, []string{"Chat.Read", "Chat.ReadWrite"}
	case reAllChatMsgs.MatchString(res):
		m := reAllChatMsgs.FindStringSubmatch(res)
		if !sameUser(m[2]) {
			return sub, http.StatusForbidden, "Access is denied. Check credentials and try again."
		}
		sub.kind, sub.scopes = ChatMessageSubscriptions, []string{"Chat.Read", "Chat.ReadWrite"}
	default:
		return sub, http.StatusBadRequest, "Resource '" + resource + "' is not supported by the fake."
	}
	return sub, 0, ""
}

// lifetime returns the maximum lifetime of a kind.
func (s *Server) lifetime(kind string) time.Duration {
	s.subs.mu.Lock()
	defer s.subs.mu.Unlock()
	if d, ok := s.subs.lifetimes[kind]; ok {
		return d
	}
	return defaultLifetimes[kind]
}

// checkExpiration parses an expirationDateTime and checks it against the
// kind's maximum; it returns Graph's message when it is refused.
func (s *Server) checkExpiration(raw, kind string) (time.Time, string) {
	exp, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, "Invalid expirationDateTime: '" + raw + "'."
	}
	now := s.now()
	max := s.lifetime(kind)
	switch {
	case !exp.After(now):
		return time.Time{}, "Subscription expiration must be in the future."
	case exp.Sub(now) > max:
		return time.Time{}, fmt.Sprintf("Operation: Create; Exception: [Status Code: BadRequest; Reason: Subscription expiration can only be %d minutes in the future.]", int(max/time.Minute))
	}
	return exp.UTC(), ""
}

// validChangeType checks a comma-separated changeType.
func validChangeType(ct string) bool {
	if ct == "" {
		return false
	}
	for part := range strings.SplitSeq(ct, ",") {
		switch strings.TrimSpace(part) {
		case "created", "updated", "deleted":
		default:
			return false
		}
	}
	return true
}

// Graph API: POST /subscriptions
func (s *Server) createSubscription(w http.ResponseWriter, r *http.Request, u *User) {
	var body subscriptionRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		writeGraphError(w, http.StatusBadRequest, "BadRequest", "Cannot read the request body: "+err.Error())
		return
	}
	switch {
	case body.Resource == "" || body.NotificationURL == "" || body.ExpirationDateTime == "" || body.ChangeType == "":
		writeGraphError(w, http.StatusBadRequest, "InvalidRequest", "changeType, notificationUrl, resource and expirationDateTime are required.")
		return
	case !validChangeType(body.ChangeType):
		writeGraphError(w, http.StatusBadRequest, "InvalidRequest", "Invalid changeType '"+body.ChangeType+"'.")
		return
	case !isHTTPS(body.NotificationURL):
		writeGraphError(w, http.StatusBadRequest, "InvalidRequest", "The Notification Url must use HTTPS.")
		return
	case body.LifecycleNotificationURL != "" && !isHTTPS(body.LifecycleNotificationURL):
		writeGraphError(w, http.StatusBadRequest, "InvalidRequest", "The Lifecycle Notification Url must use HTTPS.")
		return
	case len(body.ClientState) > 128:
		writeGraphError(w, http.StatusBadRequest, "InvalidRequest", "clientState must be at most 128 characters.")
		return
	case body.IncludeResourceData:
		writeGraphError(w, http.StatusBadRequest, "InvalidRequest", "includeResourceData needs an encryptionCertificate; the fake does not support rich notifications.")
		return
	}
	sub, status, msg := resolveResource(u, body.Resource)
	if status != 0 {
		code := map[int]string{http.StatusForbidden: "ExtensionError", http.StatusNotFound: "ResourceNotFound"}[status]
		writeGraphError(w, status, firstNonEmpty(code, "InvalidRequest"), msg)
		return
	}
	if !s.tokenHas(r, sub.scopes) {
		writeGraphError(w, http.StatusForbidden, "ExtensionError", "Operation: Create; Exception: [Status Code: Forbidden; Reason: The caller needs one of '"+strings.Join(sub.scopes, ", ")+"' to subscribe to "+body.Resource+".]")
		return
	}
	exp, msg := s.checkExpiration(body.ExpirationDateTime, sub.kind)
	if msg != "" {
		writeGraphError(w, http.StatusBadRequest, "ExtensionError", msg)
		return
	}
	if sub.kind == ChatMessageSubscriptions && body.LifecycleNotificationURL == "" && exp.Sub(s.now()) > time.Hour {
		writeGraphError(w, http.StatusBadRequest, "InvalidRequest", "lifecycleNotificationUrl is a required property for subscription creation on this resource when the expirationDateTime value is set to greater than 1 hour.")
		return
	}
	for _, target := range []string{body.NotificationURL, body.LifecycleNotificationURL} {
		if target == "" {
			continue
		}
		if !s.validate(r.Context(), target) {
			writeGraphError(w, http.StatusBadRequest, "ValidationError", "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.")
			return
		}
	}
	sub.Subscription = Subscription{
		ID:                       newID(),
		Resource:                 body.Resource,
		ChangeType:               body.ChangeType,
		NotificationURL:          body.NotificationURL,
		LifecycleNotificationURL: body.LifecycleNotificationURL,
		ClientState:              body.ClientState,
		Expiration:               exp,
		UserID:                   u.ID,
		ApplicationID:            s.clientIDOf(r),
		ImmutableIDs:             strings.EqualFold(preferences(r)["idtype"], "ImmutableId"),
	}
	sub.user = u
	s.watch(u)
	s.subs.mu.Lock()
	if s.subs.subs == nil {
		s.subs.subs = map[string]*subscription{}
	}
	s.subs.subs[sub.ID] = &sub
	out := renderSubscription(&sub, "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity")
	s.subs.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func isHTTPS(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.EqualFold(u.Scheme, "https") && u.Host != ""
}

// clientIDOf returns the client ID of the request's token.
func (s *Server) clientIDOf(r *http.Request) string {
	raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok := s.tokens[raw]; tok != nil {
		return tok.clientID
	}
	return ""
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

// ownSubscription finds an unexpired subscription the caller created with
// this app, writing 404 when there is none.
func (s *Server) ownSubscription(w http.ResponseWriter, r *http.Request, u *User) *subscription {
	id := r.PathValue("id")
	clientID := s.clientIDOf(r)
	now := s.now()
	s.subs.mu.Lock()
	sub := s.subs.subs[id]
	s.subs.mu.Unlock()
	if sub == nil || sub.user != u || sub.ApplicationID != clientID || !now.Before(sub.Expiration) {
		writeGraphError(w, http.StatusNotFound, "ResourceNotFound", "The object was not found.")
		return nil
	}
	return sub
}

// Graph API: GET /subscriptions
//
// With a delegated token Graph lists the subscriptions the calling app
// created for the signed-in user.
func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request, u *User) {
	clientID := s.clientIDOf(r)
	now := s.now()
	s.subs.mu.Lock()
	var items []any
	for _, sub := range s.subs.subs {
		if sub.user == u && sub.ApplicationID == clientID && now.Before(sub.Expiration) {
			items = append(items, renderSubscription(sub, ""))
		}
	}
	s.subs.mu.Unlock()
	slices.SortFunc(items, func(a, b any) int {
		return strings.Compare(a.(subscriptionJSON).ID, b.(subscriptionJSON).ID)
	})
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions",
		"value":          nonNil(items),
	})
}

// Graph API: GET /subscriptions/{id}
func (s *Server) getSubscription(w http.ResponseWriter, r *http.Request, u *User) {
	sub := s.ownSubscription(w, r, u)
	if sub == nil {
		return
	}
	s.subs.mu.Lock()
	out := renderSubscription(sub, "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity")
	s.subs.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// Graph API: PATCH /subscriptions/{id}
func (s *Server) renewSubscription(w http.ResponseWriter, r *http.Request, u *User) {
	var body subscriptionRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		writeGraphError(w, http.StatusBadRequest, "BadRequest", "Cannot read the request body: "+err.Error())
		return
	}
	sub := s.ownSubscription(w, r, u)
	if sub == nil {
		return
	}
	if !s.tokenHas(r, sub.scopes) {
		writeGraphError(w, http.StatusForbidden, "ExtensionError", "Operation: Update; Exception: [Status Code: Forbidden; Reason: The caller needs one of '"+strings.Join(sub.scopes, ", ")+"'.]")
		return
	}
	if body.ExpirationDateTime == "" {
		writeGraphError(w, http.StatusBadRequest, "InvalidRequest", "expirationDateTime is required.")
		return
	}
	exp, msg := s.checkExpiration(body.ExpirationDateTime, sub.kind)
	if msg != "" {
		writeGraphError(w, http.StatusBadRequest, "ExtensionError", strings.Replace(msg, "Operation: Create", "Operation: Update", 1))
		return
	}
	s.subs.mu.Lock()
	sub.Expiration = exp
	sub.NeedsReauthorization = false
	sub.Renewed++
	out := renderSubscription(sub, "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity")
	s.subs.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// Graph API: DELETE /subscriptions/{id}
func (s *Server) deleteSubscription(w http.ResponseWriter, r *http.Request, u *User) {
	sub := s.ownSubscription(w, r, u)
	if sub == nil {
		return
	}
	s.RemoveSubscription(sub.ID)
	w.WriteHeader(http.StatusNoContent)
}

// Graph API: POST /subscriptions/{id}/reauthorize
func (s *Server) reauthorizeSubscription(w http.ResponseWriter, r *http.Request, u *User) {
	sub := s.ownSubscription(w, r, u)
	if sub == nil {
		return
	}
	if !s.tokenHas(r, sub.scopes) {
		writeGraphError(w, http.StatusForbidden, "ExtensionError", "Operation: Reauthorize; Exception: [Status Code: Forbidden; Reason: The caller needs one of '"+strings.Join(sub.scopes, ", ")+"'.]")
		return
	}
	s.subs.mu.Lock()
	sub.NeedsReauthorization = false
	sub.Reauthorized++
	s.subs.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
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
		_, _ = s.post(context.Background(), "notification", p.id, p.url, p.items)
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

// post sends a notification collection to target and records it.
func (s *Server) post(ctx context.Context, kind, subID, target string, items []notificationJSON) (int, error) {
	body, err := json.Marshal(map[string]any{"value": items})
	if err != nil {
		return 0, err
	}
	d := Delivery{Kind: kind, SubscriptionID: subID, URL: target}
	for _, n := range items {
		d.Events = append(d.Events, firstNonEmpty(n.LifecycleEvent, n.ChangeType))
	}
	ctx, cancel := context.WithTimeout(ctx, validationTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		d.Err = err.Error()
		s.record(d)
		return 0, fmt.Errorf("graphtest: notification to %s: %w", target, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := s.notificationClient().Do(req)
	if err != nil {
		d.Err = err.Error()
		s.record(d)
		return 0, fmt.Errorf("graphtest: notification to %s: %w", target, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	d.Status = resp.StatusCode
	s.record(d)
	return resp.StatusCode, nil
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
		_, _ = s.post(context.Background(), "notification", p.id, p.url, []notificationJSON{p.item})
	}
}
