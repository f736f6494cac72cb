package graphtest

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Message is a message in a user's mailbox, as the fake stores it.
// AddMessage fills what is left empty; the fake renders it as Graph's
// message.
//
// Message is a plain value: the fake keeps its own copy, so changing a
// Message it returned changes nothing; use UpdateMessage.
type Message struct {
	// ID is the message ID; AddMessage generates one when empty. Moving a
	// message keeps its ID (as immutable IDs do).
	ID string
	// Folder is the message's folder: a well-known name (inbox, drafts,
	// sentitems, deleteditems, junkemail, archive, outbox) or a folder ID
	// from AddMailFolder. AddMessage defaults it to inbox (drafts for a
	// draft); an unknown folder also means inbox.
	Folder  string
	Subject string
	// From is the author; Sender, the account that sent it, defaults to From.
	From, Sender         Address
	To, Cc, Bcc, ReplyTo []Address
	// Received and Sent default to the server clock.
	Received, Sent time.Time
	// BodyHTML is the HTML body. Graph wraps it in <html><body>.
	BodyHTML string
	IsDraft  bool
	IsRead   bool
	// Categories are the Outlook categories.
	Categories []string
	// Importance is low, normal (default) or high.
	Importance     string
	HasAttachments bool
	// InternetMessageID is the RFC 2822 Message-ID; generated when empty.
	InternetMessageID string
	// ConversationID groups a thread; generated from the subject when empty.
	ConversationID string
	// InferenceClassification is focused (default) or other.
	InferenceClassification string
	// FlagStatus is notFlagged (default), flagged or complete.
	FlagStatus string
	// Headers are the internet message headers (List-Unsubscribe,
	// Auto-Submitted...). Graph returns them only when $select names
	// internetMessageHeaders.
	Headers []MessageHeader
	// MessageClass is the MAPI message class (default IPM.Note), and
	// Sensitivity is normal (default), personal, private or confidential.
	// Graph returns them as singleValueExtendedProperties when $expand
	// asks for String 0x001A and Integer 0x0036.
	MessageClass string
	Sensitivity  string
	// Created, LastModified, ChangeKey and WebLink are maintained by the fake.
	Created, LastModified time.Time
	ChangeKey             string
	WebLink               string

	folderID string
	rev      int64
}

// MessageHeader is an internet message header (a plain value).
type MessageHeader struct {
	Name  string
	Value string
}

// mailFolder is a folder of a user's mailbox.
type mailFolder struct {
	id          string
	displayName string
	wellKnown   string
	parentID    string
	hidden      bool
}

// wellKnownFolders are the folders every mailbox has, under the root.
var wellKnownFolders = []struct{ name, display string }{
	{"archive", "Archive"},
	{"conversationhistory", "Conversation History"},
	{"deleteditems", "Deleted Items"},
	{"drafts", "Drafts"},
	{"inbox", "Inbox"},
	{"junkemail", "Junk Email"},
	{"outbox", "Outbox"},
	{"sentitems", "Sent Items"},
}

func defaultFolders() []*mailFolder {
	root := &mailFolder{id: outlookID("AQMkADYAAAIBCAAAAA"), displayName: "Top of Information Store", wellKnown: "msgfolderroot"}
	out := []*mailFolder{root}
	for _, f := range wellKnownFolders {
		out = append(out, &mailFolder{id: outlookID("AQMkADYAAAIBDAAAAA"), displayName: f.display, wellKnown: f.name, parentID: root.id})
	}
	return out
}

// folder finds a folder by ID or well-known name (case-insensitive).
func (d *userData) folder(idOrName string) *mailFolder {
	for _, f := range d.folders {
		if f.id == idOrName || (f.wellKnown != "" && strings.EqualFold(f.wellKnown, idOrName)) {
			return f
		}
	}
	return nil
}

// AddMailFolder adds a folder under the mailbox root and returns its ID.
func (u *User) AddMailFolder(displayName string) string {
	defer u.lock()()
	d := u.data
	f := &mailFolder{id: outlookID("AQMkADYAAAIBDAAAAA"), displayName: displayName, parentID: d.folders[0].id}
	d.folders = append(d.folders, f)
	return f.id
}

// clone returns a copy sharing no slices with m.
func (m *Message) clone() Message {
	c := *m
	c.To, c.Cc, c.Bcc, c.ReplyTo = slices.Clone(m.To), slices.Clone(m.Cc), slices.Clone(m.Bcc), slices.Clone(m.ReplyTo)
	c.Categories = slices.Clone(m.Categories)
	c.Headers = slices.Clone(m.Headers)
	return c
}

