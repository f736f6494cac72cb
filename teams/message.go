package teams

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"strings"

	"github.com/m365kit/m365kit/graphclient"
)

// MaxMessageSize is the largest message, in bytes of its JSON encoding
// (body, cards and mentions together), that Build accepts. Teams documents
// "approximately 28 KB per post" for channel posts and chats, counting the
// text, image links and @mentions (Microsoft Teams limits and
// specifications); larger posts fail with "Request Entity too large".
const MaxMessageSize = 28 * 1024

// Importance is a message's importance. The zero value leaves it to Teams
// (normal).
type Importance string

// The importances Graph accepts.
const (
	ImportanceNormal Importance = "normal"
	ImportanceHigh   Importance = "high"
	// ImportanceUrgent notifies the recipients repeatedly; Teams offers it
	// in chats.
	ImportanceUrgent Importance = "urgent"
)

type partKind uint8

const (
	partText partKind = iota
	partHTML
	partMention
)

// Part is a piece of a message body: text, HTML or a mention. Make parts
// with [Text], [HTML] and [MentionUser].
type Part struct {
	kind   partKind
	s      string // text, HTML or display name
	userID string
}

// Text returns a body part that shows s exactly as written: characters
// HTML gives meaning to are escaped, line breaks are kept.
func Text(s string) Part { return Part{kind: partText, s: s} }

// HTML returns a body part of HTML formatting; it passes through
// [SanitizeHTML] when the message is built, so only the allow-listed
// elements survive.
func HTML(s string) Part { return Part{kind: partHTML, s: s} }

// MentionUser returns a body part that @mentions a user: it appears as
// displayName and notifies the user. userID is the user's Entra object ID
// (a [Member].UserID, for example).
func MentionUser(userID, displayName string) Part {
	return Part{kind: partMention, s: displayName, userID: userID}
}

// Message is a message to post: a body of parts, optional cards, a subject
// (channel posts only) and an importance. Messages are values; build them
// with struct literals or [TextMessage], [HTMLMessage], [ClipMessage] and
// [NoticeMessage]. A Message is safe for concurrent use as long as
// no one modifies it.
type Message struct {
	// Subject is the subject line of a channel post. Chats and replies
	// have none: PostToChat and Reply refuse a message with a subject.
	Subject string
	// Importance is empty (normal), ImportanceHigh or ImportanceUrgent.
	Importance Importance
	// Body is the message text, concatenated in order.
	Body []Part
	// Cards are attached after the body, in order.
	Cards []Card
}

// TextMessage returns a message of plain text s.
func TextMessage(s string) Message { return Message{Body: []Part{Text(s)}} }

// HTMLMessage returns a message of HTML s (sanitized when built).
func HTMLMessage(s string) Message { return Message{Body: []Part{HTML(s)}} }

// Card is a card attached to a message: either an [AdaptiveCard] built
// with this package's types, or a card written elsewhere (the Adaptive
// Cards Designer, a template) as JSON.
type Card struct {
	// ID is the attachment ID the body refers to. Empty means derived from
	// the card's content and position, so the same message always builds
	// the same way. If set, it may hold only letters, digits and '-'.
	ID string
	// Adaptive is the card, when built with this package.
	Adaptive *AdaptiveCard
	// JSON is the card's JSON object, when Adaptive is nil.
	JSON json.RawMessage
	// ContentType is the card type; empty means ContentTypeAdaptiveCard.
	// It must start with "application/vnd.microsoft.card.".
	ContentType string
}

