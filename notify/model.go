package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// Subscription is Graph's subscription resource: what to watch, where to
// send notifications and until when. Times are UTC. It is a plain value,
// safe to share once built.
type Subscription struct {
	ID string `json:"id,omitempty"`
	// Resource is the watched path, e.g. "me/events" or
	// "me/mailFolders('inbox')/messages".
	Resource string `json:"resource"`
	// ChangeType is a comma-separated list of created, updated, deleted.
	ChangeType               string `json:"changeType"`
	NotificationURL          string `json:"notificationUrl"`
	LifecycleNotificationURL string `json:"lifecycleNotificationUrl,omitempty"`
	// ExpirationDateTime is when Graph stops sending notifications unless
	// the subscription is renewed.
	ExpirationDateTime time.Time `json:"expirationDateTime"`
	// ClientState is the secret Graph echoes in every notification. Store
	// it with the subscription; never log it.
	ClientState               string `json:"clientState,omitempty"`
	ApplicationID             string `json:"applicationId,omitempty"`
	CreatorID                 string `json:"creatorId,omitempty"`
	IncludeResourceData       bool   `json:"includeResourceData,omitempty"`
	LatestSupportedTLSVersion string `json:"latestSupportedTlsVersion,omitempty"`
}

// ChangeNotification is one notification Graph sent (Graph's
// changeNotification resource): a change notification has ChangeType and
// Resource; a lifecycle notification has LifecycleEvent and no resource.
// The Handler fills Owner, SubscriptionResource and RegistrationID from
// the caller's Registration and clears ClientState before it hands a
// notification over; those three fields are never read from or written to
// JSON. It is a plain value, safe to share once built.
type ChangeNotification struct {
	SubscriptionID                 string    `json:"subscriptionId"`
	SubscriptionExpirationDateTime time.Time `json:"subscriptionExpirationDateTime"`
	TenantID                       string    `json:"tenantId,omitempty"`
	ClientState                    string    `json:"clientState,omitempty"`
	// ChangeType is created, updated or deleted.
	ChangeType string `json:"changeType,omitempty"`
	// Resource is the changed item relative to the Graph root, e.g.
	// "Users/{user-id}/Events/{event-id}". Its spelling varies; prefer
	// ResourceData.ID.
	Resource     string        `json:"resource,omitempty"`
	ResourceData *ResourceData `json:"resourceData,omitempty"`
	// LifecycleEvent is reauthorizationRequired, subscriptionRemoved or
	// missed (see the Lifecycle constants).
	LifecycleEvent string `json:"lifecycleEvent,omitempty"`

	// Owner is the Registration's owner: whose data changed.
	Owner string `json:"-"`
	// SubscriptionResource is the resource the subscription watches, as
	// stored in the Registration, e.g. "me/events".
	SubscriptionResource string `json:"-"`
	// RegistrationID is the ID of the Registration that verified the
	// notification: Store.Load(ctx, RegistrationID) returns it.
	RegistrationID string `json:"-"`
}

// ResourceData identifies the changed item of an Outlook change
// notification. It is a plain value.
type ResourceData struct {
	ODataType string `json:"@odata.type,omitempty"`
	ODataID   string `json:"@odata.id,omitempty"`
	ODataEtag string `json:"@odata.etag,omitempty"`
	ID        string `json:"id,omitempty"`
}

// Lifecycle events Graph sends to the lifecycleNotificationUrl.
const (
	// ReauthorizationRequired: reauthorize or renew the subscription.
	ReauthorizationRequired = "reauthorizationRequired"
	// SubscriptionRemoved: Graph removed the subscription; create it again
	// and resynchronise.
	SubscriptionRemoved = "subscriptionRemoved"
	// Missed: notifications may have been lost; resynchronise.
	Missed = "missed"
)

// IsLifecycle reports whether n is a lifecycle notification.
func (n ChangeNotification) IsLifecycle() bool { return n.LifecycleEvent != "" }

