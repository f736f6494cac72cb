// Package teams reads the signed-in user's Microsoft Teams teams, channels
// and chats and posts messages to them on the user's behalf: plain text,
// sanitized HTML, @mentions and adaptive cards, with ready-made cards for
// sharing a recording clip ([ClipMessage]) and for notifications
// ([NoticeMessage]).
//
// A [Service] wraps a [graphclient.Client] for one signed-in user:
//
//	gc, err := graphclient.New(ts)
//	...
//	svc := teams.New(gc)
//	for team, err := range svc.JoinedTeams(ctx) {
//		...
//	}
//	msg := teams.ClipMessage(teams.Clip{Title: "Pricing objection", URL: clipURL, Duration: 95 * time.Second})
//	posted, err := svc.PostToChannel(ctx, teamID, channelID, msg)
//
// # Messages
//
// A [Message] is built from parts: [Text] is escaped so that nothing a
// caller or an end user typed can become markup; [HTML] passes only through
// a strict allow-list ([SanitizeHTML]); [MentionUser] writes the
// <at id="n"> markup and the matching entry of the mentions array, numbered
// in order of appearance. Cards are attached as Graph expects them: the card
// serialized to a JSON string, referenced from the body by an
// <attachment id> tag. [Message.Build] shows exactly what will be sent and
// refuses a message over Teams' size limit ([MaxMessageSize]) before
// anything is sent.
//
// # Permissions
//
// Delegated permissions only, all in [scopes.Teams]: Team.ReadBasic.All
// (JoinedTeams), Channel.ReadBasic.All (Channels), Chat.ReadBasic (Chats,
// FindChat, which also reads the user's own ID with the sign-in permission
// User.Read), ChannelMessage.Send (PostToChannel, Reply) and
// ChatMessage.Send (PostToChat). Graph cannot create a chat with these
// permissions: post to a chat the user already has ([Service.FindChat]).
//
// # Errors
//
// Every error is an [*Error]. It matches [ErrPermission] when the user's
// token lacks a permission ([MissingPermission] names it), [ErrNotMember]
// when the user is not (or no longer) a member of the team, channel or
// chat, [ErrMessageTooLarge] and [graphclient.ErrInvalidInput] for
// messages refused before sending, and, through the wrapped [*graphclient.Error],
// graphclient's sentinels such as [graphclient.ErrNotFound] and
// [graphclient.ErrThrottled] (throttled posts are retried by graphclient
// first, honouring Retry-After).
//
// # Concurrency
//
// A [Service] is safe for concurrent use. Everything else in the package
// is a plain value (models, messages, cards, errors): safe to share as long
// as no one modifies it.
package teams
