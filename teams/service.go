package teams

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/scopes"
)

// Service reads and posts Teams data for the signed-in user behind a
// [graphclient.Client]. It holds no other state and is safe for concurrent
// use.
type Service struct {
	gc *graphclient.Client
}

// New returns a Service that calls Graph through gc.
func New(gc *graphclient.Client) *Service { return &Service{gc: gc} }

// check refuses to work without a Graph client.
func (s *Service) check(op string) error {
	if s == nil || s.gc == nil {
		return &Error{Op: op, Err: errNoClient}
	}
	return nil
}

// JoinedTeams returns the teams the signed-in user is a direct member of.
// Graph returns only their ID, display name and description and accepts no
// query options on this call, so none are sent.
//
// The iterator is lazy and re-runnable; an error is yielded once and ends
// it. Needs Team.ReadBasic.All.
//
// Graph API: GET /me/joinedTeams
func (s *Service) JoinedTeams(ctx context.Context) iter.Seq2[*Team, error] {
	const op = "JoinedTeams"
	if err := s.check(op); err != nil {
		return failSeq[*Team](err)
	}
	return wrapSeq(graphclient.All[Team](ctx, s.gc, "me/joinedTeams"), func(err error) error {
		return s.fail(op, "the user's teams", "Team.ReadBasic.All", err)
	}, func(*Team) {})
}

// Channels returns the channels of a team the signed-in user can see.
//
// The iterator is lazy and re-runnable; an error is yielded once and ends
// it. Needs Channel.ReadBasic.All.
//
// Graph API: GET /teams/{team-id}/channels
func (s *Service) Channels(ctx context.Context, teamID string) iter.Seq2[*Channel, error] {
	const op = "Channels"
	if err := s.check(op); err != nil {
		return failSeq[*Channel](err)
	}
	if err := checkID(op, "teamID", teamID); err != nil {
		return failSeq[*Channel](err)
	}
	path := "teams/" + url.PathEscape(teamID) + "/channels"
	return wrapSeq(graphclient.All[Channel](ctx, s.gc, path), func(err error) error {
		return s.fail(op, fmt.Sprintf("team %q", teamID), "Channel.ReadBasic.All", err)
	}, func(c *Channel) { c.CreatedAt = c.CreatedAt.UTC() })
}

// ChatsOptions selects what [Service.Chats] returns. The zero value (or
// nil) lists chats without members.
type ChatsOptions struct {
	// Members asks Graph to include each chat's members ($expand=members).
	Members bool
}

// Chats returns the one-on-one, group and meeting chats the signed-in user
// is part of, with their members if opts.Members is set.
//
// The iterator is lazy and re-runnable; an error is yielded once and ends
// it. Needs Chat.ReadBasic.
//
// Graph API: GET /me/chats
func (s *Service) Chats(ctx context.Context, opts *ChatsOptions) iter.Seq2[*Chat, error] {
	const op = "Chats"
	if err := s.check(op); err != nil {
		return failSeq[*Chat](err)
	}
	path := "me/chats"
	if opts != nil && opts.Members {
		path += "?$expand=members"
	}
	return wrapSeq(graphclient.All[Chat](ctx, s.gc, path), func(err error) error {
		return s.fail(op, "the user's chats", "Chat.ReadBasic", err)
	}, func(c *Chat) {
		c.CreatedAt = c.CreatedAt.UTC()
		c.LastUpdatedAt = c.LastUpdatedAt.UTC()
	})
}

// FindChat returns the signed-in user's one-on-one or group chat whose
// members are exactly the user and the users with the given Entra object
// IDs (the signed-in user's own ID may be included or left out). Meeting
// chats are not considered. When several chats match, a one-on-one chat
// wins over a group chat, then the most recently active one.
//
// Graph cannot create chats with the permissions m365kit asks for: when
// there is no such chat, FindChat returns an [*Error] matching [ErrNoChat]
// and the user has to start the chat in Teams.
//
// It reads the user's ID and walks all chats with their members. Needs
// User.Read and Chat.ReadBasic.
//
// Graph API: GET /me?$select=id, GET /me/chats?$expand=members
func (s *Service) FindChat(ctx context.Context, userIDs ...string) (*Chat, error) {
	const op = "FindChat"
	if err := s.check(op); err != nil {
		return nil, err
	}
	if len(userIDs) == 0 {
		return nil, invalid(op, "userIDs", "is empty")
	}
	for i, id := range userIDs {
		if err := checkID(op, fmt.Sprintf("userIDs[%d]", i), id); err != nil {
			return nil, err
		}
	}
	req, err := s.gc.NewRequest(ctx, http.MethodGet, "me?$select=id", nil)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	var me struct {
		ID string `json:"id"`
	}
	if _, err := s.gc.Do(req, &me); err != nil {
		return nil, s.fail(op, "the signed-in user", "User.Read", err)
	}
	want := memberSet(append([]string{me.ID}, userIDs...))

	var best *Chat
	for c, err := range s.Chats(ctx, &ChatsOptions{Members: true}) {
		if err != nil {
			var te *Error
			if errors.As(err, &te) {
				te.Op = op
			}
			return nil, err
		}
		if c.ChatType != ChatOneOnOne && c.ChatType != ChatGroup {
			continue
		}
		ids := make([]string, 0, len(c.Members))
		for _, m := range c.Members {
			ids = append(ids, m.UserID)
		}
		if !slices.Equal(memberSet(ids), want) {
			continue
		}
		if best == nil || betterChat(c, best) {
			best = c
		}
	}
	if best == nil {
		return nil, &Error{Op: op, Err: &cause{kind: ErrNoChat, detail: fmt.Sprintf(
			"the user has no one-on-one or group chat with exactly %s; Graph cannot start one with ChatMessage.Send: the user has to start it in Teams",
			strings.Join(userIDs, ", "))}}
	}
	return best, nil
}

