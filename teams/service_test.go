package teams

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/graphclient"
)

// newTestService serves mux under /v1.0/ of an httptest server and
// returns a Service pointed at it. Retries are immediate.
func newTestService(t *testing.T, mux *http.ServeMux) *Service {
	t.Helper()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	gc, err := graphclient.New(graphclient.StaticToken("test-token"),
		graphclient.WithBaseURL(srv.URL+"/v1.0/"),
		graphclient.WithHTTPClient(srv.Client()),
		graphclient.WithRetry(graphclient.RetryPolicy{
			MaxAttempts: 3,
			Backoff:     func(int, *http.Response) time.Duration { return 0 },
		}))
	if err != nil {
		t.Fatal(err)
	}
	return New(gc)
}

// serveFile answers with a testdata file.
func serveFile(t *testing.T, status int, name string) http.HandlerFunc {
	data := readTestdata(t, name)
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(data)
	}
}

func TestJoinedTeamsSendsNoQueryOptions(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/me/joinedTeams", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"code":"BadRequest","message":"query options are not supported"}}`)
			return
		}
		serveFile(t, 200, "joined-teams.json")(w, r)
	})
	svc := newTestService(t, mux)
	var got []Team
	for team, err := range svc.JoinedTeams(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, *team)
	}
	want := []Team{{
		ID:          "172b0cce-e65d-44ce-9a49-91d9f2e8493a",
		DisplayName: "Contoso Team",
		Description: "This is a Contoso team, used to showcase the range of properties supported by this API",
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("teams (-want +got):\n%s", diff)
	}
}

func TestChannelsEscapesTeamID(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	var gotTeam string
	mux.HandleFunc("GET /v1.0/teams/{team}/channels", func(w http.ResponseWriter, r *http.Request) {
		gotTeam = r.PathValue("team")
		serveFile(t, 200, "channels.json")(w, r)
	})
	svc := newTestService(t, mux)
	const teamID = "team/../with?odd#chars"
	var got []Channel
	for c, err := range svc.Channels(t.Context(), teamID) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, *c)
	}
	if gotTeam != teamID {
		t.Errorf("server saw team %q, want %q", gotTeam, teamID)
	}
	want := []Channel{{ID: "id-value", DisplayName: "display-name-value", Description: "description-value"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("channels (-want +got):\n%s", diff)
	}
}

func TestChatsWithMembers(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/me/chats", func(w http.ResponseWriter, r *http.Request) {
		if got := r.URL.Query().Get("$expand"); got != "members" {
			t.Errorf("$expand = %q, want members", got)
		}
		serveFile(t, 200, "chats-members.json")(w, r)
	})
	svc := newTestService(t, mux)
	var got []Chat
	for c, err := range svc.Chats(t.Context(), &ChatsOptions{Members: true}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, *c)
	}
	if len(got) != 3 {
		t.Fatalf("got %d chats, want 3", len(got))
	}
	one := got[2]
	want := Chat{
		ID:            "19:d74fc2ed-cb0e-4288-a219-b5c71abaf2aa_8c0a1a67-50ce-4114-bb6c-da9c5dbcf6ca@unq.gbl.spaces",
		ChatType:      ChatOneOnOne,
		CreatedAt:     time.Date(2020, 12, 4, 23, 10, 28, 510_000_000, time.UTC),
		LastUpdatedAt: time.Date(2020, 12, 4, 23, 10, 36, 925_000_000, time.UTC),
		Members: []Member{
			{ID: "MmFiOWM3OTYtMjkwMi00NWY4LWI3MTItN2M1YTYzY2Y0MWM0IyNlZWY5Y2IzNi0wNmRlLTQ2OWItODdjZC03MGY0Y2JlMzJ989kMTQ=", DisplayName: "Nick Fury", UserID: "8c0a1a67-50ce-4114-bb6c-da9c5dbcf6ca", Email: "furyn@teamsgraph.onmicrosoft.com", Roles: []string{}},
			{ID: "MmFiOWM3OTYtMjkwMi00NWY4LWI3MTItN2M1YTYzY2Y0MWM0IyNlZWY5Y2IzNi0wNmRlLTQ2OWItODdjZC03MGY0Y2JlMz6Jk45=", DisplayName: "Peter Parker", UserID: "d74fc2ed-cb0e-4288-a219-b5c71abaf2aa", Email: "parkerp@teamsgraph.onmicrosoft.com", Roles: []string{}},
		},
	}
	if diff := cmp.Diff(want, one); diff != "" {
		t.Errorf("one-on-one chat (-want +got):\n%s", diff)
	}
}

