package graphtest

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Team is a team in Microsoft Teams. Its ID, DisplayName and Description
// are fixed at creation; its methods are safe for concurrent use.
type Team struct {
	// ID is the team's (Microsoft 365 group's) ID, a GUID.
	ID          string
	DisplayName string
	Description string

	tenant   *Tenant
	members  []*User
	channels []*Channel
	created  time.Time
}

// Channel is a standard channel of a team. Its ID, DisplayName and
// Description are fixed at creation; its methods are safe for concurrent
// use.
type Channel struct {
	// ID looks like Graph's: 19:{32 hex digits}@thread.tacv2.
	ID          string
	DisplayName string
	Description string

	team     *Team
	messages []ChatMessage
	created  time.Time
}

// Chat is a one-on-one, group or meeting chat. Its ID, ChatType and Topic
// are fixed at creation; its methods are safe for concurrent use.
type Chat struct {
	// ID looks like Graph's: 19:...@thread.v2 (group, meeting) or
	// 19:{userA}_{userB}@unq.gbl.spaces (oneOnOne).
	ID string
	// ChatType is oneOnOne, group or meeting.
	ChatType string
	// Topic is the chat's title; empty (null in Graph) for oneOnOne.
	Topic string

	tenant   *Tenant
	members  []*User
	messages []ChatMessage
	created  time.Time
	updated  time.Time
}

// ChatMessage is a message posted to a channel or chat through Graph, as
// the fake stored it. It is a plain value (a copy of what the fake keeps).
type ChatMessage struct {
	// ID is Graph's message ID: epoch milliseconds as a string.
	ID string
	// ReplyToID is the ID of the channel message this one replies to.
	ReplyToID string
	// From is the user whose token posted the message.
	From *User
	// ContentType is text or html; Content the body as posted.
	ContentType string
	Content     string
	Subject     string
	// Importance is normal, high or urgent.
	Importance  string
	Attachments []ChatAttachment
	Mentions    []ChatMention
	Created     time.Time
	// Raw is the request body exactly as posted.
	Raw json.RawMessage
}

// ChatAttachment is an attachment of a posted message (a plain value). For cards, Content
// is the card JSON (Graph carries it as a string).
type ChatAttachment struct {
	ID          string
	ContentType string
	ContentURL  string
	Content     string
	Name        string
}

// ChatMention is an @mention of a posted message (a plain value).
type ChatMention struct {
	ID          int
	MentionText string
	UserID      string
	DisplayName string
}

// threadID returns a fresh 19:...@thread.{suffix} ID.
func threadID(suffix string) string { return "19:" + randomToken(16) + "@thread." + suffix }

// AddTeam adds a team with members (who see it in /me/joinedTeams and
// may post to its channels) and its General channel.
func (t *Tenant) AddTeam(name, description string, members ...*User) *Team {
	now := t.srv.now().UTC()
	tm := &Team{ID: newID(), DisplayName: name, Description: description, tenant: t, members: slices.Clone(members), created: now}
	tm.channels = []*Channel{{ID: threadID("tacv2"), DisplayName: "General", Description: description, team: tm, created: now}}
	t.graph.mu.Lock()
	defer t.graph.mu.Unlock()
	t.graph.teams = append(t.graph.teams, tm)
	return tm
}

// AddMember adds u to the team.
func (tm *Team) AddMember(u *User) {
	defer tm.tenant.lockGraph()()
	if !slices.Contains(tm.members, u) {
		tm.members = append(tm.members, u)
	}
}

// Members returns the team's members.
func (tm *Team) Members() []*User {
	defer tm.tenant.lockGraph()()
	return slices.Clone(tm.members)
}

// AddChannel adds a standard channel to the team.
func (tm *Team) AddChannel(name, description string) *Channel {
	c := &Channel{ID: threadID("tacv2"), DisplayName: name, Description: description, team: tm, created: tm.tenant.srv.now().UTC()}
	defer tm.tenant.lockGraph()()
	tm.channels = append(tm.channels, c)
	return c
}

