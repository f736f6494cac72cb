package graphtest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Graph API: GET /me/joinedTeams
//
// Graph returns only id, displayName and description here and accepts no
// OData query options.
func (s *Server) handleListJoinedTeams(w http.ResponseWriter, r *http.Request, u *User) {
	for k := range r.URL.Query() {
		badRequest(w, "Query option '%s' is not allowed. This API does not support OData query options.", k)
		return
	}
	type teamJSON struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		Description string `json:"description"`
	}
	unlock := u.tenant.lockGraph()
	items := []any{}
	for _, tm := range u.tenant.graph.teams {
		if slices.Contains(tm.members, u) {
			items = append(items, teamJSON{ID: tm.ID, DisplayName: tm.DisplayName, Description: tm.Description})
		}
	}
	unlock()
	writeJSON(w, http.StatusOK, collection{Context: "https://graph.microsoft.com/v1.0/$metadata#teams", Value: items})
}

// findTeam finds a team of u's tenant and checks membership, writing
// Graph's 404 or 403. The tenant lock must be held.
func findTeam(w http.ResponseWriter, u *User, id string) *Team {
	for _, tm := range u.tenant.graph.teams {
		if tm.ID == id {
			if !slices.Contains(tm.members, u) {
				writeGraphError(w, http.StatusForbidden, "Forbidden", "Forbidden: the user is not a member of team "+id+".")
				return nil
			}
			return tm
		}
	}
	writeGraphError(w, http.StatusNotFound, "NotFound", "No team found with Group Id "+id+".")
	return nil
}

type channelJSON struct {
	ID                  string `json:"id"`
	CreatedDateTime     string `json:"createdDateTime"`
	DisplayName         string `json:"displayName"`
	Description         string `json:"description"`
	IsFavoriteByDefault *bool  `json:"isFavoriteByDefault"`
	Email               string `json:"email"`
	TenantID            string `json:"tenantId"`
	WebURL              string `json:"webUrl"`
	MembershipType      string `json:"membershipType"`
}

// Graph API: GET /teams/{team-id}/channels
func (s *Server) handleListChannels(w http.ResponseWriter, r *http.Request, u *User) {
	fields, ok := selectOrFail(w, r.URL.Query(), toMap(channelJSON{}), "channel")
	if !ok {
		return
	}
	unlock := u.tenant.lockGraph()
	defer unlock()
	tm := findTeam(w, u, r.PathValue("team"))
	if tm == nil {
		return
	}
	items := []any{}
	for _, c := range tm.channels {
		items = append(items, applySelect(channelJSON{
			ID: c.ID, CreatedDateTime: c.created.Format("2006-01-02T15:04:05.000Z"), DisplayName: c.DisplayName,
			Description: c.Description, TenantID: u.TenantID, MembershipType: "standard",
			WebURL: "https://teams.microsoft.com/l/channel/" + url.PathEscape(c.ID) + "/" + url.PathEscape(c.DisplayName) + "?groupId=" + tm.ID + "&tenantId=" + u.TenantID,
		}, fields))
	}
	writeJSON(w, http.StatusOK, collection{Context: "https://graph.microsoft.com/v1.0/$metadata#teams('" + tm.ID + "')/channels", Value: items})
}

type memberJSON struct {
	Type                        string   `json:"@odata.type"`
	ID                          string   `json:"id"`
	Roles                       []string `json:"roles"`
	DisplayName                 string   `json:"displayName"`
	VisibleHistoryStartDateTime string   `json:"visibleHistoryStartDateTime"`
	UserID                      string   `json:"userId"`
	Email                       string   `json:"email"`
	TenantID                    string   `json:"tenantId"`
}

type chatJSON struct {
	ID                  string       `json:"id"`
	Topic               *string      `json:"topic"`
	CreatedDateTime     string       `json:"createdDateTime"`
	LastUpdatedDateTime string       `json:"lastUpdatedDateTime"`
	ChatType            string       `json:"chatType"`
	WebURL              string       `json:"webUrl"`
	TenantID            string       `json:"tenantId"`
	Members             []memberJSON `json:"members,omitempty"`
}