// Build returns the chatMessage the post methods send for m: text escaped,
// HTML sanitized, mentions numbered 0, 1, ... in order of appearance with
// the <at id> markup and the mentions array matching, and each card
// serialized to a JSON string referenced by an <attachment id> tag. A body
// of plain text without markup characters or line breaks is sent as Teams'
// text content type, anything else as HTML.
//
// Build refuses, with an [*Error] matching [graphclient.ErrInvalidInput], a message
// without body or cards, an unknown importance, a multi-line subject, a
// mention without user ID or name, and a card that is not valid (a link
// that is not http or https, for one); and, matching
// [ErrMessageTooLarge], a message over [MaxMessageSize].
func (m Message) Build() (*ChatMessage, error) {
	const op = "Build"
	switch m.Importance {
	case "", ImportanceNormal, ImportanceHigh, ImportanceUrgent:
	default:
		return nil, invalid(op, "Message.Importance", "%q is not one of normal, high, urgent", string(m.Importance))
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, invalid(op, "Message.Subject", "must be a single line")
	}
	if len(m.Body) == 0 && len(m.Cards) == 0 {
		return nil, invalid(op, "Message", "has neither body nor cards")
	}
	cm := &ChatMessage{Subject: m.Subject, Importance: string(m.Importance)}

	if plain, ok := m.plainText(); ok {
		if strings.TrimSpace(plain) == "" {
			return nil, invalid(op, "Message.Body", "is empty")
		}
		cm.Body = ItemBody{Content: plain}
		return cm, checkSize(op, cm)
	}

	var b strings.Builder
	for i, p := range m.Body {
		switch p.kind {
		case partText:
			b.WriteString(escapeText(p.s))
		case partHTML:
			b.WriteString(SanitizeHTML(p.s))
		case partMention:
			id, name := strings.TrimSpace(p.userID), strings.TrimSpace(p.s)
			if id == "" {
				return nil, invalid(op, fmt.Sprintf("Message.Body[%d]", i), "mention of %q has no user ID", p.s)
			}
			if name == "" {
				return nil, invalid(op, fmt.Sprintf("Message.Body[%d]", i), "mention of user %s has no display name", id)
			}
			n := len(cm.Mentions)
			fmt.Fprintf(&b, `<at id="%d">%s</at>`, n, html.EscapeString(name))
			cm.Mentions = append(cm.Mentions, MentionEntry{
				ID:          n,
				MentionText: name,
				Mentioned:   &IdentitySet{User: &Identity{ID: id, DisplayName: name, UserIdentityType: "aadUser"}},
			})
		}
	}
	for i, c := range m.Cards {
		a, err := c.attachment(i)
		if err != nil {
			return nil, &Error{Op: op, Input: fmt.Sprintf("Message.Cards[%d]", i), Err: fmt.Errorf("%w: %w", err, graphclient.ErrInvalidInput)}
		}
		if i == 0 && b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(`<attachment id="` + a.ID + `"></attachment>`)
		cm.Attachments = append(cm.Attachments, a)
	}
	if len(cm.Attachments) == 0 && strings.TrimSpace(b.String()) == "" {
		return nil, invalid(op, "Message.Body", "is empty after sanitizing")
	}
	cm.Body = ItemBody{ContentType: ContentHTML, Content: b.String()}
	return cm, checkSize(op, cm)
}

// plainText returns the body as one string when it is only text parts
// without cards, and nothing in it reads differently as HTML.
func (m Message) plainText() (string, bool) {
	if len(m.Cards) > 0 {
		return "", false
	}
	var b strings.Builder
	for _, p := range m.Body {
		if p.kind != partText {
			return "", false
		}
		b.WriteString(p.s)
	}
	s := b.String()
	if strings.ContainsAny(s, "<>&\r\n") {
		return "", false
	}
	return s, true
}

// checkSize refuses a message over MaxMessageSize.
func checkSize(op string, cm *ChatMessage) error {
	n, err := encodedSize(cm)
	if err != nil {
		return &Error{Op: op, Input: "Message", Err: fmt.Errorf("encoding: %w: %w", err, graphclient.ErrInvalidInput)}
	}
	if n > MaxMessageSize {
		return &Error{Op: op, Input: "Message", Err: &cause{kind: ErrMessageTooLarge, detail: fmt.Sprintf(
			"message is %d bytes; Teams accepts about %d (28 KB) per message, body, cards and mentions together: shorten the text or the card, or link to the content instead",
			n, MaxMessageSize)}}
	}
	return nil
}

// encodedSize returns the length of v's JSON encoding without HTML
// escaping (what the body costs, not how Go's encoder spells '<').
func encodedSize(v any) (int, error) {
	data, err := marshalJSON(v)
	return len(data), err
}

// marshalJSON encodes v as JSON without escaping <, > and &.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// attachment encodes the card as the i-th attachment of a message.
func (c Card) attachment(i int) (Attachment, error) {
	ct := c.ContentType
	if ct == "" {
		ct = ContentTypeAdaptiveCard
	}
	if !strings.HasPrefix(ct, "application/vnd.microsoft.card.") {
		return Attachment{}, fmt.Errorf("ContentType %q is not a card type (application/vnd.microsoft.card.*)", ct)
	}
	var content []byte
	switch {
	case c.Adaptive != nil && len(c.JSON) > 0:
		return Attachment{}, fmt.Errorf("set Adaptive or JSON, not both")
	case c.Adaptive != nil:
		if err := c.Adaptive.validate(); err != nil {
			return Attachment{}, err
		}
		var err error
		if content, err = marshalJSON(c.Adaptive); err != nil {
			return Attachment{}, err
		}
	case len(c.JSON) > 0:
		t := bytes.TrimSpace(c.JSON)
		if len(t) == 0 || t[0] != '{' || !json.Valid(t) {
			return Attachment{}, fmt.Errorf("JSON is not a JSON object")
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, t); err != nil {
			return Attachment{}, fmt.Errorf("JSON: %w", err)
		}
		content = buf.Bytes()
	default:
		return Attachment{}, fmt.Errorf("card has neither Adaptive nor JSON")
	}
	id := c.ID
	if id == "" {
		sum := sha256.Sum256(fmt.Appendf(nil, "%d\x00%s", i, content))
		id = hex.EncodeToString(sum[:16])
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return Attachment{}, fmt.Errorf("ID %q may hold only letters, digits and '-'", id)
		}
	}
	return Attachment{ID: id, ContentType: ct, Content: string(content)}, nil
}
