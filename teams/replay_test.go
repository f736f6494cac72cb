package teams_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/m365kit/m365kit/internal/replaytest"
	"github.com/m365kit/m365kit/scopes"
	"github.com/m365kit/m365kit/teams"
)

// Sharing a clip to Teams, recorded against the demo tenant (joined teams,
// their channels, the chats, a post to a channel, a reply and a post to a
// chat), replays offline to what the live run saw.
func TestReplayTeamsShare(t *testing.T) {
	t.Parallel()
	replaytest.Check(t, "testdata/recordings/teams-share.json", "adele", []scopes.Feature{scopes.Teams}, teamsRun)
}

func teamsRun(ctx context.Context, t *testing.T, env replaytest.Env) []string {
	s := env.Session
	svc := teams.New(s.Graph)
	var out []string
	var team *teams.Team
	var channel *teams.Channel
	for tm, err := range svc.JoinedTeams(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("team %q", tm.DisplayName))
		for ch, err := range svc.Channels(ctx, tm.ID) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("  channel %q %s", ch.DisplayName, ch.MembershipType))
			if channel == nil {
				team, channel = tm, ch
			}
		}
	}
	var chat *teams.Chat
	for c, err := range svc.Chats(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("chat %s %q", c.ChatType, c.Topic))
		if chat == nil && c.ChatType == teams.ChatGroup {
			chat = c
		}
	}
	msg := teams.Message{Subject: "Clip: Q3 roadmap review", Body: []teams.Part{teams.Text("Here is the 2-minute clip of the pricing discussion.")}}
	posted, err := svc.PostToChannel(ctx, team.ID, channel.ID, msg)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, fmt.Sprintf("posted %s to %q/%q", posted.ID, team.DisplayName, channel.DisplayName))
	reply, err := svc.Reply(ctx, team.ID, channel.ID, posted.ID, teams.TextMessage("Transcript attached."))
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, fmt.Sprintf("replied %s to %s", reply.ID, reply.ReplyToID))
	inChat, err := svc.PostToChat(ctx, chat.ID, teams.TextMessage("Clip shared in "+channel.DisplayName))
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, fmt.Sprintf("posted %s to chat %q", inChat.ID, chat.Topic))
	return out
}