func TestChatsWithoutMembersSendsNoExpand(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/me/chats", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			t.Errorf("query = %q, want none", r.URL.RawQuery)
		}
		_, _ = io.WriteString(w, `{"value":[]}`)
	})
	svc := newTestService(t, mux)
	for _, err := range svc.Chats(t.Context(), nil) {
		t.Fatalf("unexpected item or error %v", err)
	}
}

func TestFindChat(t *testing.T) {
	t.Parallel()
	const (
		nick   = "8c0a1a67-50ce-4114-bb6c-da9c5dbcf6ca"
		peter  = "d74fc2ed-cb0e-4288-a219-b5c71abaf2aa"
		tony   = "4595d2f2-7b31-446c-84fd-9b795e63114b"
		bruce  = "48bf9d52-dca7-4a5f-8398-37b95cc7bd83"
		tchala = "9efb1aea-4f83-4673-bdcd-d3f3c7be28c2"
		thor   = "976f4b31-fd01-4e0b-9178-29cc40c14438"
	)
	tests := []struct {
		name   string
		me     string
		others []string
		want   string // chat ID, "" for ErrNoChat
	}{
		{"one-on-one", nick, []string{peter}, "19:d74fc2ed-cb0e-4288-a219-b5c71abaf2aa_8c0a1a67-50ce-4114-bb6c-da9c5dbcf6ca@unq.gbl.spaces"},
		{"one-on-one, own ID included, upper case", nick, []string{strings.ToUpper(peter), nick}, "19:d74fc2ed-cb0e-4288-a219-b5c71abaf2aa_8c0a1a67-50ce-4114-bb6c-da9c5dbcf6ca@unq.gbl.spaces"},
		{"group", tony, []string{thor, bruce, tchala}, "19:561082c0f3f847a58069deb8eb300807@thread.v2"},
		{"group needs every member", tony, []string{thor, bruce}, ""},
		{"meeting chats are not candidates", nick, []string{tony, peter}, ""},
		{"nobody", nick, []string{bruce}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux := http.NewServeMux()
			mux.HandleFunc("GET /v1.0/me", func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, `{"id":"`+tt.me+`"}`)
			})
			mux.HandleFunc("GET /v1.0/me/chats", serveFile(t, 200, "chats-members.json"))
			chat, err := newTestService(t, mux).FindChat(t.Context(), tt.others...)
			if tt.want == "" {
				if !errors.Is(err, ErrNoChat) || !strings.Contains(err.Error(), "start it in Teams") {
					t.Fatalf("FindChat = %v, %v; want ErrNoChat saying what to do", chat, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if chat.ID != tt.want {
				t.Errorf("FindChat = %s, want %s", chat.ID, tt.want)
			}
		})
	}
}

func TestFindChatPrefersOneOnOneThenRecent(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/me", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"id":"me"}`)
	})
	mux.HandleFunc("GET /v1.0/me/chats", func(w http.ResponseWriter, r *http.Request) {
		m := `"members":[{"id":"m1","userId":"me"},{"id":"m2","userId":"you"}]`
		_, _ = io.WriteString(w, `{"value":[
			{"id":"old-group","chatType":"group","lastUpdatedDateTime":"2024-01-01T00:00:00Z",`+m+`},
			{"id":"old-1on1","chatType":"oneOnOne","lastUpdatedDateTime":"2024-01-02T00:00:00Z",`+m+`},
			{"id":"new-1on1","chatType":"oneOnOne","lastUpdatedDateTime":"2024-03-01T00:00:00Z",`+m+`},
			{"id":"newest-group","chatType":"group","lastUpdatedDateTime":"2024-06-01T00:00:00Z",`+m+`}]}`)
	})
	chat, err := newTestService(t, mux).FindChat(t.Context(), "you")
	if err != nil {
		t.Fatal(err)
	}
	if chat.ID != "new-1on1" {
		t.Errorf("FindChat = %s, want new-1on1", chat.ID)
	}
}