// AddMessage stores m in u's mailbox and returns it as stored, with its ID
// and the fields the fake fills in.
func (u *User) AddMessage(m Message) Message {
	defer u.lock()()
	d := u.data
	now := u.now()
	c := m.clone()
	if c.ID == "" {
		c.ID = outlookID("AAMkAGI1AAA")
	}
	if c.Folder == "" && c.IsDraft {
		c.Folder = "drafts"
	}
	c.Created = cmp.Or(c.Created, now)
	if c.Received.IsZero() {
		c.Received = now
	}
	if c.Sent.IsZero() && !c.IsDraft {
		c.Sent = c.Received
	}
	if c.ConversationID == "" {
		subj := strings.TrimSpace(c.Subject)
		for _, p := range []string{"RE:", "Re:", "FW:", "Fw:", "Fwd:"} {
			subj = strings.TrimSpace(strings.TrimPrefix(subj, p))
		}
		c.ConversationID = "AAQkAGI1" + shortHash(u.ID+"|"+subj, 24) + "="
	}
	if c.InternetMessageID == "" {
		domain := "contoso.com"
		if _, dom, ok := strings.Cut(c.From.Address, "@"); ok {
			domain = dom
		}
		c.InternetMessageID = "<" + strings.ToUpper(randomToken(16)) + "@" + domain + ">"
	}
	d.storeMessage(u, &c, c.Folder)
	return c.clone()
}

// storeMessage fills the defaults of c, files it in folder and stores it.
func (d *userData) storeMessage(u *User, c *Message, folder string) {
	f := d.folder(folder)
	if f == nil {
		f = d.folder("inbox")
	}
	c.folderID = f.id
	c.Folder = cmp.Or(f.wellKnown, f.id)
	if c.Sender.Address == "" {
		c.Sender = c.From
	}
	c.Importance = cmp.Or(c.Importance, "normal")
	c.InferenceClassification = cmp.Or(c.InferenceClassification, "focused")
	c.FlagStatus = cmp.Or(c.FlagStatus, "notFlagged")
	c.MessageClass = cmp.Or(c.MessageClass, "IPM.Note")
	c.Sensitivity = cmp.Or(c.Sensitivity, "normal")
	c.LastModified = u.now()
	c.ChangeKey = changeKey()
	c.WebLink = "https://outlook.office365.com/owa/?ItemID=" + url.QueryEscape(c.ID) + "&exvsurl=1&viewmodel=ReadMessageItem"
	c.rev = d.nextRev()
	d.messages[c.ID] = c
}

// UpdateMessage applies change to the stored message with the given ID
// (mark read, flag, categorise...): delta reports it as updated. Changing
// Folder moves the message. It returns ErrNotFound for an unknown ID.
func (u *User) UpdateMessage(id string, change func(*Message)) error {
	defer u.lock()()
	d := u.data
	m := d.messages[id]
	if m == nil {
		return fmt.Errorf("graphtest: message %q: %w", id, ErrNotFound)
	}
	c := m.clone()
	change(&c)
	c.ID = m.ID
	d.storeMessage(u, &c, c.Folder)
	return nil
}

// MoveMessage moves the message to folder (a well-known name or folder ID):
// the source folder's delta reports it removed, the target's created. It
// returns ErrNotFound for an unknown message or folder.
func (u *User) MoveMessage(id, folder string) error {
	defer u.lock()()
	d := u.data
	m := d.messages[id]
	if m == nil {
		return fmt.Errorf("graphtest: message %q: %w", id, ErrNotFound)
	}
	if d.folder(folder) == nil {
		return fmt.Errorf("graphtest: mail folder %q: %w", folder, ErrNotFound)
	}
	c := m.clone()
	d.storeMessage(u, &c, folder)
	return nil
}

// DeleteMessage deletes the message permanently (delta reports it removed).
// Outlook's Delete key is MoveMessage(id, "deleteditems"). It returns
// ErrNotFound for an unknown ID.
func (u *User) DeleteMessage(id string) error {
	defer u.lock()()
	d := u.data
	if d.messages[id] == nil {
		return fmt.Errorf("graphtest: message %q: %w", id, ErrNotFound)
	}
	delete(d.messages, id)
	d.rev++
	return nil
}

// Messages returns the messages of folder (a well-known name or folder ID),
// newest first; nil for an unknown folder.
func (u *User) Messages(folder string) []Message {
	defer u.lock()()
	f := u.data.folder(folder)
	if f == nil {
		return nil
	}
	var out []Message
	for _, m := range u.data.folderMessages(f.id) {
		out = append(out, m.clone())
	}
	return out
}

// folderMessages lists a folder's messages, newest first.
func (d *userData) folderMessages(folderID string) []*Message {
	var out []*Message
	for _, m := range d.messages {
		if m.folderID == folderID {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *Message) int {
		return cmp.Or(b.Received.Compare(a.Received), strings.Compare(a.ID, b.ID))
	})
	return out
}
