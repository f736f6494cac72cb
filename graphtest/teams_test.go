package graphtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestJoinedTeamsAndChannels(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	eng := f.tenant.AddTeam("Engineering", "Builders", f.adele, f.alex)
	eng.AddChannel("Releases", "Ship it")
	f.tenant.AddTeam("Sales", "Sellers", f.alex)
	tok := f.srv.IssueToken(f.adele, "app", "Team.ReadBasic.All", "Channel.ReadBasic.All")

	r := do(t, f.srv, graphCall{url: "me/joinedTeams", token: tok})
	wantStatus(t, r, http.StatusOK)
	want := []map[string]any{{"id": eng.ID, "displayName": "Engineering", "description": "Builders"}}
	if diff := cmp.Diff(want, r.values(t)); diff != "" {
		t.Errorf("joinedTeams (-want +got):\n%s", diff)
	}
	wantStatus(t, do(t, f.srv, graphCall{url: "me/joinedTeams?$select=id", token: tok}), http.StatusBadRequest)

	r = do(t, f.srv, graphCall{url: "teams/" + eng.ID + "/channels", token: tok})
	wantStatus(t, r, http.StatusOK)
	var names []string
	for _, c := range r.values(t) {
		names = append(names, c["displayName"].(string))
		if c["membershipType"] != "standard" {
			t.Errorf("membershipType = %v", c["membershipType"])
		}
	}
	if diff := cmp.Diff([]string{"General", "Releases"}, names); diff != "" {
		t.Errorf("channels (-want +got):\n%s", diff)
	}
	sales := f.tenant.Teams()[1]
	wantStatus(t, do(t, f.srv, graphCall{url: "teams/" + sales.ID + "/channels", token: tok}), http.StatusForbidden)
	wantStatus(t, do(t, f.srv, graphCall{url: "teams/" + newID() + "/channels", token: tok}), http.StatusNotFound)
	noScope := do(t, f.srv, graphCall{url: "me/joinedTeams", token: f.srv.IssueToken(f.adele, "app", "Chat.Read")})
	wantStatus(t, noScope, http.StatusForbidden)
	if diff := cmp.Diff("Forbidden", noScope.errorCode(t)); diff != "" {
		t.Errorf("403 code from Teams (-want +got):\n%s", diff)
	}
}

func TestChatsExpandMembers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	one := f.tenant.AddChat("oneOnOne", "ignored", f.adele, f.alex)
	f.tenant.AddChat("group", "Launch crew", f.adele, f.alex)
	f.tenant.AddChat("group", "Not mine", f.alex)
	tok := f.srv.IssueToken(f.adele, "app", "Chat.ReadBasic")

	r := do(t, f.srv, graphCall{url: "me/chats?$expand=members&$top=1", token: tok})
	wantStatus(t, r, http.StatusOK)
	page := r.json(t)
	vs := r.values(t)
	if len(vs) != 1 || vs[0]["id"] != one.ID || vs[0]["topic"] != nil || vs[0]["chatType"] != "oneOnOne" {
		t.Fatalf("first page = %v", vs)
	}
	members := vs[0]["members"].([]any)
	m0 := members[0].(map[string]any)
	if len(members) != 2 || m0["userId"] != f.adele.ID || m0["email"] != "adele@contoso.com" || m0["displayName"] != "Adele Vance" {
		t.Errorf("members = %v", members)
	}
	next, _ := page["@odata.nextLink"].(string)
	r = do(t, f.srv, graphCall{url: next, token: tok})
	if vs := r.values(t); len(vs) != 1 || vs[0]["topic"] != "Launch crew" {
		t.Errorf("second page = %v", vs)
	}
}

