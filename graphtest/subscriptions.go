package graphtest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Subscription kinds the fake tells apart; WithSubscriptionLifetime takes
// them. Their values are those of notify's Kind (KindEvents, KindMessages,
// KindChatMessages), so a kind has one name across the module.
const (
	// EventSubscriptions are subscriptions on me/events (users/{id}/events).
	EventSubscriptions = "events"
	// MessageSubscriptions are subscriptions on me/messages and
	// me/mailFolders('{id}')/messages.
	MessageSubscriptions = "messages"
	// ChatMessageSubscriptions are subscriptions on chats/{id}/messages and
	// me/chats/getAllMessages. The fake notifies them of messages posted
	// to a chat (created), through Graph or Chat.Post.
	ChatMessageSubscriptions = "chatMessages"
)

// The lifecycle events SendLifecycle sends: Graph's lifecycleEvent values.
const (
	// lifecycleReauthorizationRequired asks the app to reauthorize or renew.
	lifecycleReauthorizationRequired = "reauthorizationRequired"
	// lifecycleSubscriptionRemoved says Graph removed the subscription.
	lifecycleSubscriptionRemoved = "subscriptionRemoved"
	// lifecycleMissed says change notifications may have been lost.
	lifecycleMissed = "missed"
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
	ctx     context.Context // ends when the server closes: deliveries stop
	cancel  context.CancelFunc
	sending sync.Mutex // held by RetryDue while it sends

	mu         sync.Mutex
	queue      []*pendingPost            // collections waiting for a retry or a delay (delivery.go)
	polling    bool                      // a pollRetries goroutine runs
	endpoints  map[string]*endpointStats // answers per endpoint, for throttling
	client     *http.Client              // set by SetNotificationClient
	own        *http.Transport           // the default client's transport, closed by Close
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

// Delivery is one POST the fake sent to a notification endpoint or, with
// Dropped or Delayed set, a notification collection it did not send.
type Delivery struct {
	// Kind is "validation", "notification" or "lifecycle".
	Kind           string
	SubscriptionID string
	URL            string
	// Events lists the changeType of each notification in the POST, or
	// the lifecycleEvent.
	Events []string
	// Status is the endpoint's status code; Err the transport error
	// (the answer window passing is one).
	Status int
	Err    string
	// Attempt is 1 for the first POST of a notification collection, 2
	// and up for its retries, which carry the same notifications again.
	Attempt int
	// Elapsed is how long the endpoint took to answer.
	Elapsed time.Duration
	// Delivered reports a 2xx answered within the 3-second window: the
	// collection will not be sent again.
	Delivered bool
	// Dropped reports a collection given up on: retried for four hours
	// without delivery, or sent to an endpoint throttled for slowness.
	Dropped bool
	// Delayed reports a collection held back for ten minutes because its
	// endpoint was flagged slow.
	Delayed bool
}

// SetNotificationClient sets the client the fake uses to reach notification
// endpoints (validation, change and lifecycle notifications): typically
// the Client of an httptest TLS server running the webhook under test.
// Without it the fake uses a client of its own, whose connections Close
// closes.
//
// The first attempt at a change notification is synchronous: the call
// that changed an event or message (User.UpdateEvent, a PATCH through
// Graph, ...) returns after every covered subscription's endpoint
// answered, so a test needs no waiting to know Graph has notified. The
// endpoint must therefore not wait for that call to return.
//
// Delivery follows Microsoft's rules. A notification counts as delivered
// on a 2xx answered within 3 seconds (the request is cut off then); any
// other answer, a transport error or a later answer is retried with the
// same notifications, so an endpoint that handled one but answered late
// gets it again. Retries back off exponentially (1, 2, 4, … minutes after
// the previous attempt) for up to 4 hours after the first, then the
// collection is dropped. An endpoint whose answers in a 10-minute window
// are more than 2900 ms in 10% of cases (judged after 100 answers) gets
// its new notifications, and retries, 10 minutes late; from 15% they are
// dropped. Deliveries records each attempt, drop and delay. Waits run on
// the server clock (WithClock): a test moves the clock, also inside its
// endpoint to answer slowly, and calls RetryDue; with the wall clock the
// retries simply come when due.
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
// unknown event, or an endpoint that does not answer 2xx within 3
// seconds, in which case the fake retries as for change notifications
// (see SetNotificationClient).
func (s *Server) SendLifecycle(subscriptionID, event string) error {
	switch event {
	case lifecycleReauthorizationRequired, lifecycleSubscriptionRemoved, lifecycleMissed:
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
	case lifecycleReauthorizationRequired:
		sub.NeedsReauthorization = true
	case lifecycleSubscriptionRemoved:
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
	d, ok := s.deliver("lifecycle", sub.ID, target, []notificationJSON{n})
	switch {
	case ok:
		return nil
	case d.Err != "":
		return fmt.Errorf("graphtest: lifecycle notification for %q: %s", subscriptionID, d.Err)
	case d.Dropped, d.Delayed:
		return fmt.Errorf("graphtest: lifecycle notification for %q: the endpoint is throttled", subscriptionID)
	case d.Status/100 == 2:
		return fmt.Errorf("graphtest: lifecycle notification for %q: endpoint answered %d after %v, past the 3-second window", subscriptionID, d.Status, d.Elapsed)
	}
	return fmt.Errorf("graphtest: lifecycle notification for %q: endpoint answered %d", subscriptionID, d.Status)
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
