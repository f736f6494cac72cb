package teams_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/scopes"
	"github.com/m365kit/m365kit/teams"
)

// exampleClientID is the application the examples' tokens are issued to.
const exampleClientID = "11111111-2222-3333-4444-555555555555"

// serviceFor returns a Service acting for u against the fake Microsoft
// 365 with a token holding grants. In production the token source is
// auth's per-user Source and the HTTP client the default.
func serviceFor(srv *graphtest.Server, u *graphtest.User, grants []string) (*teams.Service, error) {
	gc, err := graphclient.New(graphclient.StaticToken(srv.IssueToken(u, exampleClientID, grants...)),
		graphclient.WithHTTPClient(srv.HTTPClient()))
	if err != nil {
		return nil, err
	}
	return teams.New(gc), nil
}

// List the teams the signed-in user belongs to and their channels.
func ExampleService_JoinedTeams() {
	srv := graphtest.NewServer()
	defer srv.Close()
	contoso := srv.AddTenant("contoso.com")
	alice := contoso.AddUser("alice@contoso.com", "Alice Smith")
	sales := contoso.AddTeam("Sales", "Deals and pipeline", alice)
	sales.AddChannel("Wins", "Closed deals")
	contoso.AddTeam("Engineering", "Builds the product", alice)

	svc, err := serviceFor(srv, alice, scopes.For(scopes.Teams))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for team, err := range svc.JoinedTeams(ctx) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s (%s)\n", team.DisplayName, team.Description)
		for ch, err := range svc.Channels(ctx, team.ID) {
			if err != nil {
				fmt.Println(err)
				return
			}
			fmt.Println("  #" + ch.DisplayName)
		}
	}
	// Output:
	// Sales (Deals and pipeline)
	//   #General
	//   #Wins
	// Engineering (Builds the product)
	//   #General
}

// Share a recording clip to a channel as an adaptive card.
func ExampleClipMessage() {
	srv := graphtest.NewServer()
	defer srv.Close()
	contoso := srv.AddTenant("contoso.com")
	alice := contoso.AddUser("alice@contoso.com", "Alice Smith")
	sales := contoso.AddTeam("Sales", "Deals and pipeline", alice)
	wins := sales.AddChannel("Wins", "Closed deals")

	svc, err := serviceFor(srv, alice, scopes.For(scopes.Teams))
	if err != nil {
		fmt.Println(err)
		return
	}
	msg := teams.ClipMessage(teams.Clip{
		Title:    "Pricing objection <handled>",
		URL:      "https://app.example.com/clips/c_123",
		Duration: 95 * time.Second,
		Snippet:  "If you can do annual billing we can sign this week.",
		Speaker:  "Dana Lee",
		SharedBy: "Alice Smith",
		Note:     "Worth a listen before Thursday.",
	})
	posted, err := svc.PostToChannel(context.Background(), sales.ID, wins.ID, msg)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("posted:", posted.ID != "", posted.WebURL != "")

	// What Teams stored, and will show:
	stored := wins.Messages()[0]
	fmt.Println(stored.ContentType, "body:", stored.Content[:len("Worth a listen before Thursday.")])
	var card struct {
		Body []struct {
			Text  string `json:"text"`
			Items []struct {
				Text string `json:"text"`
			} `json:"items"` // the snippet's container
		} `json:"body"`
		Actions []struct {
			Title string `json:"title"`
			URL   string `json:"url"`
		} `json:"actions"`
		FallbackText string `json:"fallbackText"`
	}
	if err := json.Unmarshal([]byte(stored.Attachments[0].Content), &card); err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range card.Body {
		if b.Text != "" {
			fmt.Println("card:", b.Text)
		}
		for _, in := range b.Items {
			fmt.Println("card:", in.Text)
		}
	}
	fmt.Println("button:", card.Actions[0].Title, "->", card.Actions[0].URL)
	fmt.Println("fallback:", card.FallbackText)
	// Output:
	// posted: true true
	// html body: Worth a listen before Thursday.
	// card: Pricing objection <handled>
	// card: Shared by Alice Smith · 1:35
	// card: “If you can do annual billing we can sign this week.”
	// card: — Dana Lee
	// button: Open clip -> https://app.example.com/clips/c_123
	// fallback: Clip: Pricing objection <handled> (1:35) https://app.example.com/clips/c_123
}