// memberSet returns the distinct, lower-cased, non-empty IDs, sorted.
func memberSet(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id = strings.ToLower(strings.TrimSpace(id)); id != "" {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// betterChat reports whether a is a better FindChat answer than b.
func betterChat(a, b *Chat) bool {
	if (a.ChatType == ChatOneOnOne) != (b.ChatType == ChatOneOnOne) {
		return a.ChatType == ChatOneOnOne
	}
	return a.LastUpdatedAt.After(b.LastUpdatedAt)
}

// PostToChannel posts m as a new conversation in a channel and returns the
// created message (its ID, CreatedAt and WebURL among others).
//
// The message is built with [Message.Build] first; a message that fails to
// build, or is over [MaxMessageSize], is not sent. Needs
// ChannelMessage.Send. Graph answers 403 for a channel of a team the user
// is not (or no longer) in: the error then matches [ErrNotMember].
//
// Graph API: POST /teams/{team-id}/channels/{channel-id}/messages
func (s *Service) PostToChannel(ctx context.Context, teamID, channelID string, m Message) (*ChatMessage, error) {
	const op = "PostToChannel"
	if err := s.check(op); err != nil {
		return nil, err
	}
	if err := checkID(op, "teamID", teamID); err != nil {
		return nil, err
	}
	if err := checkID(op, "channelID", channelID); err != nil {
		return nil, err
	}
	path := "teams/" + url.PathEscape(teamID) + "/channels/" + url.PathEscape(channelID) + "/messages"
	return s.post(ctx, op, path, fmt.Sprintf("channel %q of team %q", channelID, teamID), "ChannelMessage.Send", m)
}

// Reply posts m as a reply to a channel message and returns the created
// reply. Replies have no subject: a message with one is refused. Needs
// ChannelMessage.Send.
//
// Graph API: POST /teams/{team-id}/channels/{channel-id}/messages/{message-id}/replies
func (s *Service) Reply(ctx context.Context, teamID, channelID, messageID string, m Message) (*ChatMessage, error) {
	const op = "Reply"
	if err := s.check(op); err != nil {
		return nil, err
	}
	for _, a := range [][2]string{{"teamID", teamID}, {"channelID", channelID}, {"messageID", messageID}} {
		if err := checkID(op, a[0], a[1]); err != nil {
			return nil, err
		}
	}
	if m.Subject != "" {
		return nil, invalid(op, "Message.Subject", "is set, but replies have no subject")
	}
	path := "teams/" + url.PathEscape(teamID) + "/channels/" + url.PathEscape(channelID) +
		"/messages/" + url.PathEscape(messageID) + "/replies"
	return s.post(ctx, op, path, fmt.Sprintf("message %q in channel %q of team %q", messageID, channelID, teamID), "ChannelMessage.Send", m)
}

// PostToChat posts m to an existing chat and returns the created message.
// Chat messages have no subject: a message with one is refused. Graph
// cannot create a chat here; find one with [Service.FindChat] or
// [Service.Chats]. Needs ChatMessage.Send.
//
// Graph API: POST /chats/{chat-id}/messages
func (s *Service) PostToChat(ctx context.Context, chatID string, m Message) (*ChatMessage, error) {
	const op = "PostToChat"
	if err := s.check(op); err != nil {
		return nil, err
	}
	if err := checkID(op, "chatID", chatID); err != nil {
		return nil, err
	}
	if m.Subject != "" {
		return nil, invalid(op, "Message.Subject", "is set, but chat messages have no subject")
	}
	path := "chats/" + url.PathEscape(chatID) + "/messages"
	return s.post(ctx, op, path, fmt.Sprintf("chat %q", chatID), "ChatMessage.Send", m)
}

// post builds m, sends it and decodes the created message.
func (s *Service) post(ctx context.Context, op, path, target, perm string, m Message) (*ChatMessage, error) {
	body, err := m.Build()
	if err != nil {
		var te *Error
		if errors.As(err, &te) {
			te.Op = op
		}
		return nil, err
	}
	req, err := s.gc.NewRequest(ctx, http.MethodPost, path, body)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	var out ChatMessage
	if _, err := s.gc.Do(req, &out); err != nil {
		return nil, s.fail(op, target, perm, err)
	}
	out.CreatedAt = out.CreatedAt.UTC()
	out.LastModifiedAt = out.LastModifiedAt.UTC()
	return &out, nil
}

// checkID refuses an empty ID or one with control characters.
func checkID(op, name, id string) error {
	if strings.TrimSpace(id) == "" {
		return invalid(op, name, "is empty")
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return invalid(op, name, "%q contains control characters", id)
		}
	}
	return nil
}

// requiresRE finds the permissions Graph lists in its missing-scope
// message: "Missing scope permissions on the request. API requires one of
// 'ChannelMessage.Send, Group.ReadWrite.All'. ...".
var requiresRE = regexp.MustCompile(`(?i)requires one of '([^']*)'`)

// fail wraps a failed Graph call in an *Error that says what to do.
// target names what was addressed; perm is the least-privileged permission
// the call needs.
func (s *Service) fail(op, target, perm string, err error) error {
	var ge *graphclient.Error
	if !errors.As(err, &ge) {
		return &Error{Op: op, Err: err}
	}
	c := &cause{err: err}
	switch {
	case ge.StatusCode == http.StatusForbidden && missingPermission(ge):
		p := permissionFor(ge.Message, perm)
		c.kind, c.perm = ErrPermission, &p
		c.detail = fmt.Sprintf("the user has not granted %s (%s); ask for consent to scopes.For(scopes.Teams) again (an administrator may have to consent for the tenant)",
			p.Name, strings.TrimSuffix(p.Description, "."))
	case ge.StatusCode == http.StatusForbidden:
		c.kind = ErrNotMember
		c.detail = fmt.Sprintf("Graph refused access to %s: the user is not (or no longer) a member of it, or may not post there", target)
	case ge.StatusCode == http.StatusNotFound:
		c.detail = fmt.Sprintf("%s does not exist, or the user cannot see it", target)
	case errors.Is(ge, graphclient.ErrThrottled):
		c.detail = "Teams is still throttling after graphclient's retries (it allows a few posts per second per app and team); try again later"
		if ge.RetryAfter > 0 {
			c.detail += fmt.Sprintf(", in %s at the earliest", ge.RetryAfter)
		}
	case ge.StatusCode == http.StatusUnauthorized:
		c.detail = "Graph rejected the user's token; the user has to sign in again"
	default:
		return &Error{Op: op, Err: err}
	}
	return &Error{Op: op, Err: c}
}

// missingPermission tells a 403 for a missing delegated permission from
// one for a resource the user may not reach. Graph sends both as 403
// "Forbidden"; only the message differs ("Missing scope permissions on the
// request ..."; "Insufficient privileges ..."). Graph documents messages
// as unstable, so this is a best effort: anything else is reported as
// ErrNotMember, with Graph's message kept in the wrapped error.
func missingPermission(ge *graphclient.Error) bool {
	if ge.HasCode("Authorization_RequestDenied") {
		return true
	}
	m := strings.ToLower(ge.Message)
	return strings.Contains(m, "scope") || strings.Contains(m, "insufficient privileges")
}

// permissionFor picks the permission to ask for: the first one Graph's
// message lists that the scopes catalog knows, else perm.
func permissionFor(message, perm string) scopes.Permission {
	if m := requiresRE.FindStringSubmatch(message); m != nil {
		for name := range strings.SplitSeq(m[1], ",") {
			if p, ok := scopes.ByName(strings.TrimSpace(name)); ok {
				return p
			}
		}
	}
	if p, ok := scopes.ByName(perm); ok {
		return p
	}
	return scopes.Permission{Name: perm, Feature: scopes.Teams}
}

// wrapSeq passes seq through, turning its error with wrap and fixing up
// each item with fix.
func wrapSeq[T any](seq iter.Seq2[T, error], wrap func(error) error, fix func(*T)) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		for v, err := range seq {
			if err != nil {
				yield(nil, wrap(err))
				return
			}
			fix(&v)
			if !yield(&v, nil) {
				return
			}
		}
	}
}

// failSeq returns an iterator that yields err once.
func failSeq[T any](err error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		yield(zero, err)
	}
}
