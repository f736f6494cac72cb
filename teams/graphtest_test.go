package teams_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/scopes"
	"github.com/m365kit/m365kit/teams"
)

// office is a small tenant in the fake Microsoft 365: Alice and Bob share
// the Sales team (General and Wins channels) and a one-on-one chat; Carol
// is in neither.
type office struct {
	srv               *graphtest.Server
	alice, bob, carol *graphtest.User
	sales             *graphtest.Team
	wins              *graphtest.Channel
	chat              *graphtest.Chat
}

func newOffice(t *testing.T) *office {
	t.Helper()
	srv := graphtest.New(t)
	tn := srv.AddTenant("contoso.com")
	o := &office{srv: srv}
	o.alice = tn.AddUser("alice@contoso.com", "Alice Smith")
	o.bob = tn.AddUser("bob@contoso.com", "Bob Jones")
	o.carol = tn.AddUser("carol@contoso.com", "Carol White")
	o.sales = tn.AddTeam("Sales", "Deals and pipeline", o.alice, o.bob)
	o.wins = o.sales.AddChannel("Wins", "Closed deals")
	o.chat = tn.AddChat("oneOnOne", "", o.alice, o.bob)
	tn.AddChat("group", "Lunch", o.alice, o.bob, o.carol)
	return o
}

// service returns a Service acting for u with a token holding grants.
func (o *office) service(t *testing.T, u *graphtest.User, grants ...string) *teams.Service {
	t.Helper()
	tok := o.srv.IssueToken(u, "11111111-2222-3333-4444-555555555555", grants...)
	gc, err := graphclient.New(graphclient.StaticToken(tok), graphclient.WithHTTPClient(o.srv.HTTPClient()),
		graphclient.WithRetry(graphclient.RetryPolicy{MaxAttempts: 3}))
	if err != nil {
		t.Fatal(err)
	}
	return teams.New(gc)
}

func TestGraphtestReadTeamsChannelsChats(t *testing.T) {
	t.Parallel()
	o := newOffice(t)
	svc := o.service(t, o.alice, scopes.For(scopes.Teams)...)
	ctx := t.Context()

	var names []string
	for team, err := range svc.JoinedTeams(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, team.DisplayName+": "+team.Description)
		for c, err := range svc.Channels(ctx, team.ID) {
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, "  "+c.DisplayName)
		}
	}
	want := []string{"Sales: Deals and pipeline", "  General", "  Wins"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("teams and channels (-want +got):\n%s", diff)
	}
	// joinedTeams must have gone out without query options; the fake
	// refuses any, as Graph does.
	for _, r := range o.srv.Requests() {
		if strings.HasSuffix(r.Path, "/me/joinedTeams") && r.RawQuery != "" {
			t.Errorf("joinedTeams sent query %q", r.RawQuery)
		}
	}

	chat, err := svc.FindChat(ctx, o.bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if chat.ID != o.chat.ID || chat.ChatType != teams.ChatOneOnOne {
		t.Errorf("FindChat(bob) = %s (%s), want %s", chat.ID, chat.ChatType, o.chat.ID)
	}
	group, err := svc.FindChat(ctx, o.carol.ID, o.bob.ID)
	if err != nil || group.Topic != "Lunch" {
		t.Errorf("FindChat(carol, bob) = %+v, %v; want the Lunch group", group, err)
	}
	if _, err := svc.FindChat(ctx, o.carol.ID); !errors.Is(err, teams.ErrNoChat) {
		t.Errorf("FindChat(carol) error = %v, want ErrNoChat", err)
	}
}