// Notify a user in the one-on-one chat the signed-in user already has
// with them.
func ExampleNoticeMessage() {
	srv := graphtest.NewServer()
	defer srv.Close()
	contoso := srv.AddTenant("contoso.com")
	alice := contoso.AddUser("alice@contoso.com", "Alice Smith")
	bob := contoso.AddUser("bob@contoso.com", "Bob Jones")
	chat := contoso.AddChat("oneOnOne", "", alice, bob)

	svc, err := serviceFor(srv, alice, scopes.For(scopes.Teams))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	found, err := svc.FindChat(ctx, bob.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	msg := teams.NoticeMessage(teams.Notice{
		Title:      "Recording ready",
		Text:       "The recording of Weekly sync is ready to review.",
		Facts:      []teams.Fact{{Title: "Meeting", Value: "Weekly sync"}, {Title: "Length", Value: "42 min"}},
		Link:       "https://app.example.com/recordings/r_9",
		LinkTitle:  "Open recording",
		Importance: teams.ImportanceHigh,
	})
	if _, err := svc.PostToChat(ctx, found.ID, msg); err != nil {
		fmt.Println(err)
		return
	}
	stored := chat.Messages()[0]
	fmt.Println(found.ChatType, "chat with", len(found.Members), "members")
	fmt.Println("importance:", stored.Importance, "cards:", len(stored.Attachments))
	// Output:
	// oneOnOne chat with 2 members
	// importance: high cards: 1
}

// A user who never consented to ChannelMessage.Send gets an error naming
// the permission to ask for.
func ExampleError() {
	srv := graphtest.NewServer()
	defer srv.Close()
	contoso := srv.AddTenant("contoso.com")
	alice := contoso.AddUser("alice@contoso.com", "Alice Smith")
	sales := contoso.AddTeam("Sales", "Deals and pipeline", alice)

	svc, err := serviceFor(srv, alice, []string{"User.Read", "Team.ReadBasic.All"})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = svc.PostToChannel(context.Background(), sales.ID, sales.General().ID, teams.TextMessage("hi"))
	if p, ok := teams.MissingPermission(err); ok {
		fmt.Println("ask the user to consent to", p.Name)
		fmt.Println("403:", errors.Is(err, graphclient.ErrForbidden))
	}
	// Output:
	// ask the user to consent to ChannelMessage.Send
	// 403: true
}

// Build shows exactly what a post sends: text escaped, mentions numbered
// in order with the <at> markup and the mentions array matching.
func ExampleMessage_Build() {
	msg := teams.Message{Body: []teams.Part{
		teams.Text("Deal closed <finally> by "),
		teams.MentionUser("ef1c916a-3135-4417-ba27-8eb7bd084193", "Jane Smith"),
		teams.Text(" & "),
		teams.MentionUser("8ea0e38b-efb3-4757-924a-5f94061cf8c2", "Robin Kline"),
		teams.HTML(` <b>well done</b><img src=x onerror=alert(1)>`),
	}}
	cm, err := msg.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cm.Body.ContentType)
	fmt.Println(cm.Body.Content)
	for _, m := range cm.Mentions {
		fmt.Println(m.ID, m.MentionText, m.Mentioned.User.ID)
	}
	// Output:
	// html
	// Deal closed &lt;finally&gt; by <at id="0">Jane Smith</at> &amp; <at id="1">Robin Kline</at> <b>well done</b>
	// 0 Jane Smith ef1c916a-3135-4417-ba27-8eb7bd084193
	// 1 Robin Kline 8ea0e38b-efb3-4757-924a-5f94061cf8c2
}

// SanitizeHTML keeps formatting and safe links and drops everything else.
func ExampleSanitizeHTML() {
	fmt.Println(teams.SanitizeHTML(`<p onclick="x()">See <a href="https://example.com" target="_blank">the notes</a><script>alert(1)</script> <a href="javascript:alert(1)">now</a></p>`))
	// Output:
	// <p>See <a href="https://example.com">the notes</a> now</p>
}