func TestPostMessages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	outsider := f.tenant.AddUser("megan@contoso.com", "Megan Bowen")
	team := f.tenant.AddTeam("Engineering", "", f.adele, f.alex)
	general := team.General()
	chat := f.tenant.AddChat("group", "Launch", f.adele, f.alex)
	send := f.srv.IssueToken(f.adele, "app", "ChannelMessage.Send", "ChatMessage.Send")
	channelURL := "teams/" + team.ID + "/channels/" + url.PathEscape(general.ID) + "/messages"
	chatURL := "chats/" + url.PathEscape(chat.ID) + "/messages"

	mention := `{"body":{"contentType":"html","content":"Hello World <at id=\"0\">Alex Wilber</at>"},` +
		`"mentions":[{"id":0,"mentionText":"Alex Wilber","mentioned":{"user":{"id":"` + f.alex.ID + `","displayName":"Alex Wilber","userIdentityType":"aadUser"}}}]}`
	r := do(t, f.srv, graphCall{method: "POST", url: channelURL, token: send, body: mention})
	wantStatus(t, r, http.StatusCreated)
	posted := r.json(t)
	if missing := missingKeys(t, "chatmessage-post-mention.json", posted); len(missing) > 0 {
		t.Errorf("chatMessage lacks %v", missing)
	}
	if posted["from"].(map[string]any)["user"].(map[string]any)["id"] != f.adele.ID {
		t.Errorf("from = %v", posted["from"])
	}

	card := `{"body":{"contentType":"html","content":"<attachment id=\"c1\"></attachment>"},"attachments":[{"id":"c1","contentType":"application/vnd.microsoft.card.adaptive","content":"{\"type\":\"AdaptiveCard\",\"version\":\"1.4\"}"}]}`
	reply := do(t, f.srv, graphCall{method: "POST", url: channelURL + "/" + posted["id"].(string) + "/replies", token: send, body: card})
	wantStatus(t, reply, http.StatusCreated)
	if reply.json(t)["replyToId"] != posted["id"] {
		t.Errorf("replyToId = %v", reply.json(t)["replyToId"])
	}

	plain := do(t, f.srv, graphCall{method: "POST", url: chatURL, token: send, body: `{"body":{"content":"hi"}}`})
	wantStatus(t, plain, http.StatusCreated)
	if pj := plain.json(t); pj["chatId"] != chat.ID || pj["webUrl"] != nil || pj["body"].(map[string]any)["contentType"] != "text" {
		t.Errorf("chat message = %v", pj)
	}

	msgs := general.Messages()
	if len(msgs) != 2 || msgs[0].Mentions[0].UserID != f.alex.ID || msgs[1].Attachments[0].Content != `{"type":"AdaptiveCard","version":"1.4"}` || msgs[1].ReplyToID != msgs[0].ID {
		t.Fatalf("channel messages = %+v", msgs)
	}
	if !json.Valid(msgs[0].Raw) || string(msgs[0].Raw) != mention {
		t.Errorf("Raw = %s", msgs[0].Raw)
	}
	if cm := chat.Messages(); len(cm) != 1 || cm[0].Content != "hi" || cm[0].From != f.adele {
		t.Errorf("chat messages = %+v", cm)
	}

	bad := []struct{ name, body string }{
		{"no body", `{}`},
		{"empty content", `{"body":{"content":"  "}}`},
		{"bad content type", `{"body":{"contentType":"markdown","content":"x"}}`},
		{"card content as object", `{"body":{"contentType":"html","content":"<attachment id=\"c1\"></attachment>"},"attachments":[{"id":"c1","contentType":"application/vnd.microsoft.card.adaptive","content":{"type":"AdaptiveCard"}}]}`},
		{"attachment not in body", `{"body":{"contentType":"html","content":"no tag"},"attachments":[{"id":"c1","contentType":"reference","contentUrl":"https://contoso.sharepoint.com/a.mp4"}]}`},
		{"tag without attachment", `{"body":{"contentType":"html","content":"<attachment id=\"zz\"></attachment>"}}`},
		{"mention id mismatch", `{"body":{"contentType":"html","content":"<at id=\"1\">A</at>"},"mentions":[{"id":0,"mentionText":"A","mentioned":{"user":{"id":"x"}}}]}`},
		{"at without mention", `{"body":{"contentType":"html","content":"<at id=\"0\">A</at>"}}`},
		{"not json", `{"body":`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, f.srv, graphCall{method: "POST", url: chatURL, token: send, body: tt.body})
			wantStatus(t, r, http.StatusBadRequest)
		})
	}
	if n := len(chat.Messages()); n != 1 {
		t.Errorf("rejected posts were stored: %d messages", n)
	}

	other := f.srv.IssueToken(outsider, "app", "ChannelMessage.Send", "ChatMessage.Send")
	wantStatus(t, do(t, f.srv, graphCall{method: "POST", url: chatURL, token: other, body: `{"body":{"content":"hi"}}`}), http.StatusForbidden)
	wantStatus(t, do(t, f.srv, graphCall{method: "POST", url: channelURL, token: other, body: `{"body":{"content":"hi"}}`}), http.StatusForbidden)
	wantStatus(t, do(t, f.srv, graphCall{method: "POST", url: "chats/19:nope@thread.v2/messages", token: send, body: `{"body":{"content":"hi"}}`}), http.StatusNotFound)
	wantStatus(t, do(t, f.srv, graphCall{method: "POST", url: "teams/" + team.ID + "/channels/19:nope@thread.tacv2/messages", token: send, body: `{"body":{"content":"hi"}}`}), http.StatusNotFound)
	readOnly := f.srv.IssueToken(f.adele, "app", "Chat.Read", "Channel.ReadBasic.All")
	wantStatus(t, do(t, f.srv, graphCall{method: "POST", url: chatURL, token: readOnly, body: `{"body":{"content":"hi"}}`}), http.StatusForbidden)
	wantStatus(t, do(t, f.srv, graphCall{method: "POST", url: channelURL, token: readOnly, body: `{"body":{"content":"hi"}}`}), http.StatusForbidden)
}