// TestGraphtestPostAndReadBack posts each kind of message and reads what
// the fake stored: what Teams would show.
func TestGraphtestPostAndReadBack(t *testing.T) {
	t.Parallel()
	o := newOffice(t)
	svc := o.service(t, o.alice, scopes.For(scopes.Teams)...)
	ctx := t.Context()

	// A clip card with a hostile title, and a mention.
	title := `"><img src=x onerror=alert(1)> Q3 <script>`
	clip := teams.ClipMessage(teams.Clip{Title: title, URL: "https://app.example.com/clips/1", Note: "Listen to <this>"})
	clip.Body = append(clip.Body, teams.Text(" cc "), teams.MentionUser(o.bob.ID, o.bob.DisplayName))
	clip.Subject = "Clip from the Contoso call"
	posted, err := svc.PostToChannel(ctx, o.sales.ID, o.wins.ID, clip)
	if err != nil {
		t.Fatal(err)
	}
	if posted.ID == "" || posted.CreatedAt.IsZero() || !strings.HasPrefix(posted.WebURL, "https://teams.microsoft.com/l/message/") {
		t.Errorf("created message lacks id, createdDateTime or webUrl: %+v", posted)
	}
	stored := o.wins.Messages()
	if len(stored) != 1 {
		t.Fatalf("channel holds %d messages, want 1", len(stored))
	}
	m := stored[0]
	if m.ID != posted.ID || m.Subject != clip.Subject || m.ContentType != "html" || m.From != o.alice {
		t.Errorf("stored %+v", m)
	}
	if strings.Contains(m.Content, "<img") || strings.Contains(m.Content, "<script") || strings.Contains(m.Content, "<this>") {
		t.Errorf("stored body carries markup: %q", m.Content)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].ContentType != teams.ContentTypeAdaptiveCard {
		t.Fatalf("stored attachments %+v", m.Attachments)
	}
	var card struct {
		Version string `json:"version"`
		Body    []struct {
			Text string `json:"text"`
		} `json:"body"`
		Actions []struct {
			Type, Title, URL string
		} `json:"actions"`
	}
	if err := json.Unmarshal([]byte(m.Attachments[0].Content), &card); err != nil {
		t.Fatal(err)
	}
	if card.Body[0].Text != title || card.Version != "1.4" || card.Actions[0].Type != "Action.OpenUrl" || card.Actions[0].URL != "https://app.example.com/clips/1" {
		t.Errorf("stored card %+v", card)
	}
	wantMentions := []graphtest.ChatMention{{ID: 0, MentionText: "Bob Jones", UserID: o.bob.ID, DisplayName: "Bob Jones"}}
	if diff := cmp.Diff(wantMentions, m.Mentions); diff != "" {
		t.Errorf("mentions (-want +got):\n%s", diff)
	}

	// A reply in the thread.
	reply, err := svc.Reply(ctx, o.sales.ID, o.wins.ID, posted.ID, teams.HTMLMessage(`<b>Great</b> call <a href="javascript:x">here</a>`))
	if err != nil {
		t.Fatal(err)
	}
	stored = o.wins.Messages()
	if len(stored) != 2 || stored[1].ReplyToID != posted.ID || reply.ReplyToID != posted.ID || stored[1].Content != "<b>Great</b> call here" {
		t.Errorf("reply stored as %+v", stored[len(stored)-1])
	}

	// A notification in the one-on-one chat.
	chat, err := svc.FindChat(ctx, o.bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	note := teams.NoticeMessage(teams.Notice{Title: "Recording ready", Text: "Weekly sync", Link: "https://app.example.com/r/9", Importance: teams.ImportanceHigh})
	if _, err := svc.PostToChat(ctx, chat.ID, note); err != nil {
		t.Fatal(err)
	}
	cm := o.chat.Messages()
	if len(cm) != 1 || cm[0].Importance != "high" || len(cm[0].Attachments) != 1 {
		t.Fatalf("chat holds %+v", cm)
	}
	if !strings.Contains(cm[0].Attachments[0].Content, `"fallbackText":"Recording ready: Weekly sync https://app.example.com/r/9"`) {
		t.Errorf("chat card %s", cm[0].Attachments[0].Content)
	}
}

func TestGraphtestErrors(t *testing.T) {
	t.Parallel()
	o := newOffice(t)
	ctx := t.Context()
	readOnly := o.service(t, o.alice, "User.Read", "Team.ReadBasic.All", "Channel.ReadBasic.All", "Chat.ReadBasic")
	full := o.service(t, o.alice, scopes.For(scopes.Teams)...)
	carol := o.service(t, o.carol, scopes.For(scopes.Teams)...)

	_, err := readOnly.PostToChannel(ctx, o.sales.ID, o.wins.ID, teams.TextMessage("hi"))
	var te *teams.Error
	if !errors.Is(err, teams.ErrPermission) || !errors.As(err, &te) || perm(err) != "ChannelMessage.Send" {
		t.Errorf("post without ChannelMessage.Send: %v", err)
	}
	_, err = readOnly.PostToChat(ctx, o.chat.ID, teams.TextMessage("hi"))
	if !errors.Is(err, teams.ErrPermission) || !errors.As(err, &te) || perm(err) != "ChatMessage.Send" ||
		!strings.Contains(err.Error(), "ChatMessage.Send") {
		t.Errorf("post without ChatMessage.Send: %v", err)
	}
	if _, err := carol.PostToChannel(ctx, o.sales.ID, o.wins.ID, teams.TextMessage("hi")); !errors.Is(err, teams.ErrNotMember) {
		t.Errorf("post to a team the user is not in: %v", err)
	}
	if _, err := carol.PostToChat(ctx, o.chat.ID, teams.TextMessage("hi")); !errors.Is(err, teams.ErrNotMember) {
		t.Errorf("post to a chat the user is not in: %v", err)
	}
	_, err = full.PostToChat(ctx, "19:gone@thread.v2", teams.TextMessage("hi"))
	if !errors.Is(err, graphclient.ErrNotFound) || !strings.Contains(err.Error(), `chat "19:gone@thread.v2" does not exist`) {
		t.Errorf("post to a missing chat: %v", err)
	}
	n := 0
	for _, err := range full.Channels(ctx, "no-such-team") {
		n++
		if !errors.Is(err, graphclient.ErrNotFound) || !strings.Contains(err.Error(), `team "no-such-team" does not exist`) {
			t.Errorf("channels of a missing team: %v", err)
		}
	}
	if n != 1 {
		t.Errorf("channels of a missing team yielded %d times, want one error", n)
	}

	// A throttled post is retried by graphclient, honouring Retry-After.
	o.srv.Inject(graphtest.Fault{Method: http.MethodPost, PathPrefix: "/v1.0/chats/", Kind: graphtest.Throttle, RetryAfter: "0.01"})
	o.srv.ResetRequests()
	if _, err := full.PostToChat(ctx, o.chat.ID, teams.TextMessage("after the storm")); err != nil {
		t.Fatalf("throttled post: %v", err)
	}
	var statuses []int
	for _, r := range o.srv.Requests() {
		if r.Method == http.MethodPost {
			statuses = append(statuses, r.Status)
		}
	}
	if diff := cmp.Diff([]int{429, 201}, statuses); diff != "" {
		t.Errorf("POST statuses (-want +got):\n%s", diff)
	}
	if got := o.chat.Messages(); len(got) != 1 || got[0].Content != "after the storm" {
		t.Errorf("chat holds %+v, want the one message once", got)
	}

	// Throttled for good: the error says so and wraps graphclient's.
	o.srv.Inject(graphtest.Fault{Method: http.MethodPost, PathPrefix: "/v1.0/chats/", Kind: graphtest.Throttle, RetryAfter: "0.01", Times: -1})
	_, err = full.PostToChat(ctx, o.chat.ID, teams.TextMessage("again"))
	if !errors.Is(err, graphclient.ErrThrottled) || !strings.Contains(err.Error(), "still throttling") {
		t.Errorf("post throttled for good: %v", err)
	}
}

// TestGraphtestFindChatAcrossPages: the fake pages /me/chats; the chat
// looked for is on a later page.
func TestGraphtestFindChatAcrossPages(t *testing.T) {
	t.Parallel()
	o := newOffice(t)
	tn := o.alice.Tenant()
	for i := range 45 {
		tn.AddChat("group", "Busy "+strings.Repeat("x", i%3), o.alice, o.bob, o.carol, tn.AddUser(
			"u"+strings.Repeat("y", i+1)+"@contoso.com", "Extra"))
	}
	dave := tn.AddUser("dave@contoso.com", "Dave Black")
	last := tn.AddChat("oneOnOne", "", o.alice, dave)
	svc := o.service(t, o.alice, scopes.For(scopes.Teams)...)
	chat, err := svc.FindChat(t.Context(), dave.ID)
	if err != nil {
		t.Fatal(err)
	}
	if chat.ID != last.ID {
		t.Errorf("FindChat(dave) = %s, want %s", chat.ID, last.ID)
	}
	pages := 0
	for _, r := range o.srv.Requests() {
		if strings.HasSuffix(r.Path, "/me/chats") {
			pages++
		}
	}
	if pages < 2 {
		t.Errorf("read %d pages of chats; the test wants the chat on a later page", pages)
	}
}

// perm is the permission teams.MissingPermission names in err, or "".
func perm(err error) string {
	p, _ := teams.MissingPermission(err)
	return p.Name
}
