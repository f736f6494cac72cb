package graphtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

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
func (s *Server) handleCreateSubscription(w http.ResponseWriter, r *http.Request, u *User) {
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
func (s *Server) handleListSubscriptions(w http.ResponseWriter, r *http.Request, u *User) {
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
func (s *Server) handleGetSubscription(w http.ResponseWriter, r *http.Request, u *User) {
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
func (s *Server) handleUpdateSubscription(w http.ResponseWriter, r *http.Request, u *User) {
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
func (s *Server) handleDeleteSubscription(w http.ResponseWriter, r *http.Request, u *User) {
	sub := s.ownSubscription(w, r, u)
	if sub == nil {
		return
	}
	s.RemoveSubscription(sub.ID)
	w.WriteHeader(http.StatusNoContent)
}

// Graph API: POST /subscriptions/{id}/reauthorize
func (s *Server) handleReauthorizeSubscription(w http.ResponseWriter, r *http.Request, u *User) {
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