// TestPostSendsDocumentedBodies posts through each method and checks the
// request the server received against the documented example and the
// created message decoded from the documented response.
func TestPostSendsDocumentedBodies(t *testing.T) {
	t.Parallel()
	const (
		team    = "fbe2bf47-16c8-47cf-b4a5-4b9b187c508b"
		channel = "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2"
		chat    = "19:2da4c29f6d7041eca70b638b43d45437@thread.v2"
	)
	type postFunc func(*Service) (*ChatMessage, error)
	tests := []struct {
		name     string
		pattern  string
		post     postFunc
		golden   string
		response string
		want     ChatMessage
	}{
		{
			name:    "channel text",
			pattern: "POST /v1.0/teams/{team}/channels/{channel}/messages",
			post: func(s *Service) (*ChatMessage, error) {
				return s.PostToChannel(t.Context(), team, channel, TextMessage("Hello World"))
			},
			golden:   "post-channel-text.golden.json",
			response: "channel-message-created.json",
			want: ChatMessage{
				ID: "1616990032035", CreatedAt: time.Date(2021, 3, 29, 3, 53, 52, 35_000_000, time.UTC),
				WebURL: "https://teams.microsoft.com/l/message/19%3A4a95f7d8db4c4e7fae857bcebe0623e6%40thread.tacv2/1616990032035?groupId=fbe2bf47-16c8-47cf-b4a5-4b9b187c508b&tenantId=2432b57b-0abd-43db-aa7b-16eadd115d34&createdTime=1616990032035&parentMessageId=1616990032035",
			},
		},
		{
			name:    "channel mention",
			pattern: "POST /v1.0/teams/{team}/channels/{channel}/messages",
			post: func(s *Service) (*ChatMessage, error) {
				return s.PostToChannel(t.Context(), team, channel, Message{Body: []Part{Text("Hello World "), MentionUser("ef1c916a-3135-4417-ba27-8eb7bd084193", "Jane Smith")}})
			},
			golden:   "post-mention.golden.json",
			response: "mention-created.json",
			want: ChatMessage{
				ID: "1616965872395", CreatedAt: time.Date(2021, 3, 28, 21, 11, 12, 395_000_000, time.UTC),
				WebURL: "https://teams.microsoft.com/l/message/19%3A4a95f7d8db4c4e7fae857bcebe0623e6%40thread.tacv2/1616965872395?groupId=fbe2bf47-16c8-47cf-b4a5-4b9b187c508b&tenantId=2432b57b-0abd-43db-aa7b-16eadd115d34&createdTime=1616965872395&parentMessageId=1616965872395",
			},
		},
		{
			name:    "reply",
			pattern: "POST /v1.0/teams/{team}/channels/{channel}/messages/{message}/replies",
			post: func(s *Service) (*ChatMessage, error) {
				return s.Reply(t.Context(), team, channel, "1616990032035", HTMLMessage("Hello World"))
			},
			golden:   "post-reply-html.golden.json",
			response: "reply-created.json",
			want: ChatMessage{
				ID: "1616990171266", CreatedAt: time.Date(2021, 3, 29, 3, 56, 11, 266_000_000, time.UTC),
				WebURL: "https://teams.microsoft.com/l/message/19%3A4a95f7d8db4c4e7fae857bcebe0623e6%40thread.tacv2/1616990171266?groupId=fbe2bf47-16c8-47cf-b4a5-4b9b187c508b&tenantId=2432b57b-0abd-43db-aa7b-16eadd115d34&createdTime=1616990171266&parentMessageId=1616990032035",
			},
		},
		{
			name:    "chat text",
			pattern: "POST /v1.0/chats/{chat}/messages",
			post: func(s *Service) (*ChatMessage, error) {
				return s.PostToChat(t.Context(), chat, TextMessage("Hello world"))
			},
			golden:   "post-chat-text.golden.json",
			response: "chat-message-created.json",
			want:     ChatMessage{ID: "1616991463150", CreatedAt: time.Date(2021, 3, 29, 4, 17, 43, 150_000_000, time.UTC)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux := http.NewServeMux()
			var body []byte
			var path map[string]string
			mux.HandleFunc(tt.pattern, func(w http.ResponseWriter, r *http.Request) {
				body, _ = io.ReadAll(r.Body)
				path = map[string]string{"team": r.PathValue("team"), "channel": r.PathValue("channel"), "message": r.PathValue("message"), "chat": r.PathValue("chat")}
				serveFile(t, http.StatusCreated, tt.response)(w, r)
			})
			got, err := tt.post(newTestService(t, mux))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(normalizeJSON(t, readTestdata(t, tt.golden)), normalizeJSON(t, body)); diff != "" {
				t.Errorf("request body differs from %s (-want +got):\n%s", tt.golden, diff)
			}
			for k, v := range path {
				if v != "" && v != team && v != channel && v != chat && v != "1616990032035" {
					t.Errorf("path %s = %q: the ID was not passed through intact", k, v)
				}
			}
			if got.ID != tt.want.ID || !got.CreatedAt.Equal(tt.want.CreatedAt) || got.CreatedAt.Location() != time.UTC || got.WebURL != tt.want.WebURL {
				t.Errorf("created = {%s %v %s}, want {%s %v %s}", got.ID, got.CreatedAt, got.WebURL, tt.want.ID, tt.want.CreatedAt, tt.want.WebURL)
			}
		})
	}
}

