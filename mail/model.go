package mail

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// Message is an Outlook message as Graph returns it. Only the properties
// Sync and Message select are here; JSON names are Graph's. Times are in
// UTC. Body is set only when a body was asked for; InternetMessageHeaders
// and SingleValueExtendedProperties only when SyncRequest.Headers or
// SyncRequest.Classification selected them.
//
// A Message is plain data; it is not safe to modify concurrently.
type Message struct {
	ID                string      `json:"id"`
	InternetMessageID string      `json:"internetMessageId,omitempty"`
	ConversationID    string      `json:"conversationId,omitempty"`
	Subject           string      `json:"subject,omitempty"`
	From              Recipient   `json:"from,omitzero"`
	Sender            Recipient   `json:"sender,omitzero"`
	ToRecipients      []Recipient `json:"toRecipients,omitempty"`
	CcRecipients      []Recipient `json:"ccRecipients,omitempty"`
	BccRecipients     []Recipient `json:"bccRecipients,omitempty"`
	ReplyTo           []Recipient `json:"replyTo,omitempty"`
	ReceivedDateTime  time.Time   `json:"receivedDateTime,omitzero"`
	SentDateTime      time.Time   `json:"sentDateTime,omitzero"`
	BodyPreview       string      `json:"bodyPreview,omitempty"`
	HasAttachments    Bool        `json:"hasAttachments,omitempty"`
	Importance        string      `json:"importance,omitempty"` // "low", "normal" or "high"
	Categories        []string    `json:"categories,omitempty"`
	IsDraft           Bool        `json:"isDraft,omitempty"`
	IsRead            Bool        `json:"isRead,omitempty"`
	ParentFolderID    string      `json:"parentFolderId,omitempty"`
	WebLink           string      `json:"webLink,omitempty"`
	Body              *ItemBody   `json:"body,omitempty"`

	// InternetMessageHeaders are the message's RFC 5322 headers, when
	// selected (SyncRequest.Headers).
	InternetMessageHeaders []InternetMessageHeader `json:"internetMessageHeaders,omitempty"`
	// SingleValueExtendedProperties carry the MAPI message class and
	// sensitivity, when selected (SyncRequest.Classification). Read them
	// with MessageClass and Sensitivity.
	SingleValueExtendedProperties []ExtendedProperty `json:"singleValueExtendedProperties,omitempty"`
}

// Recipient is a sender or recipient of a message.
type Recipient struct {
	EmailAddress EmailAddress `json:"emailAddress"`
}

// EmailAddress is a name and an SMTP address as Graph reports them. Name
// is whatever the sender wrote and proves nothing; only Address identifies
// the mailbox (see ParseAddress).
type EmailAddress struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address,omitempty"`
}

// ItemBody is a message body.
type ItemBody struct {
	ContentType string `json:"contentType"` // "text" or "html"
	Content     string `json:"content"`
}

// InternetMessageHeader is one RFC 5322 header of a message.
type InternetMessageHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ExtendedProperty is a single-value MAPI property of a message, such as
// {"id": "String 0x1a", "value": "IPM.Note"}.
type ExtendedProperty struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// The MAPI properties Classification selects, in Graph's id syntax.
const (
	propMessageClass = "String 0x001A"  // PidTagMessageClass
	propSensitivity  = "Integer 0x0036" // PidTagSensitivity
)

// Header returns the value of the first header named name
// (case-insensitive), or "" when the message has none or headers were not
// selected.
func (m *Message) Header(name string) string {
	for _, h := range m.InternetMessageHeaders {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// MessageClass returns the MAPI message class ("IPM.Note",
// "IPM.Schedule.Meeting.Resp.Pos", "REPORT.IPM.Note.NDR", ...), or "" when
// it was not selected.
func (m *Message) MessageClass() string {
	v, _ := m.extended(0x001A, "string")
	return v
}

// Sensitivity returns the message's sensitivity, "normal", "personal",
// "private" or "confidential", or "" when it was not selected.
func (m *Message) Sensitivity() string {
	v, ok := m.extended(0x0036, "integer")
	if !ok {
		return ""
	}
	switch strings.TrimSpace(v) {
	case "0":
		return "normal"
	case "1":
		return "personal"
	case "2":
		return "private"
	case "3":
		return "confidential"
	}
	return ""
}

// extended returns the value of the extended property with the given tag
// and type. Graph echoes ids in its own spelling ("String 0x1a"), so the
// tag is compared as a number.
func (m *Message) extended(tag uint64, typ string) (string, bool) {
	for _, p := range m.SingleValueExtendedProperties {
		t, hex, ok := strings.Cut(strings.TrimSpace(p.ID), " ")
		if !ok || !strings.EqualFold(t, typ) {
			continue
		}
		hex = strings.TrimSpace(hex)
		if len(hex) > 2 && (hex[:2] == "0x" || hex[:2] == "0X") {
			hex = hex[2:]
		}
		if n, err := strconv.ParseUint(hex, 16, 32); err == nil && n == tag {
			return p.Value, true
		}
	}
	return "", false
}

// utc puts the message's times in UTC.
func (m *Message) utc() {
	m.ReceivedDateTime = m.ReceivedDateTime.UTC()
	m.SentDateTime = m.SentDateTime.UTC()
}

// Bool is a JSON boolean that also accepts the strings "true" and "false":
// Microsoft's own delta example returns "isRead": "true". It marshals as a
// plain JSON boolean; use it as a bool (if m.IsRead { ... }).
type Bool bool

// UnmarshalJSON accepts true, false, null (false), "true" and "false"
// (case-insensitive).
func (b *Bool) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) >= 2 && data[0] == '"' && data[len(data)-1] == '"' {
		data = data[1 : len(data)-1]
	}
	switch {
	case bytes.EqualFold(data, []byte("true")):
		*b = true
	case bytes.EqualFold(data, []byte("false")), bytes.Equal(data, []byte("null")):
		*b = false
	default:
		return invalid("Bool.UnmarshalJSON", "JSON boolean", "want true or false, got "+quote(string(data)))
	}
	return nil
}

// Folder is a mail folder.
type Folder struct {
	ID               string `json:"id"`
	DisplayName      string `json:"displayName"`
	ParentFolderID   string `json:"parentFolderId,omitempty"`
	ChildFolderCount int    `json:"childFolderCount"`
	UnreadItemCount  int    `json:"unreadItemCount"`
	TotalItemCount   int    `json:"totalItemCount"`
	IsHidden         bool   `json:"isHidden,omitempty"`
	// WellKnownName is the folder's well-known name ("inbox",
	// "sentitems", ...) when Folders recognised it, else "". (Graph's beta
	// schema has this property; v1.0 does not return it, so Folders fills
	// it in.)
	WellKnownName string `json:"wellKnownName,omitempty"`
}

// Well-known folder names. They work in any mailbox language and can be
// used wherever a folder ID is expected.
const (
	Inbox        = "inbox"
	SentItems    = "sentitems"
	Archive      = "archive"
	DeletedItems = "deleteditems"
	JunkEmail    = "junkemail"
	Drafts       = "drafts"
)

// WellKnownFolders returns the well-known folder names Folders recognises.
func WellKnownFolders() []string {
	return []string{Inbox, SentItems, Archive, DeletedItems, JunkEmail, Drafts}
}