// Graph API: GET /me/chats (with $expand=members)
func (s *Server) handleListChats(w http.ResponseWriter, r *http.Request, u *User) {
	expand := r.URL.Query().Get("$expand")
	if expand != "" && !strings.EqualFold(expand, "members") {
		badRequest(w, "Parsing OData Select and Expand failed: only $expand=members is supported on chats.")
		return
	}
	unlock := u.tenant.lockGraph()
	var items []any
	for _, c := range u.tenant.graph.chats {
		if !slices.Contains(c.members, u) {
			continue
		}
		j := chatJSON{
			ID: c.ID, CreatedDateTime: c.created.Format("2006-01-02T15:04:05.000Z"), LastUpdatedDateTime: c.updated.Format("2006-01-02T15:04:05.000Z"),
			ChatType: c.ChatType, TenantID: u.TenantID,
			WebURL: "https://teams.microsoft.com/l/chat/" + url.PathEscape(c.ID) + "/0?tenantId=" + u.TenantID,
		}
		if c.Topic != "" {
			t := c.Topic
			j.Topic = &t
		}
		if expand != "" {
			j.Members = []memberJSON{}
			for _, m := range c.members {
				j.Members = append(j.Members, memberJSON{
					Type: "#microsoft.graph.aadUserConversationMember", ID: base64ID(c.ID + "##" + m.ID),
					Roles: []string{"owner"}, DisplayName: m.DisplayName, VisibleHistoryStartDateTime: "0001-01-01T00:00:00Z",
					UserID: m.ID, Email: m.Mail, TenantID: m.TenantID,
				})
			}
		}
		items = append(items, j)
	}
	unlock()
	writePage(w, r, metadata(u, "chats"), items, 20)
}

