// Package scopes is the permission catalog of m365kit: the features an
// organisation can turn on, the delegated Microsoft Graph permissions each
// feature needs, and the checks that tell a tenant exactly what it still has
// to consent to.
//
// Scopes are feature-specific. An organisation that only signs users in
// grants the sign-in scopes; one that syncs calendars adds the calendar
// scopes, and so on:
//
//	scopes.For(scopes.Calendar, scopes.Teams)
//	// [openid profile email offline_access User.Read Calendars.ReadWrite
//	//  OnlineMeetings.Read Team.ReadBasic.All Channel.ReadBasic.All
//	//  ChannelMessage.Send Chat.ReadBasic ChatMessage.Send]
//
// Some features are opt-in and left out of [AllRecommended]: SharedCalendars
// (Calendars.Read.Shared) and ChatMessages (Chat.Read, which Graph requires
// for change notifications on chat messages; Teams alone reads chat names,
// not messages).
//
// Every permission is delegated: the app acts only on behalf of a signed-in
// user and can never see more than that user can. The mail feature is
// read-only; no feature requests a scope that can send, modify or delete
// mail.
//
// All functions in this package are pure and safe for concurrent use.
package scopes
