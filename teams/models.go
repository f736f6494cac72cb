package teams

import "time"

// Team is a team the signed-in user is a direct member of, as
// GET /me/joinedTeams returns it: Graph fills in only the ID, display name
// and description there.
type Team struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
	// TenantID is the team's tenant, when Graph returns it.
	TenantID string `json:"tenantId,omitempty"`
	// IsArchived reports whether the team is read-only, when Graph returns it.
	IsArchived bool `json:"isArchived,omitempty"`
}

// Channel is a channel of a team.
type Channel struct {
	// ID looks like "19:...@thread.tacv2".
	ID          string `json:"id"`
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
	// MembershipType is "standard", "private" or "shared".
	MembershipType string    `json:"membershipType,omitempty"`
	Email          string    `json:"email,omitempty"`
	WebURL         string    `json:"webUrl,omitempty"`
	TenantID       string    `json:"tenantId,omitempty"`
	CreatedAt      time.Time `json:"createdDateTime,omitzero"`
}

// Chat types as Graph names them in [Chat].ChatType.
const (
	ChatOneOnOne = "oneOnOne"
	ChatGroup    = "group"
	ChatMeeting  = "meeting"
)

// Chat is a one-on-one, group or meeting chat the signed-in user is part of.
type Chat struct {
	// ID looks like "19:...@thread.v2" or "19:{userA}_{userB}@unq.gbl.spaces".
	ID string `json:"id"`
	// Topic is empty for one-on-one chats.
	Topic string `json:"topic,omitempty"`
	// ChatType is ChatOneOnOne, ChatGroup or ChatMeeting.
	ChatType      string    `json:"chatType,omitempty"`
	CreatedAt     time.Time `json:"createdDateTime,omitzero"`
	LastUpdatedAt time.Time `json:"lastUpdatedDateTime,omitzero"`
	WebURL        string    `json:"webUrl,omitempty"`
	TenantID      string    `json:"tenantId,omitempty"`
	// Members is filled only when the chats were listed with members
	// ([ChatsOptions].Members).
	Members []Member `json:"members,omitempty"`
}

// Member is a member of a chat (Graph's aadUserConversationMember). Its ID
// is a membership ID, opaque; UserID is the member's Entra object ID.
type Member struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"displayName,omitempty"`
	UserID      string   `json:"userId,omitempty"`
	Email       string   `json:"email,omitempty"`
	TenantID    string   `json:"tenantId,omitempty"`
	Roles       []string `json:"roles,omitempty"`
}

// ChatMessage is a message in a channel or chat: what the post methods
// return (Graph's chatMessage), and, from [Message.Build], what they send.
type ChatMessage struct {
	// ID is Graph's message ID, such as "1616990032035".
	ID string `json:"id,omitempty"`
	// ReplyToID is the ID of the channel message this one replies to.
	ReplyToID   string `json:"replyToId,omitempty"`
	ETag        string `json:"etag,omitempty"`
	MessageType string `json:"messageType,omitempty"`
	// CreatedAt is when Graph created the message, in UTC.
	CreatedAt      time.Time `json:"createdDateTime,omitzero"`
	LastModifiedAt time.Time `json:"lastModifiedDateTime,omitzero"`
	Subject        string    `json:"subject,omitempty"`
	Summary        string    `json:"summary,omitempty"`
	// ChatID is set for chat messages, empty for channel messages.
	ChatID string `json:"chatId,omitempty"`
	// Importance is "normal", "high" or "urgent".
	Importance string `json:"importance,omitempty"`
	Locale     string `json:"locale,omitempty"`
	// WebURL opens the message in Teams; Graph returns it for channel
	// messages and leaves it empty for chat messages.
	WebURL          string           `json:"webUrl,omitempty"`
	From            *IdentitySet     `json:"from,omitempty"`
	Body            ItemBody         `json:"body"`
	ChannelIdentity *ChannelIdentity `json:"channelIdentity,omitempty"`
	Attachments     []Attachment     `json:"attachments,omitempty"`
	Mentions        []MentionEntry   `json:"mentions,omitempty"`
}

// Content types of an [ItemBody].
const (
	ContentText = "text"
	ContentHTML = "html"
)

// ItemBody is a message body. An empty ContentType means text.
type ItemBody struct {
	ContentType string `json:"contentType,omitempty"`
	Content     string `json:"content"`
}

// ChannelIdentity names the team and channel of a channel message.
type ChannelIdentity struct {
	TeamID    string `json:"teamId,omitempty"`
	ChannelID string `json:"channelId,omitempty"`
}

// IdentitySet says who sent or is mentioned in a message.
type IdentitySet struct {
	User         *Identity `json:"user,omitempty"`
	Application  *Identity `json:"application,omitempty"`
	Conversation *Identity `json:"conversation,omitempty"`
}

// Identity is a user, application or conversation in an [IdentitySet].
type Identity struct {
	ID          string `json:"id,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	// UserIdentityType is "aadUser" for users of an Entra tenant.
	UserIdentityType string `json:"userIdentityType,omitempty"`
	// ConversationIdentityType is "channel" or "team" for a mentioned
	// conversation.
	ConversationIdentityType string `json:"conversationIdentityType,omitempty"`
}

// Attachment content types.
const (
	// ContentTypeAdaptiveCard is an adaptive card.
	ContentTypeAdaptiveCard = "application/vnd.microsoft.card.adaptive"
	// ContentTypeThumbnailCard is a thumbnail card.
	ContentTypeThumbnailCard = "application/vnd.microsoft.card.thumbnail"
	// ContentTypeReference is a file already in SharePoint or OneDrive.
	ContentTypeReference = "reference"
)

// Attachment is a card or file attached to a message. For cards, Content
// holds the card as a JSON string and the body references ID with
// <attachment id="..."></attachment>.
type Attachment struct {
	ID           string `json:"id"`
	ContentType  string `json:"contentType"`
	ContentURL   string `json:"contentUrl,omitempty"`
	Content      string `json:"content,omitempty"`
	Name         string `json:"name,omitempty"`
	ThumbnailURL string `json:"thumbnailUrl,omitempty"`
}

// MentionEntry is one entry of a message's mentions array: ID matches the
// id of an <at id="..."> element in the body.
type MentionEntry struct {
	ID          int          `json:"id"`
	MentionText string       `json:"mentionText"`
	Mentioned   *IdentitySet `json:"mentioned"`
}