// FuzzParsePosted feeds arbitrary bodies to the message-post validator:
// it must never panic, and what it accepts must have content and a
// known content type.
func FuzzParsePosted(f *testing.F) {
	for _, s := range []string{
		`{"body":{"content":"hi"}}`,
		`{"body":{"contentType":"html","content":"<at id=\"0\">A</at>"},"mentions":[{"id":0,"mentionText":"A","mentioned":{"user":{"id":"u"}}}]}`,
		`{"body":{"contentType":"html","content":"<attachment id=\"c\"></attachment>"},"attachments":[{"id":"c","contentType":"application/vnd.microsoft.card.adaptive","content":"{}"}]}`,
		`{"body":{"contentType":"html","content":"<attachment id='c'></attachment>"},"attachments":[{"id":"c","contentType":"application/vnd.microsoft.card.adaptive","content":{}}]}`,
		`{"mentions":[{"id":null}]}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, msg := parsePosted(raw)
		if msg != "" {
			return
		}
		if m.Content == "" || (m.ContentType != "text" && m.ContentType != "html") {
			t.Errorf("accepted %q as %+v", raw, m)
		}
	})
}

func TestBetaPaths(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.tenant.AddTeam("Engineering", "", f.adele)
	r := do(t, f.srv, graphCall{url: "https://graph.microsoft.com/beta/me/joinedTeams", token: f.srv.IssueToken(f.adele, "app", "Team.ReadBasic.All")})
	wantStatus(t, r, http.StatusOK)
	if n := len(r.values(t)); n != 1 {
		t.Errorf("beta joinedTeams has %d teams", n)
	}
}

func TestTeamsGoAPI(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	team := f.tenant.AddTeam("Design", "Pixels", f.adele)
	team.AddMember(f.alex)
	team.AddMember(f.alex)
	if diff := cmp.Diff([]string{"Adele Vance", "Alex Wilber"}, names(team.Members())); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	ch := team.AddChannel("Critiques", "")
	if ch.Team() != team || len(team.Channels()) != 2 || team.General().DisplayName != "General" {
		t.Errorf("channels = %v", team.Channels())
	}
	one := f.tenant.AddChat("oneOnOne", "dropped", f.adele, f.alex)
	meeting := f.tenant.AddChat("meeting", "Roadmap", f.adele, f.alex)
	if one.Topic != "" || !strings.HasSuffix(one.ID, "@unq.gbl.spaces") || !strings.HasPrefix(meeting.ID, "19:meeting_") {
		t.Errorf("chat IDs %q %q, topic %q", one.ID, meeting.ID, one.Topic)
	}
	if len(f.tenant.Chats()) != 2 || len(meeting.Members()) != 2 {
		t.Errorf("chats = %v", f.tenant.Chats())
	}
}

func names(us []*User) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.DisplayName)
	}
	return out
}
