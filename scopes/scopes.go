package scopes

import (
	"fmt"
	"slices"
	"strings"
)

// Feature is a product feature that needs its own set of delegated
// permissions. The zero value is not a valid feature.
type Feature string

// The features m365kit knows. SignIn is part of every other feature: a
// backend can only act for a user who signed in.
const (
	// SignIn is "Sign in with Microsoft": the user's identity and basic
	// profile, and a refresh token so the backend can work while the user
	// is away.
	SignIn Feature = "signin"
	// Calendar reads and updates the user's events and reads the Teams
	// meetings behind them, so a notetaker knows what to join.
	Calendar Feature = "calendar"
	// SharedCalendars adds the calendars other people shared with the user
	// or delegated to them. It implies Calendar.
	SharedCalendars Feature = "calendar.shared"
	// Teams reads the user's teams, channels and chats and posts messages
	// to them on the user's behalf (clip shares, notifications). It reads
	// chat names and members, not the messages in chats.
	Teams Feature = "teams"
	// ChatMessages adds reading the messages of the user's chats, which
	// Graph requires before it sends change notifications for chat
	// messages (subscriptions to chats/{id}/messages or
	// me/chats/getAllMessages need Chat.Read). It implies Teams.
	ChatMessages Feature = "teams.chatmessages"
	// Mail reads the user's mail, read-only.
	Mail Feature = "mail"
)

// Features returns every feature in the order the admin guide presents them.
func Features() []Feature {
	return []Feature{SignIn, Calendar, SharedCalendars, Teams, ChatMessages, Mail}
}

// String returns the feature's identifier, such as "calendar".
func (f Feature) String() string { return string(f) }

// Title returns the feature's name as an administrator reads it, such as
// "Calendar".
func (f Feature) Title() string {
	switch f {
	case SignIn:
		return "Authentication"
	case Calendar:
		return "Calendar"
	case SharedCalendars:
		return "Shared calendars"
	case Teams:
		return "Teams"
	case ChatMessages:
		return "Teams chat messages"
	case Mail:
		return "Email"
	}
	return string(f)
}

// Valid reports whether f is one of the features this package defines.
func (f Feature) Valid() bool {
	return slices.Contains(Features(), f)
}

// ParseFeature returns the feature named s, case-insensitively. It accepts
// the identifiers Features returns ("calendar", "calendar.shared", ...).
func ParseFeature(s string) (Feature, error) {
	var names []string
	for _, f := range Features() {
		if strings.EqualFold(string(f), strings.TrimSpace(s)) {
			return f, nil
		}
		names = append(names, string(f))
	}
	return "", fmt.Errorf("scopes: unknown feature %q (want one of %s)", s, strings.Join(names, ", "))
}

// implies lists the features a feature cannot work without, beyond SignIn.
func (f Feature) implies() []Feature {
	switch f {
	case SharedCalendars:
		return []Feature{Calendar}
	case ChatMessages:
		return []Feature{Teams}
	}
	return nil
}

// Permission is one delegated Microsoft Graph permission.
type Permission struct {
	// Name is the scope name as Graph spells it, such as "Calendars.ReadWrite".
	Name string
	// ID is the permission's delegated scope ID on the Microsoft Graph
	// service principal (appId 00000003-0000-0000-c000-000000000000).
	ID string
	// Description says in one sentence what the permission lets the app do.
	Description string
	// Feature is the feature that needs the permission.
	Feature Feature
	// AdminConsentRequired reports whether Microsoft requires an
	// administrator to consent. A tenant's consent policy may require admin
	// consent for permissions where this is false.
	AdminConsentRequired bool
}

// GraphResource is the Microsoft Graph resource identifier; a scope may be
// written with it as a prefix ("https://graph.microsoft.com/Mail.Read").
const GraphResource = "https://graph.microsoft.com/"

// catalog is the single source of every permission the SDK may request, in
// the order For returns them.
var catalog = [...]Permission{
	{Name: "openid", ID: "37f7f235-527c-4136-accd-4a02d197296e", Feature: SignIn,
		Description: "Sign users in."},
	{Name: "profile", ID: "14dad69e-099b-42c9-810b-d002981feec1", Feature: SignIn,
		Description: "View users' basic profile: name and username."},
	{Name: "email", ID: "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", Feature: SignIn,
		Description: "View users' email address."},
	{Name: "offline_access", ID: "7427e0e9-2fba-42fe-b0c0-848c9e6a8182", Feature: SignIn,
		Description: "Keep working for a user while they are away, through a refresh token."},
	{Name: "User.Read", ID: "e1fe6dd8-ba31-4d61-89e7-88639da4683d", Feature: SignIn,
		Description: "Sign in and read the signed-in user's own profile."},
	{Name: "Calendars.ReadWrite", ID: "1ec239c2-d7c9-4623-a91a-a9775856bb36", Feature: Calendar,
		Description: "Read and update events in the user's calendars."},
	{Name: "OnlineMeetings.Read", ID: "9be106e1-f4e3-4df5-bdff-e4bc531cbe43", Feature: Calendar,
		Description: "Read the details of the user's online meetings, such as a Teams meeting's join information."},
	{Name: "Calendars.Read.Shared", ID: "2b9c4092-424d-4249-948d-b43879977640", Feature: SharedCalendars,
		Description: "Read events in calendars the user can access, including shared and delegated calendars."},
	{Name: "Team.ReadBasic.All", ID: "485be79e-c497-4b35-9400-0e3fa7f2a5d4", Feature: Teams,
		Description: "Read the names and descriptions of the teams the user belongs to."},
	{Name: "Channel.ReadBasic.All", ID: "9d8982ae-4365-4f57-95e9-d6032a4c0b87", Feature: Teams,
		Description: "Read the names and descriptions of channels in the user's teams."},
	{Name: "ChannelMessage.Send", ID: "ebf0f66e-9fb1-49e4-a278-222f76911cf4", Feature: Teams,
		Description: "Send channel messages as the user."},
	{Name: "Chat.ReadBasic", ID: "9547fcb5-d03f-419d-9948-5928bbf71b0f", Feature: Teams,
		Description: "Read the names and members of the user's chats, not their messages."},
	{Name: "ChatMessage.Send", ID: "116b7235-7cc6-461e-b163-8e55691d839e", Feature: Teams,
		Description: "Send one-on-one and group chat messages as the user."},
	{Name: "Chat.Read", ID: "f501c180-9344-439a-bca0-6cbf209fd270", Feature: ChatMessages,
		Description: "Read the messages of the user's one-on-one and group chats, and be notified of new ones."},
	{Name: "Mail.Read", ID: "570282fd-fa5c-430d-a7fd-fc8dc98a9dca", Feature: Mail,
		Description: "Read the user's mail; it cannot send, modify or delete mail."},
}

