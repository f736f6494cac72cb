package scopes

import (
	"fmt"
	"strings"
)

// Choice is a named set of features an administrator is offered when
// granting consent, as the admin guide words it.
type Choice struct {
	// Name is the label the administrator sees.
	Name string
	// Features are the features the choice grants; SignIn is implied.
	Features []Feature
}

// Scopes returns the scope names the choice grants, as For does.
func (c Choice) Scopes() []string { return For(c.Features...) }

// MailboxAccess is "Grant access to Mailbox": sign-in and read-only mail,
// what email sync needs.
func MailboxAccess() Choice {
	return Choice{Name: "Grant access to Mailbox", Features: []Feature{SignIn, Mail}}
}

// AllRecommended is "Grant access to all recommended resources": every
// feature, shared calendars and chat messages excepted (an organisation
// opts into those on their own).
func AllRecommended() Choice {
	return Choice{Name: "Grant access to all recommended resources", Features: []Feature{SignIn, Calendar, Teams, Mail}}
}

// Choices returns the consent choices in the order an administrator is
// offered them.
func Choices() []Choice {
	return []Choice{AllRecommended(), MailboxAccess()}
}

// required says, for the permission overview, when a feature is needed.
func required(f Feature) string {
	switch f {
	case SignIn:
		return "Always required"
	case Calendar:
		return "Required if using Automatic Notetaker or Calendar Sync"
	case SharedCalendars:
		return "Only if syncing calendars shared with users"
	case Teams:
		return "Only if using Teams sharing"
	case ChatMessages:
		return "Only if notified of new Teams chat messages"
	case Mail:
		return "Only if using Email Sync"
	}
	return ""
}

// summary says in one line what a feature lets the app do.
func summary(f Feature) string {
	switch f {
	case SignIn:
		return "Sign in users via Microsoft Entra ID, read basic profile (name, email)"
	case Calendar:
		return "Read and update calendar events; read online meeting details"
	case SharedCalendars:
		return "Read events in calendars shared with or delegated to the user"
	case Teams:
		return "Read team and channel info; send messages to channels and chats on behalf of users"
	case ChatMessages:
		return "Read the messages of the user's chats, to be notified of new ones"
	case Mail:
		return "Read email messages (read-only: cannot send, modify, or delete)"
	}
	return ""
}

// Markdown renders the permission overview an administrator is shown: one
// row per feature (what the app can do, when it is required), then every
// scope with its ID and whether admin consent is required. With no
// features it renders all of them.
func Markdown(features ...Feature) string {
	fs := Features()
	if len(features) > 0 {
		fs = expand(features)
	}
	var b strings.Builder
	b.WriteString("| Permission category | What the app can do | Required? |\n|---|---|---|\n")
	for _, f := range fs {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", f.Title(), summary(f), required(f))
	}
	b.WriteString("\n| Feature | Permission | ID | What it allows | Admin consent |\n|---|---|---|---|---|\n")
	for _, p := range Permissions(fs...) {
		admin := "No"
		if p.AdminConsentRequired {
			admin = "Yes"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", p.Feature.Title(), p.Name, p.ID, p.Description, admin)
	}
	return b.String()
}