// base64ID returns Graph's opaque membership ID shape.
func base64ID(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// postedMessage is the request body of a message post.
type postedMessage struct {
	Subject    *string `json:"subject"`
	Importance string  `json:"importance"`
	Body       *struct {
		ContentType string  `json:"contentType"`
		Content     *string `json:"content"`
	} `json:"body"`
	Attachments []struct {
		ID           string          `json:"id"`
		ContentType  string          `json:"contentType"`
		ContentURL   *string         `json:"contentUrl"`
		Content      json.RawMessage `json:"content"`
		Name         *string         `json:"name"`
		ThumbnailURL *string         `json:"thumbnailUrl"`
	} `json:"attachments"`
	Mentions []struct {
		ID          *int   `json:"id"`
		MentionText string `json:"mentionText"`
		Mentioned   struct {
			User *struct {
				ID               string `json:"id"`
				DisplayName      string `json:"displayName"`
				UserIdentityType string `json:"userIdentityType"`
			} `json:"user"`
		} `json:"mentioned"`
	} `json:"mentions"`
}

var (
	attachmentTagRE = regexp.MustCompile(`<attachment\s+id=["']([^"']*)["']\s*>`)
	atTagRE         = regexp.MustCompile(`<at\s+id=["']?(\d+)["']?\s*>`)
)

// parsePosted validates a posted chatMessage the way Graph does and
// returns it, or a 400 message.
func parsePosted(raw []byte) (ChatMessage, string) {
	var in postedMessage
	if err := json.Unmarshal(raw, &in); err != nil {
		return ChatMessage{}, "Invalid request body: " + err.Error()
	}
	if in.Body == nil || in.Body.Content == nil || strings.TrimSpace(*in.Body.Content) == "" {
		return ChatMessage{}, "Missing body content. The body of a chatMessage must have content."
	}
	m := ChatMessage{Content: *in.Body.Content, ContentType: strings.ToLower(in.Body.ContentType), Importance: strings.ToLower(in.Importance), Raw: slices.Clone(raw)}
	switch m.ContentType {
	case "":
		m.ContentType = "text"
	case "text", "html":
	default:
		return ChatMessage{}, "Invalid body contentType '" + in.Body.ContentType + "': use text or html."
	}
	switch m.Importance {
	case "":
		m.Importance = "normal"
	case "normal", "high", "urgent":
	default:
		return ChatMessage{}, "Invalid importance '" + in.Importance + "': use normal, high or urgent."
	}
	if in.Subject != nil {
		m.Subject = *in.Subject
	}
	referenced := map[string]bool{}
	for _, g := range attachmentTagRE.FindAllStringSubmatch(m.Content, -1) {
		referenced[g[1]] = true
	}
	attached := map[string]bool{}
	for _, a := range in.Attachments {
		if a.ID == "" {
			return ChatMessage{}, "Attachment id is required."
		}
		if !referenced[a.ID] {
			return ChatMessage{}, "Attachment with id '" + a.ID + "' is not referenced in the message body: add <attachment id=\"" + a.ID + "\"></attachment>."
		}
		attached[a.ID] = true
		ca := ChatAttachment{ID: a.ID, ContentType: a.ContentType}
		if a.ContentURL != nil {
			ca.ContentURL = *a.ContentURL
		}
		if a.Name != nil {
			ca.Name = *a.Name
		}
		switch {
		case strings.HasPrefix(a.ContentType, "application/vnd.microsoft.card."):
			var s string
			if err := json.Unmarshal(a.Content, &s); err != nil {
				return ChatMessage{}, "Attachment '" + a.ID + "': content of a card must be a JSON string holding the card, not an object."
			}
			var card map[string]any
			if err := json.Unmarshal([]byte(s), &card); err != nil {
				return ChatMessage{}, "Attachment '" + a.ID + "': the card content is not valid JSON: " + err.Error()
			}
			ca.Content = s
		case a.ContentType == "reference":
			if ca.ContentURL == "" {
				return ChatMessage{}, "Attachment '" + a.ID + "': a reference attachment needs contentUrl."
			}
		case a.ContentType == "":
			return ChatMessage{}, "Attachment '" + a.ID + "': contentType is required."
		}
		m.Attachments = append(m.Attachments, ca)
	}
	for id := range referenced {
		if !attached[id] {
			return ChatMessage{}, "The message body references attachment '" + id + "' that is not in attachments."
		}
	}
	tagged := map[int]bool{}
	for _, g := range atTagRE.FindAllStringSubmatch(m.Content, -1) {
		n, _ := strconv.Atoi(g[1])
		tagged[n] = true
	}
	mentioned := map[int]bool{}
	for _, mn := range in.Mentions {
		if mn.ID == nil {
			return ChatMessage{}, "Mention id is required."
		}
		if !tagged[*mn.ID] {
			return ChatMessage{}, "Mention with id " + strconv.Itoa(*mn.ID) + " has no matching <at id=\"" + strconv.Itoa(*mn.ID) + "\"> in the message body."
		}
		if mn.Mentioned.User == nil || mn.Mentioned.User.ID == "" {
			return ChatMessage{}, "Mention with id " + strconv.Itoa(*mn.ID) + " does not say who is mentioned (mentioned.user.id)."
		}
		mentioned[*mn.ID] = true
		m.Mentions = append(m.Mentions, ChatMention{ID: *mn.ID, MentionText: mn.MentionText, UserID: mn.Mentioned.User.ID, DisplayName: mn.Mentioned.User.DisplayName})
	}
	for id := range tagged {
		if !mentioned[id] {
			return ChatMessage{}, "The message body has <at id=\"" + strconv.Itoa(id) + "\"> without a matching entry in mentions."
		}
	}
	return m, ""
}

// chatMessageJSON is Graph's chatMessage, in the order Graph sends it.
type chatMessageJSON struct {
	Context              string  `json:"@odata.context"`
	ID                   string  `json:"id"`
	ReplyToID            *string `json:"replyToId"`
	ETag                 string  `json:"etag"`
	MessageType          string  `json:"messageType"`
	CreatedDateTime      string  `json:"createdDateTime"`
	LastModifiedDateTime string  `json:"lastModifiedDateTime"`
	LastEditedDateTime   *string `json:"lastEditedDateTime"`
	DeletedDateTime      *string `json:"deletedDateTime"`
	Subject              *string `json:"subject"`
	Summary              *string `json:"summary"`
	ChatID               *string `json:"chatId"`
	Importance           string  `json:"importance"`
	Locale               string  `json:"locale"`
	WebURL               *string `json:"webUrl"`
	PolicyViolation      any     `json:"policyViolation"`
	EventDetail          any     `json:"eventDetail"`
	From                 struct {
		Application any `json:"application"`
		Device      any `json:"device"`
		User        struct {
			ID               string `json:"id"`
			DisplayName      string `json:"displayName"`
			UserIdentityType string `json:"userIdentityType"`
		} `json:"user"`
	} `json:"from"`
	Body            itemBody `json:"body"`
	ChannelIdentity *struct {
		TeamID    string `json:"teamId"`
		ChannelID string `json:"channelId"`
	} `json:"channelIdentity"`
	Attachments []attachmentJSON `json:"attachments"`
	Mentions    []mentionJSON    `json:"mentions"`
	Reactions   []any            `json:"reactions"`
}

type attachmentJSON struct {
	ID           string  `json:"id"`
	ContentType  string  `json:"contentType"`
	ContentURL   *string `json:"contentUrl"`
	Content      *string `json:"content"`
	Name         *string `json:"name"`
	ThumbnailURL *string `json:"thumbnailUrl"`
}

type mentionJSON struct {
	ID          int    `json:"id"`
	MentionText string `json:"mentionText"`
	Mentioned   struct {
		Application  any `json:"application"`
		Device       any `json:"device"`
		Conversation any `json:"conversation"`
		User         struct {
			ID               string `json:"id"`
			DisplayName      string `json:"displayName"`
			UserIdentityType string `json:"userIdentityType"`
		} `json:"user"`
	} `json:"mentioned"`
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func renderChatMessage(m ChatMessage) chatMessageJSON {
	ts := m.Created.UTC().Format("2006-01-02T15:04:05.000Z")
	j := chatMessageJSON{
		ID: m.ID, ReplyToID: strPtr(m.ReplyToID), ETag: m.ID, MessageType: "message",
		CreatedDateTime: ts, LastModifiedDateTime: ts, Subject: strPtr(m.Subject),
		Importance: m.Importance, Locale: "en-us",
		Body:        itemBody{ContentType: m.ContentType, Content: m.Content},
		Attachments: []attachmentJSON{}, Mentions: []mentionJSON{}, Reactions: []any{},
	}
	j.From.User.ID, j.From.User.DisplayName, j.From.User.UserIdentityType = m.From.ID, m.From.DisplayName, "aadUser"
	for _, a := range m.Attachments {
		j.Attachments = append(j.Attachments, attachmentJSON{ID: a.ID, ContentType: a.ContentType, ContentURL: strPtr(a.ContentURL), Content: strPtr(a.Content), Name: strPtr(a.Name)})
	}
	for _, mn := range m.Mentions {
		mj := mentionJSON{ID: mn.ID, MentionText: mn.MentionText}
		mj.Mentioned.User.ID, mj.Mentioned.User.DisplayName, mj.Mentioned.User.UserIdentityType = mn.UserID, mn.DisplayName, "aadUser"
		j.Mentions = append(j.Mentions, mj)
	}
	return j
}

// readPosted reads and validates a posted message, writing Graph's 400.
func readPosted(w http.ResponseWriter, r *http.Request, u *User) (ChatMessage, bool) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeGraphError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The message is too large.")
		return ChatMessage{}, false
	}
	m, msg := parsePosted(raw)
	if msg != "" {
		badRequest(w, "%s", msg)
		return ChatMessage{}, false
	}
	m.From = u
	m.Created = u.now()
	return m, true
}

