package mail

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strings"

	"github.com/m365kit/m365kit/graphclient"
)

// Service reads the signed-in user's mail through a graphclient.Client. It
// only ever sends GET requests: it has no call that sends, moves, flags or
// deletes mail, and Mail.Read (scopes.Mail) is all it needs.
//
// A Service is safe for concurrent use.
type Service struct {
	gc *graphclient.Client
}

// New returns a Service over gc, which carries the user's token and the
// retry and throttling policy.
func New(gc *graphclient.Client) *Service {
	return &Service{gc: gc}
}

// check refuses to work without a Graph client, instead of panicking.
func (s *Service) check(op string) error {
	if s == nil || s.gc == nil {
		return &Error{Op: op, Err: errNoClient}
	}
	return nil
}

// BodyType says whether and how a message body is returned.
type BodyType string

// The body types. The zero value, BodyNone, leaves the body out: previews
// (bodyPreview) come back either way.
const (
	BodyNone BodyType = ""
	BodyText BodyType = "text"
	BodyHTML BodyType = "html"
)

// prefer returns the Prefer header value that asks Graph for body type t.
func (t BodyType) prefer() string {
	return `outlook.body-content-type="` + string(t) + `"`
}

// check returns an error unless t is one of the body types.
func (t BodyType) check(op, input string) error {
	switch t {
	case BodyNone, BodyText, BodyHTML:
		return nil
	}
	return invalid(op, input, "unknown body type "+quote(string(t))+` (want "", "text" or "html")`)
}

// messageFields are the properties the Message model holds, for $select.
const messageFields = "id,internetMessageId,conversationId,subject,from,sender,toRecipients,ccRecipients,bccRecipients," +
	"replyTo,receivedDateTime,sentDateTime,bodyPreview,hasAttachments,importance,categories,isDraft,isRead,parentFolderId,webLink"

// classificationExpand selects the message class and sensitivity extended
// properties.
const classificationExpand = "singleValueExtendedProperties($filter=id eq '" + propMessageClass + "' or id eq '" + propSensitivity + "')"

// query returns the $select (and $expand) query for the message model.
func query(body BodyType, headers, classification bool) string {
	sel := messageFields
	if body != BodyNone {
		sel += ",body"
	}
	if headers {
		sel += ",internetMessageHeaders"
	}
	q := "$select=" + sel
	if classification {
		q += "&$expand=" + url.QueryEscape(classificationExpand)
	}
	return q
}

// MessageOptions are the options of Message. A nil *MessageOptions means
// the defaults.
type MessageOptions struct {
	// Body asks for the body as text or HTML; BodyNone leaves it out.
	Body BodyType
	// Headers selects the internet message headers.
	Headers bool
	// Classification selects the message class and sensitivity.
	Classification bool
}

// Message returns one message of the signed-in user's mailbox.
//
// Graph API: GET /me/messages/{id}
// https://learn.microsoft.com/graph/api/message-get
func (s *Service) Message(ctx context.Context, id string, opts *MessageOptions) (*Message, error) {
	const op = "Message"
	if err := s.check(op); err != nil {
		return nil, err
	}
	if strings.TrimSpace(id) == "" {
		return nil, invalid(op, "id", "is empty")
	}
	var o MessageOptions
	if opts != nil {
		o = *opts
	}
	if err := o.Body.check(op, "MessageOptions.Body"); err != nil {
		return nil, err
	}
	req, err := s.gc.NewRequest(ctx, "GET", "me/messages/"+url.PathEscape(id)+"?"+query(o.Body, o.Headers, o.Classification), nil)
	if err != nil {
		return nil, failed(op, err)
	}
	if o.Body != BodyNone {
		req.Header.Add("Prefer", o.Body.prefer())
	}
	var m Message
	if _, err := s.gc.Do(req, &m); err != nil {
		return nil, failed(op, err)
	}
	m.utc()
	return &m, nil
}

// Folder returns one mail folder, by ID or well-known name (Inbox,
// SentItems, ...). A folder asked for by its well-known name has
// WellKnownName set.
//
// Graph API: GET /me/mailFolders/{id}
// https://learn.microsoft.com/graph/api/mailfolder-get
func (s *Service) Folder(ctx context.Context, idOrName string) (*Folder, error) {
	const op = "Folder"
	if err := s.check(op); err != nil {
		return nil, err
	}
	if strings.TrimSpace(idOrName) == "" {
		return nil, invalid(op, "idOrName", "is empty")
	}
	req, err := s.gc.NewRequest(ctx, "GET", "me/mailFolders/"+url.PathEscape(idOrName), nil)
	if err != nil {
		return nil, failed(op, fmt.Errorf("folder %s: %w", quote(idOrName), err))
	}
	var f Folder
	if _, err := s.gc.Do(req, &f); err != nil {
		return nil, failed(op, fmt.Errorf("folder %s: %w", quote(idOrName), err))
	}
	for _, n := range WellKnownFolders() {
		if strings.EqualFold(idOrName, n) {
			f.WellKnownName = n
		}
	}
	return &f, nil
}

// Folders returns the folders at the top of the signed-in user's mailbox
// (Graph lists only the root's children, without hidden folders), with
// WellKnownName set on Inbox, Sent Items, Archive, Deleted Items, Junk
// Email and Drafts. A mailbox without one of these (Archive is often
// missing) simply has no folder with that name.
//
// The sequence is lazy (nothing is sent before range) and re-runnable; an
// error is yielded once and ends it.
//
// Graph API: GET /me/mailFolders/{name}?$select=id for each well-known
// name, then GET /me/mailFolders
// https://learn.microsoft.com/graph/api/user-list-mailfolders
func (s *Service) Folders(ctx context.Context) iter.Seq2[*Folder, error] {
	return func(yield func(*Folder, error) bool) {
		const op = "Folders"
		if err := s.check(op); err != nil {
			yield(nil, err)
			return
		}
		// The well-known names first: the listing does not carry them.
		names := map[string]string{} // folder ID -> well-known name
		for _, name := range WellKnownFolders() {
			req, err := s.gc.NewRequest(ctx, "GET", "me/mailFolders/"+name+"?$select=id", nil)
			if err != nil {
				yield(nil, failed(op, err))
				return
			}
			var f Folder
			if _, err := s.gc.Do(req, &f); err != nil {
				if errors.Is(err, graphclient.ErrNotFound) {
					continue
				}
				yield(nil, failed(op, fmt.Errorf("folder %s: %w", quote(name), err)))
				return
			}
			names[f.ID] = name
		}
		for f, err := range graphclient.All[Folder](ctx, s.gc, "me/mailFolders") {
			if err != nil {
				yield(nil, failed(op, err))
				return
			}
			f.WellKnownName = names[f.ID]
			if !yield(&f, nil) {
				return
			}
		}
	}
}