// Catalog returns every permission the SDK may request, grouped by feature.
// The slice is a copy; changing it changes nothing here.
func Catalog() []Permission {
	return slices.Clone(catalog[:])
}

// ByName returns the catalog entry for a scope name, matched
// case-insensitively, with or without the Graph resource prefix.
func ByName(name string) (Permission, bool) {
	n := Normalize(name)
	for _, p := range catalog {
		if strings.EqualFold(p.Name, n) {
			return p, true
		}
	}
	return Permission{}, false
}

// Normalize returns a scope name without surrounding space and without the
// "https://graph.microsoft.com/" prefix, so "https://graph.microsoft.com/Mail.Read"
// and "Mail.Read" compare equal (case-insensitively).
func Normalize(scope string) string {
	s := strings.TrimSpace(scope)
	if len(s) >= len(GraphResource) && strings.EqualFold(s[:len(GraphResource)], GraphResource) {
		s = s[len(GraphResource):]
	}
	return s
}

// expand returns the features with SignIn and every implied feature added,
// in catalog order, without duplicates.
func expand(features []Feature) []Feature {
	want := map[Feature]bool{SignIn: true}
	var add func(f Feature)
	add = func(f Feature) {
		if want[f] {
			return
		}
		want[f] = true
		for _, g := range f.implies() {
			add(g)
		}
	}
	for _, f := range features {
		add(f)
	}
	var out []Feature
	for _, f := range Features() {
		if want[f] {
			out = append(out, f)
		}
	}
	return out
}

// Permissions returns the catalog entries the features need, SignIn's
// included, in catalog order. Unknown features contribute nothing.
func Permissions(features ...Feature) []Permission {
	fs := expand(features)
	var out []Permission
	for _, p := range catalog {
		if slices.Contains(fs, p.Feature) {
			out = append(out, p)
		}
	}
	return out
}

// For returns the Graph scope names the features need: deduplicated, in a
// stable order, with the sign-in scopes always first. It is what an
// authorize or admin-consent request asks for.
func For(features ...Feature) []string {
	ps := Permissions(features...)
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

// Qualified returns names with the Graph resource prefix, as the v2
// admin-consent endpoint expects ("https://graph.microsoft.com/Mail.Read").
// OpenID Connect scopes (openid, profile, email, offline_access) are left bare.
func Qualified(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		n = Normalize(n)
		if isOIDC(n) {
			out[i] = n
			continue
		}
		out[i] = GraphResource + n
	}
	return out
}

func isOIDC(name string) bool {
	switch strings.ToLower(name) {
	case "openid", "profile", "email", "offline_access":
		return true
	}
	return false
}

// covers lists, for a granted scope, the narrower scopes it includes.
var covers = map[string][]string{
	"calendars.readwrite":        {"calendars.read", "calendars.readbasic"},
	"calendars.read":             {"calendars.readbasic"},
	"calendars.readwrite.shared": {"calendars.read.shared", "calendars.readwrite", "calendars.read", "calendars.readbasic"},
	"calendars.read.shared":      {"calendars.read", "calendars.readbasic"},
	"mail.readwrite":             {"mail.read", "mail.readbasic"},
	"mail.read":                  {"mail.readbasic"},
	"chat.readwrite":             {"chat.read", "chat.readbasic", "chatmessage.send"},
	"chat.read":                  {"chat.readbasic"},
	"onlinemeetings.readwrite":   {"onlinemeetings.read"},
	"team.readbasic.all":         nil,
	"channel.readbasic.all":      nil,
}

// Missing returns the permissions the features need that granted does not
// cover, in catalog order. granted is a list of scope names as a token
// response or the consent callback reports them: matched case-insensitively,
// with or without the Graph resource prefix, and a broader grant covers a
// narrower need (Mail.ReadWrite covers Mail.Read).
//
// The OpenID Connect scopes (openid, profile, email, offline_access) are
// never reported missing: Entra does not list them consistently in token
// responses, and a user who signed in has them.
//
// An empty result means the features are fully consented.
func Missing(granted []string, features ...Feature) []Permission {
	have := make(map[string]bool, len(granted)*2)
	for _, g := range granted {
		// A space-separated list in one string (an OAuth "scope" value)
		// is split too, so callers can pass either shape.
		for _, s := range strings.Fields(g) {
			n := strings.ToLower(Normalize(s))
			have[n] = true
			for _, c := range covers[n] {
				have[c] = true
			}
		}
	}
	var out []Permission
	for _, p := range Permissions(features...) {
		if isOIDC(p.Name) || have[strings.ToLower(p.Name)] {
			continue
		}
		out = append(out, p)
	}
	return out
}