// nextMessageID hands out epoch-millisecond IDs, unique in the tenant.
// The tenant lock must be held.
func (t *Tenant) nextMessageID(now time.Time) string {
	id := max(now.UnixMilli(), t.graph.seq+1)
	t.graph.seq = id
	return strconv.FormatInt(id, 10)
}

// Graph API: POST /teams/{team-id}/channels/{channel-id}/messages and
// POST /teams/{team-id}/channels/{channel-id}/messages/{message-id}/replies
func (s *Server) handleSendChannelMessage(w http.ResponseWriter, r *http.Request, u *User) {
	m, ok := readPosted(w, r, u)
	if !ok {
		return
	}
	unlock := u.tenant.lockGraph()
	defer unlock()
	tm := findTeam(w, u, r.PathValue("team"))
	if tm == nil {
		return
	}
	i := slices.IndexFunc(tm.channels, func(c *Channel) bool { return c.ID == r.PathValue("channel") })
	if i < 0 {
		writeGraphError(w, http.StatusNotFound, "NotFound", "Channel "+r.PathValue("channel")+" not found in team "+tm.ID+".")
		return
	}
	ch := tm.channels[i]
	if parent := r.PathValue("message"); parent != "" {
		if !slices.ContainsFunc(ch.messages, func(p ChatMessage) bool { return p.ID == parent && p.ReplyToID == "" }) {
			writeGraphError(w, http.StatusNotFound, "NotFound", "Message "+parent+" not found in channel "+ch.ID+".")
			return
		}
		m.ReplyToID = parent
	}
	m.ID = u.tenant.nextMessageID(m.Created)
	ch.messages = append(ch.messages, m)
	j := renderChatMessage(m)
	j.Context = "https://graph.microsoft.com/v1.0/$metadata#teams('" + tm.ID + "')/channels('" + url.PathEscape(ch.ID) + "')/messages/$entity"
	parentID := cmpOrString(m.ReplyToID, m.ID)
	web := "https://teams.microsoft.com/l/message/" + url.PathEscape(ch.ID) + "/" + m.ID + "?groupId=" + tm.ID + "&tenantId=" + u.TenantID + "&createdTime=" + m.ID + "&parentMessageId=" + parentID
	j.WebURL = &web
	j.ChannelIdentity = &struct {
		TeamID    string `json:"teamId"`
		ChannelID string `json:"channelId"`
	}{tm.ID, ch.ID}
	writeJSON(w, http.StatusCreated, j)
}