func TestPostErrorsSayWhatToDo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		chat     bool // post to a chat instead of a channel
		status   int
		file     string
		is       []error
		permName string
		says     string
		attempts int32
	}{
		{
			name: "channel permission missing", status: 403, file: "error-missing-scope.json",
			is: []error{ErrPermission, graphclient.ErrForbidden}, permName: "ChannelMessage.Send",
			says: "has not granted ChannelMessage.Send", attempts: 1,
		},
		{
			name: "chat permission missing", chat: true, status: 403, file: "error-missing-scope-chat.json",
			is: []error{ErrPermission, graphclient.ErrForbidden}, permName: "ChatMessage.Send",
			says: "has not granted ChatMessage.Send (Send one-on-one and group chat messages as the user)", attempts: 1,
		},
		{
			name: "channel left", status: 403, file: "error-access-denied.json",
			is: []error{ErrNotMember, graphclient.ErrForbidden}, says: "not (or no longer) a member", attempts: 1,
		},
		{
			name: "chat gone", chat: true, status: 404, file: "error-not-found.json",
			is: []error{graphclient.ErrNotFound}, says: `chat "19:chat@thread.v2" does not exist`, attempts: 1,
		},
		{
			name: "throttled", status: 429, file: "error-throttled.json",
			is: []error{graphclient.ErrThrottled}, says: "still throttling after graphclient's retries", attempts: 3,
		},
		{
			name: "token rejected", chat: true, status: 401, file: "error-not-found.json",
			is: []error{graphclient.ErrUnauthorized}, says: "sign in again", attempts: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			mux := http.NewServeMux()
			h := func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				serveFile(t, tt.status, tt.file)(w, r)
			}
			mux.HandleFunc("POST /v1.0/teams/{team}/channels/{channel}/messages", h)
			mux.HandleFunc("POST /v1.0/chats/{chat}/messages", h)
			svc := newTestService(t, mux)
			var err error
			if tt.chat {
				_, err = svc.PostToChat(t.Context(), "19:chat@thread.v2", TextMessage("hi"))
			} else {
				_, err = svc.PostToChannel(t.Context(), "team", "19:channel@thread.tacv2", TextMessage("hi"))
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("error %v does not match %v", err, target)
				}
			}
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("error %T is not a *teams.Error", err)
			}
			if p, ok := MissingPermission(err); tt.permName != "" && (!ok || p.Name != tt.permName) {
				t.Errorf("MissingPermission = %+v, %v; want %s", p, ok, tt.permName)
			}
			var ge *graphclient.Error
			if !errors.As(err, &ge) || ge.StatusCode != tt.status {
				t.Errorf("error does not wrap the *graphclient.Error with status %d: %v", tt.status, err)
			}
			if !strings.Contains(err.Error(), tt.says) || strings.Contains(err.Error(), "test-token") {
				t.Errorf("error %q does not say %q (or leaks the token)", err, tt.says)
			}
			if got := calls.Load(); got != tt.attempts {
				t.Errorf("server saw %d attempts, want %d", got, tt.attempts)
			}
		})
	}
}