// Channels returns the team's channels, General first.
func (tm *Team) Channels() []*Channel {
	defer tm.tenant.lockGraph()()
	return slices.Clone(tm.channels)
}

// General returns the team's General channel.
func (tm *Team) General() *Channel { return tm.Channels()[0] }

// Team returns the channel's team.
func (c *Channel) Team() *Team { return c.team }

// Messages returns the messages posted to the channel, replies included,
// oldest first.
func (c *Channel) Messages() []ChatMessage {
	defer c.team.tenant.lockGraph()()
	return cloneMessages(c.messages)
}

// AddChat adds a chat of chatType (oneOnOne, group or meeting) with topic
// and members. The members see it in /me/chats and may post to it.
func (t *Tenant) AddChat(chatType, topic string, members ...*User) *Chat {
	now := t.srv.now().UTC()
	c := &Chat{ChatType: chatType, Topic: topic, tenant: t, members: slices.Clone(members), created: now, updated: now}
	switch chatType {
	case "oneOnOne":
		c.Topic = ""
		ids := make([]string, 0, 2)
		for _, m := range members {
			ids = append(ids, m.ID)
		}
		c.ID = "19:" + strings.Join(ids, "_") + "@unq.gbl.spaces"
	case "meeting":
		c.ID = "19:meeting_" + strings.TrimRight(outlookID("")[:40], "=") + "@thread.v2"
	default:
		c.ID = threadID("v2")
	}
	t.graph.mu.Lock()
	defer t.graph.mu.Unlock()
	t.graph.chats = append(t.graph.chats, c)
	return c
}

// Members returns the chat's members.
func (c *Chat) Members() []*User {
	defer c.tenant.lockGraph()()
	return slices.Clone(c.members)
}

// Post posts an HTML message to the chat as from, a member, as if they
// wrote it in Teams: it is readable back through Graph and Messages, and
// the chat-message subscriptions that cover it are notified. Post panics
// if from is not a member (a mistake in the test's setup).
func (c *Chat) Post(from *User, html string) ChatMessage {
	unlock := c.tenant.lockGraph()
	if !slices.Contains(c.members, from) {
		unlock()
		panic("graphtest: Chat.Post: " + from.UserPrincipalName + " is not a member of chat " + c.ID)
	}
	m := c.add(ChatMessage{From: from, ContentType: "html", Content: html, Importance: "normal", Created: c.tenant.srv.now().UTC()})
	members := slices.Clone(c.members)
	unlock()
	c.tenant.srv.chatMessagePosted(c.ID, members, m.ID)
	return cloneMessages([]ChatMessage{m})[0]
}

// add stores m with a new ID. The caller holds the tenant's graph lock.
func (c *Chat) add(m ChatMessage) ChatMessage {
	m.ID = c.tenant.nextMessageID(m.Created)
	c.messages = append(c.messages, m)
	c.updated = m.Created
	return m
}

// Messages returns the messages posted to the chat, oldest first.
func (c *Chat) Messages() []ChatMessage {
	defer c.tenant.lockGraph()()
	return cloneMessages(c.messages)
}

// Teams returns the tenant's teams in the order they were added.
func (t *Tenant) Teams() []*Team {
	defer t.lockGraph()()
	return slices.Clone(t.graph.teams)
}

// Chats returns the tenant's chats in the order they were added.
func (t *Tenant) Chats() []*Chat {
	defer t.lockGraph()()
	return slices.Clone(t.graph.chats)
}

// lockGraph locks the tenant's Graph data and returns the unlock function.
func (t *Tenant) lockGraph() func() {
	t.graph.mu.Lock()
	return t.graph.mu.Unlock
}

func cloneMessages(ms []ChatMessage) []ChatMessage {
	out := make([]ChatMessage, len(ms))
	for i, m := range ms {
		m.Attachments = slices.Clone(m.Attachments)
		m.Mentions = slices.Clone(m.Mentions)
		m.Raw = slices.Clone(m.Raw)
		out[i] = m
	}
	return out
}