func cmpOrString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Graph API: POST /chats/{chat-id}/messages
func (s *Server) handleSendChatMessage(w http.ResponseWriter, r *http.Request, u *User) {
	m, ok := readPosted(w, r, u)
	if !ok {
		return
	}
	unlock := u.tenant.lockGraph()
	i := slices.IndexFunc(u.tenant.graph.chats, func(c *Chat) bool { return c.ID == r.PathValue("chat") })
	if i < 0 {
		unlock()
		writeGraphError(w, http.StatusNotFound, "NotFound", "Chat "+r.PathValue("chat")+" not found.")
		return
	}
	c := u.tenant.graph.chats[i]
	if !slices.Contains(c.members, u) {
		unlock()
		writeGraphError(w, http.StatusForbidden, "Forbidden", "Forbidden: the user is not a member of chat "+c.ID+".")
		return
	}
	m = c.add(m)
	members := slices.Clone(c.members)
	unlock()
	s.chatMessagePosted(c.ID, members, m.ID)

	j := renderChatMessage(m)
	j.Context = "https://graph.microsoft.com/v1.0/$metadata#chats('" + url.PathEscape(c.ID) + "')/messages/$entity"
	chatID := c.ID
	j.ChatID = &chatID
	writeJSON(w, http.StatusCreated, j)
}