func TestThrottledPostIsRetried(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1.0/chats/{chat}/messages", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			serveFile(t, http.StatusTooManyRequests, "error-throttled.json")(w, r)
			return
		}
		serveFile(t, http.StatusCreated, "chat-message-created.json")(w, r)
	})
	got, err := newTestService(t, mux).PostToChat(t.Context(), "19:2da4c29f6d7041eca70b638b43d45437@thread.v2", TextMessage("Hello world"))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "1616991463150" || calls.Load() != 2 {
		t.Errorf("got message %s after %d calls, want 1616991463150 after 2", got.ID, calls.Load())
	}
}

func TestRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusTeapot)
	})
	svc := newTestService(t, mux)
	ctx := t.Context()
	huge := TextMessage(strings.Repeat("x", MaxMessageSize))
	tests := []struct {
		name string
		call func() error
		is   error
		says string
	}{
		{"too large channel", func() error { _, err := svc.PostToChannel(ctx, "t", "c", huge); return err }, ErrMessageTooLarge, "teams: PostToChannel: Message: message is"},
		{"too large chat", func() error { _, err := svc.PostToChat(ctx, "c", huge); return err }, ErrMessageTooLarge, "teams: PostToChat:"},
		{"chat subject", func() error {
			_, err := svc.PostToChat(ctx, "c", Message{Subject: "s", Body: []Part{Text("x")}})
			return err
		}, graphclient.ErrInvalidInput, "chat messages have no subject"},
		{"reply subject", func() error {
			_, err := svc.Reply(ctx, "t", "c", "m", Message{Subject: "s", Body: []Part{Text("x")}})
			return err
		}, graphclient.ErrInvalidInput, "replies have no subject"},
		{"empty team", func() error { _, err := svc.PostToChannel(ctx, "", "c", TextMessage("x")); return err }, graphclient.ErrInvalidInput, "teamID: is empty"},
		{"empty channel", func() error { _, err := svc.PostToChannel(ctx, "t", " ", TextMessage("x")); return err }, graphclient.ErrInvalidInput, "channelID: is empty"},
		{"empty message ID", func() error { _, err := svc.Reply(ctx, "t", "c", "", TextMessage("x")); return err }, graphclient.ErrInvalidInput, "messageID: is empty"},
		{"control chars", func() error { _, err := svc.PostToChat(ctx, "c\n", TextMessage("x")); return err }, graphclient.ErrInvalidInput, "control characters"},
		{"empty message", func() error { _, err := svc.PostToChat(ctx, "c", Message{}); return err }, graphclient.ErrInvalidInput, "neither body nor cards"},
		{"find nobody", func() error { _, err := svc.FindChat(ctx); return err }, graphclient.ErrInvalidInput, "userIDs: is empty"},
		{"find blank", func() error { _, err := svc.FindChat(ctx, "a", ""); return err }, graphclient.ErrInvalidInput, "userIDs[1]: is empty"},
		{"channels of nothing", func() error {
			for _, err := range svc.Channels(ctx, "") {
				return err
			}
			return nil
		}, graphclient.ErrInvalidInput, "teamID: is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error = %v, want %v saying %q", err, tt.is, tt.says)
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d requests reached Graph", n)
	}
}

