package scopes_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/m365kit/m365kit/scopes"
)

func TestFor(t *testing.T) {
	t.Parallel()
	signIn := []string{"openid", "profile", "email", "offline_access", "User.Read"}
	tests := []struct {
		name     string
		features []scopes.Feature
		want     []string
	}{
		{"none is sign-in", nil, signIn},
		{"sign-in", []scopes.Feature{scopes.SignIn}, signIn},
		{"calendar", []scopes.Feature{scopes.Calendar}, append(signIn[:5:5], "Calendars.ReadWrite", "OnlineMeetings.Read")},
		{"shared implies calendar", []scopes.Feature{scopes.SharedCalendars},
			append(signIn[:5:5], "Calendars.ReadWrite", "OnlineMeetings.Read", "Calendars.Read.Shared")},
		{"mail is read-only", []scopes.Feature{scopes.Mail}, append(signIn[:5:5], "Mail.Read")},
		{"order and duplicates do not matter",
			[]scopes.Feature{scopes.Mail, scopes.Teams, scopes.Mail, scopes.SignIn},
			append(signIn[:5:5], "Team.ReadBasic.All", "Channel.ReadBasic.All", "ChannelMessage.Send", "Chat.ReadBasic", "ChatMessage.Send", "Mail.Read")},
		{"chat messages imply teams", []scopes.Feature{scopes.ChatMessages},
			append(signIn[:5:5], "Team.ReadBasic.All", "Channel.ReadBasic.All", "ChannelMessage.Send", "Chat.ReadBasic", "ChatMessage.Send", "Chat.Read")},
		{"unknown feature adds nothing", []scopes.Feature{"bogus"}, signIn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, scopes.For(tt.features...)); diff != "" {
				t.Errorf("For(%v) mismatch (-want +got):\n%s", tt.features, diff)
			}
		})
	}
}

func TestCatalogIsWellFormed(t *testing.T) {
	t.Parallel()
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	names := map[string]bool{}
	ids := map[string]bool{}
	for _, p := range scopes.Catalog() {
		if !guid.MatchString(p.ID) {
			t.Errorf("%s: ID %q is not a lower-case GUID", p.Name, p.ID)
		}
		if names[strings.ToLower(p.Name)] || ids[p.ID] {
			t.Errorf("%s: duplicate name or ID", p.Name)
		}
		names[strings.ToLower(p.Name)], ids[p.ID] = true, true
		if !p.Feature.Valid() {
			t.Errorf("%s: invalid feature %q", p.Name, p.Feature)
		}
		if !strings.HasSuffix(p.Description, ".") || len(p.Description) < 10 {
			t.Errorf("%s: description %q is not a sentence", p.Name, p.Description)
		}
	}
	for _, f := range scopes.Features() {
		if f != scopes.SignIn && len(scopes.For(f)) <= len(scopes.For(scopes.SignIn)) {
			t.Errorf("feature %s adds no permission", f)
		}
	}
}

func TestCatalogIsACopy(t *testing.T) {
	t.Parallel()
	c := scopes.Catalog()
	c[0].Name = "changed"
	if scopes.Catalog()[0].Name == "changed" {
		t.Fatal("Catalog returned the package's own slice")
	}
}

func TestMailHasNoWriteScope(t *testing.T) {
	t.Parallel()
	for _, s := range scopes.For(scopes.Mail) {
		l := strings.ToLower(s)
		if strings.Contains(l, "write") || strings.Contains(l, "send") {
			t.Errorf("mail feature requests %s, which can change mail", s)
		}
	}
}