// Key returns the debouncing key of n: its owner and the subscription's
// resource.
func (n ChangeNotification) Key() Key { return Key{Owner: n.Owner, Resource: n.SubscriptionResource} }

// Key names one resource of one user: what a sync covers. It is a
// comparable plain value, usable as a map key.
type Key struct {
	Owner    string
	Resource string
}

// String returns "owner resource".
func (k Key) String() string { return k.Owner + " " + k.Resource }

// maxNotifications bounds the items of one notification collection.
const maxNotifications = 1000

// maxSubscriptionID bounds a subscriptionId (Graph's are 36-character GUIDs).
const maxSubscriptionID = 128

// Parse decodes a Graph change-notification collection
// ({"value":[...]}), change and lifecycle notifications alike. Every item
// needs a subscriptionId and either a changeType (created, updated,
// deleted) or a lifecycleEvent; times are returned in UTC. Anything else
// is an error matching ErrMalformed. Parse does not check clientState: the
// Handler does, against the caller's Store.
func Parse(body []byte) ([]ChangeNotification, error) {
	var coll struct {
		Value *[]ChangeNotification `json:"value"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&coll); err != nil {
		return nil, malformed("body is not JSON: " + jsonProblem(err))
	}
	if dec.More() {
		return nil, malformed("trailing data after the JSON object")
	}
	if coll.Value == nil {
		return nil, malformed(`no "value" array`)
	}
	items := *coll.Value
	if len(items) == 0 {
		return nil, malformed(`empty "value" array`)
	}
	if len(items) > maxNotifications {
		return nil, malformed(fmt.Sprintf("%d notifications, more than %d", len(items), maxNotifications))
	}
	for i := range items {
		n := &items[i]
		switch {
		case n.SubscriptionID == "":
			return nil, malformed(fmt.Sprintf("notification %d has no subscriptionId", i))
		case len(n.SubscriptionID) > maxSubscriptionID || strings.ContainsFunc(n.SubscriptionID, unicode.IsControl):
			// Graph's IDs are GUIDs; anything else is forged, and must not
			// reach the Store or the logs.
			return nil, malformed(fmt.Sprintf("notification %d has a subscriptionId that is not an ID", i))
		case n.LifecycleEvent == "" && !validChangeType(n.ChangeType):
			return nil, malformed(fmt.Sprintf("notification %d has neither a lifecycleEvent nor a changeType of created, updated or deleted", i))
		}
		n.SubscriptionExpirationDateTime = n.SubscriptionExpirationDateTime.UTC()
	}
	return items, nil
}

func malformed(problem string) error {
	return &Error{Op: "Parse", Err: fmt.Errorf("%w: %s", ErrMalformed, problem)}
}

// jsonProblem describes a JSON error without quoting the input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at offset %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	}
	return "cannot decode"
}

func validChangeType(ct string) bool {
	switch ct {
	case "created", "updated", "deleted":
		return true
	}
	return false
}

// Kind is the kind of item a subscription watches; it picks the maximum
// lifetime and the scope Graph checks.
type Kind string

// The kinds of resources m365kit subscribes to.
const (
	// KindEvents: Outlook events (me/events). Graph checks Calendars.Read,
	// which the Calendars.ReadWrite of scopes.Calendar covers.
	KindEvents Kind = "events"
	// KindMessages: Outlook messages (me/messages, a mail folder's
	// messages). Graph checks Mail.ReadBasic or Mail.Read.
	KindMessages Kind = "messages"
	// KindChatMessages: Teams chat messages (chats/{id}/messages,
	// me/chats/getAllMessages). Graph checks Chat.Read (or
	// Chat.ReadWrite): request scopes.ChatMessages, since the Chat.ReadBasic
	// of scopes.Teams is not enough.
	KindChatMessages Kind = "chatMessages"
)

var (
	reEvents   = regexp.MustCompile(`(?i)^/?(me|users/[^/]+)/(calendar/)?events$`)
	reMessages = regexp.MustCompile(`(?i)^/?(me|users/[^/]+)/messages$`)
	reFolder   = regexp.MustCompile(`(?i)^/?(me|users/[^/]+)/mailfolders(?:\('([^']+)'\)|/([^/]+))/messages$`)
	reChats    = regexp.MustCompile(`(?i)^/?(chats/[^/]+/messages|(me|users/[^/]+)/chats/getallmessages)$`)
)

// kindOf returns the kind of a subscription resource, and false for one
// this package does not know.
func kindOf(resource string) (Kind, bool) {
	switch {
	case reEvents.MatchString(resource):
		return KindEvents, true
	case reMessages.MatchString(resource), reFolder.MatchString(resource):
		return KindMessages, true
	case reChats.MatchString(resource):
		return KindChatMessages, true
	}
	return "", false
}

// folderOf returns the mail folder (ID or well-known name) a message
// subscription resource watches: "inbox" for
// "me/mailFolders('inbox')/messages". It returns false for any other
// resource, me/messages included.
func folderOf(resource string) (string, bool) {
	m := reFolder.FindStringSubmatch(resource)
	if m == nil {
		return "", false
	}
	f := m[2] + m[3]
	if dec, err := url.PathUnescape(f); err == nil {
		f = dec
	}
	return f, true
}

// Target is what to subscribe to: a resource and the changes wanted. It
// is a plain value.
type Target struct {
	// Resource is the path Graph watches, relative to the version root.
	Resource string
	// ChangeType is a comma-separated list of created, updated, deleted.
	ChangeType string
}

// allChanges is the changeType m365kit subscribes with: every change
// is a reason to sync.
const allChanges = "created,updated,deleted"

// Events watches the signed-in user's events (me/events).
func Events() Target { return Target{Resource: "me/events", ChangeType: allChanges} }

// MailFolder watches the messages of one mail folder of the signed-in
// user, given by ID or well-known name (inbox, sentitems, ...):
// me/mailFolders('{folder}')/messages.
func MailFolder(folder string) Target {
	return Target{Resource: "me/mailFolders('" + folder + "')/messages", ChangeType: allChanges}
}

// ChatMessages watches the messages of one chat the signed-in user is a
// member of (chats/{id}/messages). The user's token needs Chat.Read
// (scopes.ChatMessages).
func ChatMessages(chatID string) Target {
	return Target{Resource: "chats/" + url.PathEscape(chatID) + "/messages", ChangeType: allChanges}
}

// AllChatMessages watches the messages of every chat the signed-in user is
// a member of (me/chats/getAllMessages). The user's token needs Chat.Read
// (scopes.ChatMessages), and Microsoft licenses and bills this resource
// separately (payment model B).
func AllChatMessages() Target {
	return Target{Resource: "me/chats/getAllMessages", ChangeType: allChanges}
}

// check validates a Target before anything is sent.
func (t Target) check(op string) (Kind, error) {
	if strings.ContainsAny(t.Resource, "\x00\r\n") {
		return "", invalid(op, "Target.Resource", "contains control characters")
	}
	kind, ok := kindOf(t.Resource)
	if !ok {
		return "", invalid(op, "Target.Resource", fmt.Sprintf("%q is not an events, messages or chat messages resource", t.Resource))
	}
	if f, ok := folderOf(t.Resource); ok && (f == "" || strings.ContainsAny(f, "'/")) {
		return "", invalid(op, "Target.Resource", "the mail folder must be an ID or well-known name without quotes or slashes")
	}
	if t.ChangeType == "" {
		return "", invalid(op, "Target.ChangeType", "is empty")
	}
	for part := range strings.SplitSeq(t.ChangeType, ",") {
		if !validChangeType(strings.TrimSpace(part)) {
			return "", invalid(op, "Target.ChangeType", fmt.Sprintf("%q: want created, updated or deleted", part))
		}
	}
	return kind, nil
}