func TestListErrorsAreYieldedOnce(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/teams/{team}/channels", serveFile(t, 403, "error-missing-scope.json"))
	mux.HandleFunc("GET /v1.0/me/joinedTeams", serveFile(t, 403, "error-access-denied.json"))
	svc := newTestService(t, mux)

	var errs []error
	for c, err := range svc.Channels(t.Context(), "team") {
		if err == nil {
			t.Fatalf("unexpected channel %+v", c)
		}
		errs = append(errs, err)
	}
	var te *Error
	if len(errs) != 1 || !errors.As(errs[0], &te) || !errors.Is(te, ErrPermission) || te.Op != "Channels" {
		t.Fatalf("errors = %v, want one ErrPermission from Channels", errs)
	}
	// Graph's message lists ChannelMessage.Send first, which the catalog
	// knows; either way a permission is named for the user to consent to.
	if p, ok := MissingPermission(te); !ok || p.Name == "" {
		t.Errorf("no permission named: %v", te)
	}
	for _, err := range svc.JoinedTeams(t.Context()) {
		if !errors.Is(err, ErrNotMember) {
			t.Errorf("joined teams error = %v, want ErrNotMember", err)
		}
	}
}

func TestPermissionFor(t *testing.T) {
	t.Parallel()
	tests := []struct{ message, perm, want string }{
		{"Missing scope permissions on the request. API requires one of 'ChatMessage.Send, Chat.ReadWrite'. Scopes on the request 'User.Read'", "ChatMessage.Send", "ChatMessage.Send"},
		{"API requires one of 'Group.ReadWrite.All, Channel.ReadBasic.All'.", "Team.ReadBasic.All", "Channel.ReadBasic.All"},
		{"Missing scope permissions on the request.", "Chat.ReadBasic", "Chat.ReadBasic"},
		{"API requires one of 'Unknown.Scope'", "Made.Up", "Made.Up"},
	}
	for _, tt := range tests {
		if got := permissionFor(tt.message, tt.perm); got.Name != tt.want {
			t.Errorf("permissionFor(%q, %q) = %s, want %s", tt.message, tt.perm, got.Name, tt.want)
		}
	}
}

func TestNilClient(t *testing.T) {
	t.Parallel()
	svc := New(nil)
	if _, err := svc.PostToChat(t.Context(), "c", TextMessage("x")); !errors.Is(err, graphclient.ErrInvalidInput) {
		t.Errorf("PostToChat on nil client: %v", err)
	}
	for _, err := range svc.JoinedTeams(t.Context()) {
		if !errors.Is(err, graphclient.ErrInvalidInput) {
			t.Errorf("JoinedTeams on nil client: %v", err)
		}
	}
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request %s %s reached the server", r.Method, r.URL.Path)
	})
	svc := newTestService(t, mux)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := svc.PostToChat(ctx, "19:chat@thread.v2", TextMessage("hi"))
	var te *Error
	if !errors.Is(err, context.Canceled) || !errors.As(err, &te) || te.Op != "PostToChat" {
		t.Errorf("post with a cancelled context: %v", err)
	}
	for _, err := range svc.Chats(ctx, &ChatsOptions{Members: true}) {
		if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "teams: Chats: ") {
			t.Errorf("chats with a cancelled context: %v", err)
		}
	}
	if _, err := svc.FindChat(ctx, "u1"); !errors.Is(err, context.Canceled) {
		t.Errorf("FindChat with a cancelled context: %v", err)
	}
}

func TestChatsErrorNamesPermission(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/me/chats", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"error":{"code":"Forbidden","message":"Missing scope permissions on the request. API requires one of 'Chat.ReadBasic, Chat.Read, Chat.ReadWrite'. Scopes on the request 'User.Read'"}}`)
	})
	mux.HandleFunc("GET /v1.0/me", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"id":"me"}`)
	})
	svc := newTestService(t, mux)
	_, err := svc.FindChat(t.Context(), "you")
	var te *Error
	if !errors.As(err, &te) || !errors.Is(te, ErrPermission) || te.Op != "FindChat" {
		t.Errorf("FindChat without Chat.ReadBasic: %v", err)
	}
	if p, _ := MissingPermission(err); p.Name != "Chat.ReadBasic" {
		t.Errorf("FindChat without Chat.ReadBasic: %v", err)
	}
}
