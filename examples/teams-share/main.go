// Teams-share shares a recording clip to a Microsoft Teams channel or chat on
// the signed-in user's behalf, as a card with an "Open clip" button
// (teams.ClipMessage).
//
// Against the demo tenant (nothing configured) it posts as Adele Vance:
//
//	go run ./examples/teams-share -channel "Engineering/Releases" -title "Pricing objection"
//	go run ./examples/teams-share -chat "Launch crew" -note "Listen from 0:40"
//
// Against your tenant, set M365KIT_CLIENT_ID, M365KIT_CLIENT_SECRET (or
// M365KIT_CLIENT_CERT and M365KIT_CLIENT_KEY) and M365KIT_REDIRECT_URL, sign in
// once with `go run ./examples/quickstart`, then:
//
//	go run ./examples/teams-share -channel "Sales/General" -url https://app.example.com/clips/42 -title "Pricing objection"
//
// Flags: -channel "Team/Channel" or -chat "chat topic or ID"; the clip's -url,
// -title, -duration, -snippet, -speaker and -note; -account oid.tid to act
// for another signed-in user. Graph cannot create chats with the permissions
// m365kit asks for, so -chat names a chat the user already has.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/scopes"
	"github.com/m365kit/m365kit/teams"
)

func main() { setup.Main("teams-share", runEnv) }

// runEnv is the program (a setup.Program): main without the process
// around it, so tests call it with a shared demo tenant.
func runEnv(ctx context.Context, args []string, stdout, stderr io.Writer, env setup.Env) error {
	fs := flag.NewFlagSet("teams-share", flag.ContinueOnError)
	fs.SetOutput(stderr)
	channel := fs.String("channel", "", `post to this channel, as "Team/Channel"`)
	chat := fs.String("chat", "", "post to this existing chat: its topic or ID")
	clipURL := fs.String("url", "https://app.example.com/clips/7f3c2a", "the clip's https URL")
	title := fs.String("title", "Pricing objection, handled", "the clip's title")
	duration := fs.Duration("duration", 95*time.Second, "the clip's length")
	snippet := fs.String("snippet", "", "a quote from the transcript")
	speaker := fs.String("speaker", "", "who said the snippet")
	note := fs.String("note", "", "your words above the card")
	account := fs.String("account", "", "account ID (oid.tid) of the signed-in user to post as (default: the quickstart's last sign-in)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; flags only", fs.Arg(0))
	}
	if *channel != "" && *chat != "" {
		return fmt.Errorf("-channel and -chat: pick one")
	}
	teamName, channelName, ok := strings.Cut(*channel, "/")
	if *channel != "" && (!ok || strings.TrimSpace(teamName) == "" || strings.TrimSpace(channelName) == "") {
		return fmt.Errorf(`-channel %q: want "Team/Channel"`, *channel)
	}

	conn, err := env.Connect(ctx, *account, scopes.Teams)
	if err != nil {
		return err
	}
	defer conn.Close()
	if *channel == "" && *chat == "" {
		if conn.Demo == nil {
			return fmt.Errorf(`say where to post: -channel "Team/Channel" or -chat "topic"`)
		}
		teamName, channelName = "Engineering", "General"
	}

	msg := teams.ClipMessage(teams.Clip{
		Title: *title, URL: *clipURL, Duration: *duration,
		Snippet: *snippet, Speaker: *speaker, Note: *note,
		SharedBy: strings.TrimSpace(strings.Split(conn.User, "<")[0]),
	})
	// Build validates the message before anything is looked up or sent.
	if _, err := msg.Build(); err != nil {
		return err
	}
	svc := teams.New(conn.Graph)

	var posted *teams.ChatMessage
	var where string
	if *chat != "" {
		var target *teams.Chat
		for c, err := range svc.Chats(ctx, nil) {
			if err != nil {
				return err
			}
			if c.ID == *chat || (c.Topic != "" && strings.EqualFold(c.Topic, *chat)) {
				target = c
				break
			}
		}
		if target == nil {
			return fmt.Errorf("-chat %q: %s has no chat with that topic or ID (Graph cannot create one with these permissions; start it in Teams first)", *chat, conn.User)
		}
		if posted, err = svc.PostToChat(ctx, target.ID, msg); err != nil {
			return err
		}
		where = "chat " + cmpOr(target.Topic, target.ID)
	} else {
		teamName, channelName = strings.TrimSpace(teamName), strings.TrimSpace(channelName)
		var team *teams.Team
		for t, err := range svc.JoinedTeams(ctx) {
			if err != nil {
				return err
			}
			if strings.EqualFold(t.DisplayName, teamName) {
				team = t
				break
			}
		}
		if team == nil {
			return fmt.Errorf("-channel: %s is not a member of a team named %q", conn.User, teamName)
		}
		var ch *teams.Channel
		for c, err := range svc.Channels(ctx, team.ID) {
			if err != nil {
				return err
			}
			if strings.EqualFold(c.DisplayName, channelName) {
				ch = c
				break
			}
		}
		if ch == nil {
			return fmt.Errorf("-channel: team %q has no channel named %q", team.DisplayName, channelName)
		}
		if posted, err = svc.PostToChannel(ctx, team.ID, ch.ID, msg); err != nil {
			return err
		}
		where = team.DisplayName + " › " + ch.DisplayName
	}
	fmt.Fprintf(stdout, "shared %q to %s as %s (message %s)\n", *title, where, conn.User, posted.ID)
	if posted.WebURL != "" {
		fmt.Fprintf(stdout, "open in Teams: %s\n", posted.WebURL)
	}
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