func TestMissing(t *testing.T) {
	t.Parallel()
	names := func(ps []scopes.Permission) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return out
	}
	tests := []struct {
		name     string
		granted  []string
		features []scopes.Feature
		want     []string
	}{
		{"all granted", []string{"User.Read", "Calendars.ReadWrite", "OnlineMeetings.Read"}, []scopes.Feature{scopes.Calendar}, nil},
		{"case and prefix", []string{"https://graph.microsoft.com/user.read", "HTTPS://GRAPH.MICROSOFT.COM/MAIL.READ"}, []scopes.Feature{scopes.Mail}, nil},
		{"space-separated scope string", []string{"openid profile User.Read Mail.Read"}, []scopes.Feature{scopes.Mail}, nil},
		{"broader grant covers", []string{"User.Read", "Mail.ReadWrite"}, []scopes.Feature{scopes.Mail}, nil},
		{"oidc scopes never missing", []string{"User.Read"}, []scopes.Feature{scopes.SignIn}, nil},
		{"teams send missing", []string{"User.Read", "Team.ReadBasic.All", "Channel.ReadBasic.All", "Chat.ReadBasic", "ChatMessage.Send"},
			[]scopes.Feature{scopes.Teams}, []string{"ChannelMessage.Send"}},
		{"nothing granted", nil, []scopes.Feature{scopes.Calendar}, []string{"User.Read", "Calendars.ReadWrite", "OnlineMeetings.Read"}},
		{"chat messages need Chat.Read", []string{"User.Read", "Team.ReadBasic.All", "Channel.ReadBasic.All", "ChannelMessage.Send", "Chat.ReadBasic", "ChatMessage.Send"},
			[]scopes.Feature{scopes.ChatMessages}, []string{"Chat.Read"}},
		{"Chat.ReadWrite covers Chat.Read", []string{"User.Read", "Team.ReadBasic.All", "Channel.ReadBasic.All", "ChannelMessage.Send", "Chat.ReadWrite"},
			[]scopes.Feature{scopes.ChatMessages}, nil},
		{"narrower grant does not cover", []string{"User.Read", "Calendars.Read", "OnlineMeetings.Read"}, []scopes.Feature{scopes.Calendar}, []string{"Calendars.ReadWrite"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, names(scopes.Missing(tt.granted, tt.features...))); diff != "" {
				t.Errorf("Missing mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLookupAndQualified(t *testing.T) {
	t.Parallel()
	p, ok := scopes.ByName(" https://graph.microsoft.com/chatmessage.send ")
	if !ok || p.Name != "ChatMessage.Send" || p.Feature != scopes.Teams {
		t.Fatalf("Lookup = %+v, %v", p, ok)
	}
	if _, ok := scopes.ByName("Mail.Send"); ok {
		t.Fatal("Lookup found Mail.Send, which the SDK never requests")
	}
	got := scopes.Qualified([]string{"openid", "offline_access", "Mail.Read", "https://graph.microsoft.com/User.Read"})
	want := []string{"openid", "offline_access", "https://graph.microsoft.com/Mail.Read", "https://graph.microsoft.com/User.Read"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Qualified mismatch (-want +got):\n%s", diff)
	}
}

func TestParseFeature(t *testing.T) {
	t.Parallel()
	for _, f := range scopes.Features() {
		got, err := scopes.ParseFeature(strings.ToUpper(f.String()))
		if err != nil || got != f {
			t.Errorf("ParseFeature(%q) = %q, %v", f, got, err)
		}
	}
	if _, err := scopes.ParseFeature("calendars"); err == nil || !strings.Contains(err.Error(), `"calendars"`) {
		t.Errorf("ParseFeature(calendars) error = %v, want one naming the input", err)
	}
}

func TestChoices(t *testing.T) {
	t.Parallel()
	if got := scopes.MailboxAccess().Scopes(); !slices.Contains(got, "Mail.Read") || slices.Contains(got, "Calendars.ReadWrite") {
		t.Errorf("MailboxAccess scopes = %v", got)
	}
	all := scopes.AllRecommended().Scopes()
	for _, f := range []scopes.Feature{scopes.Calendar, scopes.Teams, scopes.Mail} {
		for _, s := range scopes.For(f) {
			if !slices.Contains(all, s) {
				t.Errorf("AllRecommended lacks %s (feature %s)", s, f)
			}
		}
	}
	for _, s := range []string{"Calendars.Read.Shared", "Chat.Read"} {
		if slices.Contains(all, s) {
			t.Errorf("AllRecommended asks for %s, which organisations opt into on their own", s)
		}
	}
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	md := scopes.Markdown()
	for _, want := range []string{
		"| Authentication | Sign in users via Microsoft Entra ID, read basic profile (name, email) | Always required |",
		"| Email | Read email messages (read-only: cannot send, modify, or delete) | Only if using Email Sync |",
		"| Teams | `ChannelMessage.Send` | ebf0f66e-9fb1-49e4-a278-222f76911cf4 |",
		"| Teams chat messages | `Chat.Read` | f501c180-9344-439a-bca0-6cbf209fd270 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown() lacks %q\n%s", want, md)
		}
	}
	if strings.Contains(md, "|  |") {
		t.Errorf("Markdown() has an empty cell: a feature lacks its summary or requirement\n%s", md)
	}
	if md := scopes.Markdown(scopes.Mail); strings.Contains(md, "Calendars.ReadWrite") {
		t.Errorf("Markdown(Mail) lists calendar scopes:\n%s", md)
	}
}
