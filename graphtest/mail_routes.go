package graphtest

import (
	"cmp"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// mailFolderJSON is Graph's mailFolder.
type mailFolderJSON struct {
	ID               string `json:"id"`
	DisplayName      string `json:"displayName"`
	ParentFolderID   string `json:"parentFolderId"`
	ChildFolderCount int    `json:"childFolderCount"`
	UnreadItemCount  int    `json:"unreadItemCount"`
	TotalItemCount   int    `json:"totalItemCount"`
	SizeInBytes      int    `json:"sizeInBytes"`
	IsHidden         bool   `json:"isHidden"`
}

func (d *userData) renderFolder(f *mailFolder) mailFolderJSON {
	j := mailFolderJSON{ID: f.id, DisplayName: f.displayName, ParentFolderID: f.parentID, IsHidden: f.hidden}
	for _, c := range d.folders {
		if c.parentID == f.id {
			j.ChildFolderCount++
		}
	}
	for _, m := range d.messages {
		if m.folderID == f.id {
			j.TotalItemCount++
			j.SizeInBytes += len(m.BodyHTML) + len(m.Subject) + 512
			if !m.IsRead {
				j.UnreadItemCount++
			}
		}
	}
	return j
}

// messageJSON is Graph's message, properties in the order Graph sends them.
type messageJSON struct {
	ETag                       string         `json:"@odata.etag"`
	ID                         string         `json:"id"`
	CreatedDateTime            string         `json:"createdDateTime"`
	LastModifiedDateTime       string         `json:"lastModifiedDateTime"`
	ChangeKey                  string         `json:"changeKey"`
	Categories                 []string       `json:"categories"`
	ReceivedDateTime           string         `json:"receivedDateTime"`
	SentDateTime               *string        `json:"sentDateTime"`
	HasAttachments             bool           `json:"hasAttachments"`
	InternetMessageID          string         `json:"internetMessageId"`
	Subject                    string         `json:"subject"`
	BodyPreview                string         `json:"bodyPreview,omitempty"`
	Importance                 string         `json:"importance"`
	ParentFolderID             string         `json:"parentFolderId"`
	ConversationID             string         `json:"conversationId"`
	IsDeliveryReceiptRequested bool           `json:"isDeliveryReceiptRequested"`
	IsReadReceiptRequested     bool           `json:"isReadReceiptRequested"`
	IsRead                     bool           `json:"isRead"`
	IsDraft                    bool           `json:"isDraft"`
	WebLink                    string         `json:"webLink"`
	InferenceClassification    string         `json:"inferenceClassification"`
	Body                       *itemBody      `json:"body,omitempty"`
	Sender                     *emailAddress  `json:"sender"`
	From                       *emailAddress  `json:"from"`
	ToRecipients               []emailAddress `json:"toRecipients"`
	CcRecipients               []emailAddress `json:"ccRecipients"`
	BccRecipients              []emailAddress `json:"bccRecipients"`
	ReplyTo                    []emailAddress `json:"replyTo"`
	Flag                       struct {
		FlagStatus string `json:"flagStatus"`
	} `json:"flag"`
	InternetMessageHeaders        []headerJSON  `json:"internetMessageHeaders,omitempty"`
	SingleValueExtendedProperties []extPropJSON `json:"singleValueExtendedProperties,omitempty"`
}

type headerJSON struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type extPropJSON struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

var extPropRE = regexp.MustCompile(`(?i)id\s+eq\s+'(string|integer)\s+0x([0-9a-f]+)'`)

// extendedProperties answers $expand=singleValueExtendedProperties($filter=
// id eq '...') for the two properties the fake models: the message class
// (String 0x001A) and the sensitivity (Integer 0x0036).
func extendedProperties(m *Message, expand string) []extPropJSON {
	var out []extPropJSON
	for _, g := range extPropRE.FindAllStringSubmatch(expand, -1) {
		tag, err := strconv.ParseUint(g[2], 16, 32)
		if err != nil {
			continue
		}
		switch {
		case strings.EqualFold(g[1], "string") && tag == 0x1a:
			out = append(out, extPropJSON{ID: "String 0x1a", Value: m.MessageClass})
		case strings.EqualFold(g[1], "integer") && tag == 0x36:
			n := map[string]string{"normal": "0", "personal": "1", "private": "2", "confidential": "3"}[m.Sensitivity]
			out = append(out, extPropJSON{ID: "Integer 0x36", Value: cmp.Or(n, "0")})
		}
	}
	return out
}

// messageProperties are the properties $select may name on messages.
var messageProperties = toMap(messageJSON{Body: &itemBody{}, BodyPreview: "x", InternetMessageHeaders: []headerJSON{{}}})

// renderMessage returns m as Graph's message; withBody false drops body and
// bodyPreview, as Mail.ReadBasic does. q holds the $select and $expand in
// force: internetMessageHeaders only when selected, extended properties
// only when expanded.
func renderMessage(w http.ResponseWriter, r *http.Request, m *Message, withBody bool, q url.Values) messageJSON {
	j := messageJSON{
		ETag: `W/"` + m.ChangeKey + `"`, ID: m.ID,
		CreatedDateTime: graphTime(m.Created)[:19] + "Z", LastModifiedDateTime: graphTime(m.LastModified)[:19] + "Z",
		ChangeKey: m.ChangeKey, Categories: nonNil(m.Categories),
		ReceivedDateTime: m.Received.UTC().Format(time.RFC3339), HasAttachments: m.HasAttachments,
		InternetMessageID: m.InternetMessageID, Subject: m.Subject, Importance: m.Importance,
		ParentFolderID: m.folderID, ConversationID: m.ConversationID, IsRead: m.IsRead, IsDraft: m.IsDraft,
		WebLink: m.WebLink, InferenceClassification: m.InferenceClassification,
		ToRecipients: recipients(m.To), CcRecipients: recipients(m.Cc), BccRecipients: recipients(m.Bcc), ReplyTo: recipients(m.ReplyTo),
	}
	j.Flag.FlagStatus = m.FlagStatus
	if slices.ContainsFunc(selectFields(q), func(f string) bool { return strings.EqualFold(f, "internetMessageHeaders") }) {
		j.InternetMessageHeaders = []headerJSON{}
		for _, h := range m.Headers {
			j.InternetMessageHeaders = append(j.InternetMessageHeaders, headerJSON(h))
		}
	}
	if e := q.Get("$expand"); strings.Contains(strings.ToLower(e), "singlevalueextendedproperties") {
		j.SingleValueExtendedProperties = extendedProperties(m, e)
	}
	if !m.Sent.IsZero() {
		s := m.Sent.UTC().Format(time.RFC3339)
		j.SentDateTime = &s
	}
	if m.From.Address != "" {
		f, s := recipient(m.From), recipient(m.Sender)
		j.From, j.Sender = &f, &s
	}
	if withBody {
		b := renderBody(w, r, m.BodyHTML)
		j.Body = &b
		j.BodyPreview = preview(m.BodyHTML)
	}
	return j
}

func folderNotFound(w http.ResponseWriter) {
	writeGraphError(w, http.StatusNotFound, "ErrorInvalidIdMalformed", "Id is malformed.")
}

// Graph API: GET /me/mailFolders
func (s *Server) handleListMailFolders(w http.ResponseWriter, r *http.Request, u *User) {
	if !mailboxGuard(w, u) {
		return
	}
	unlock := u.lock()
	d := u.data
	var items []any
	for _, f := range d.folders {
		if f.parentID == d.folders[0].id && (!f.hidden || r.URL.Query().Get("includeHiddenFolders") == "true") {
			items = append(items, d.renderFolder(f))
		}
	}
	unlock()
	writePage(w, r, metadata(u, "mailFolders"), items, 10)
}

// Graph API: GET /me/mailFolders/{id}
func (s *Server) handleGetMailFolder(w http.ResponseWriter, r *http.Request, u *User) {
	if !mailboxGuard(w, u) {
		return
	}
	unlock := u.lock()
	f := u.data.folder(r.PathValue("id"))
	var out mailFolderJSON
	if f != nil {
		out = u.data.renderFolder(f)
	}
	unlock()
	if f == nil {
		folderNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// Graph API: GET /me/mailFolders/{id}/messages, GET /me/messages (every
// folder)
func (s *Server) handleListMessages(w http.ResponseWriter, r *http.Request, u *User) {
	if !mailboxGuard(w, u) {
		return
	}
	fields, ok := selectOrFail(w, r.URL.Query(), messageProperties, "message")
	if !ok {
		return
	}
	withBody := s.tokenHas(r, scopesMailBody)
	unlock := u.lock()
	var items []any
	context := metadata(u, "messages")
	folders := u.data.folders
	if id := r.PathValue("id"); id != "" {
		f := u.data.folder(id)
		if f == nil {
			unlock()
			folderNotFound(w)
			return
		}
		folders = []*mailFolder{f}
		context = metadata(u, "mailFolders('"+f.id+"')/messages")
	}
	var msgs []*Message
	for _, f := range folders {
		msgs = append(msgs, u.data.folderMessages(f.id)...)
	}
	slices.SortStableFunc(msgs, func(a, b *Message) int { return b.Received.Compare(a.Received) })
	for _, m := range msgs {
		items = append(items, applySelect(renderMessage(w, r, m, withBody, r.URL.Query()), fields))
	}
	unlock()
	writePage(w, r, context, items, 10)
}

// Graph API: GET /me/messages/{id}
func (s *Server) handleGetMessage(w http.ResponseWriter, r *http.Request, u *User) {
	if !mailboxGuard(w, u) {
		return
	}
	fields, ok := selectOrFail(w, r.URL.Query(), messageProperties, "message")
	if !ok {
		return
	}
	withBody := s.tokenHas(r, scopesMailBody)
	unlock := u.lock()
	m := u.data.messages[r.PathValue("id")]
	var out any
	if m != nil {
		out = applySelect(renderMessage(w, r, m, withBody, r.URL.Query()), fields)
	}
	unlock()
	if out == nil {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

var receivedFilterRE = regexp.MustCompile(`(?i)^\s*receivedDateTime\s+(ge|gt)\s+(\S+)\s*$`)

// Graph API: GET /me/mailFolders/{id}/messages/delta
func (s *Server) handleMessagesDelta(w http.ResponseWriter, r *http.Request, u *User) {
	if !mailboxGuard(w, u) {
		return
	}
	unlock := u.lock()
	f := u.data.folder(r.PathValue("id"))
	unlock()
	if f == nil {
		folderNotFound(w)
		return
	}
	withBody := s.tokenHas(r, scopesMailBody)
	filter := func(q url.Values) func(*Message) bool {
		m := receivedFilterRE.FindStringSubmatch(q.Get("$filter"))
		if m == nil {
			return func(*Message) bool { return true }
		}
		ts, _ := time.Parse(time.RFC3339Nano, m[2])
		if strings.EqualFold(m[1], "gt") {
			return func(msg *Message) bool { return msg.Received.After(ts) }
		}
		return func(msg *Message) bool { return !msg.Received.Before(ts) }
	}
	serveDelta(w, r, u, deltaSpec{
		odataType: "message",
		initial: func(q url.Values) (url.Values, string) {
			keep := url.Values{"folder": {f.id}}
			if q.Has("$search") {
				return nil, "The query parameter '$search' is not supported with change tracking over the 'message' resource."
			}
			if v := q.Get("$orderby"); v != "" {
				if !regexp.MustCompile(`(?i)^\s*receivedDateTime(\s+desc)?\s*$`).MatchString(v) {
					return nil, "The $orderby value '" + v + "' is not supported with change tracking: only receivedDateTime desc is."
				}
			}
			if v := q.Get("$filter"); v != "" {
				m := receivedFilterRE.FindStringSubmatch(v)
				if m == nil {
					return nil, "The $filter value '" + v + "' is not supported with change tracking: only receivedDateTime ge or gt a date and time is."
				}
				if _, err := time.Parse(time.RFC3339Nano, m[2]); err != nil {
					return nil, "The $filter value '" + m[2] + "' is not a valid date and time."
				}
				keep.Set("$filter", v)
			}
			if fields := selectFields(q); fields != nil {
				if bad, ok := checkSelect(fields, messageProperties); !ok {
					return nil, "Could not find a property named '" + bad + "' on type 'microsoft.graph.message'."
				}
				keep.Set("$select", q.Get("$select"))
			}
			if v := q.Get("$expand"); v != "" {
				keep.Set("$expand", v)
			}
			if v := q.Get("changeType"); v != "" {
				switch strings.ToLower(v) {
				case "created", "updated", "deleted":
					keep.Set("changeType", strings.ToLower(v))
				default:
					return nil, "The value '" + v + "' of changeType is not valid: use created, updated or deleted."
				}
			}
			return keep, ""
		},
		view: func(q url.Values) []viewItem {
			keep := filter(q)
			var out []viewItem
			for _, m := range u.data.folderMessages(q.Get("folder")) {
				if keep(m) {
					out = append(out, viewItem{id: m.ID, rev: m.rev})
				}
			}
			return out
		},
		want: func(q url.Values, kind string) bool {
			ct := q.Get("changeType")
			return ct == "" || ct == kind
		},
		render: func(id string, q url.Values) (any, bool) {
			m := u.data.messages[id]
			if m == nil || m.folderID != q.Get("folder") || !filter(q)(m) {
				return nil, false
			}
			return applySelect(renderMessage(w, r, m, withBody, q), selectFields(q)), true
		},
	})
}
