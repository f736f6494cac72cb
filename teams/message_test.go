package teams

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/m365kit/m365kit/graphclient"
)

var update = flag.Bool("update", false, "rewrite the package's own golden files (not the ones copied from Microsoft's docs)")

// normalizeJSON decodes a chatMessage request body for comparison: null
// members are dropped (Graph reads null and absent alike) and each
// attachment's content, a JSON string, is decoded too, so formatting and
// key order of the card do not matter.
func normalizeJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	v = dropNulls(v)
	if m, ok := v.(map[string]any); ok {
		if atts, ok := m["attachments"].([]any); ok {
			for _, a := range atts {
				am := a.(map[string]any)
				if s, ok := am["content"].(string); ok {
					var inner any
					if err := json.Unmarshal([]byte(s), &inner); err != nil {
						t.Fatalf("attachment content is not a JSON string of JSON: %v", err)
					}
					am["content"] = inner
				}
			}
		}
	}
	return v
}

func dropNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
				continue
			}
			x[k] = dropNulls(e)
		}
	case []any:
		for i, e := range x {
			x[i] = dropNulls(e)
		}
	}
	return v
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustBuild(t *testing.T, m Message) *ChatMessage {
	t.Helper()
	cm, err := m.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return cm
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestBuildMatchesDocumentedRequests builds the requests of Microsoft's
// documented examples and compares them with the documented bodies.
func TestBuildMatchesDocumentedRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		msg    Message
		golden string
	}{
		{"channel text", TextMessage("Hello World"), "post-channel-text.golden.json"},
		{"chat text", TextMessage("Hello world"), "post-chat-text.golden.json"},
		{"reply html", HTMLMessage("Hello World"), "post-reply-html.golden.json"},
		{"mention", Message{Body: []Part{Text("Hello World "), MentionUser("ef1c916a-3135-4417-ba27-8eb7bd084193", "Jane Smith")}}, "post-mention.golden.json"},
		{"thumbnail card", Message{Cards: []Card{{
			ID:          "74d20c7f34aa4a7fb74e2b30004247c5",
			ContentType: ContentTypeThumbnailCard,
			JSON:        readTestdata(t, "cards/thumbnail.json"),
		}}}, "post-card-thumbnail.golden.json"},
		{"adaptive card", Message{Cards: []Card{{
			ID:   "74d20c7f34aa4a7fb74e2b30004247c5",
			JSON: readTestdata(t, "cards/adaptive.json"),
		}}}, "post-card-adaptive.golden.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := normalizeJSON(t, mustMarshal(t, mustBuild(t, tt.msg)))
			want := normalizeJSON(t, readTestdata(t, tt.golden))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("request body differs from %s (-want +got):\n%s", tt.golden, diff)
			}
		})
	}
}

// checkGolden compares got with a golden file this package owns; -update
// rewrites it.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		var v any
		if err := json.Unmarshal(got, &v); err != nil {
			t.Fatal(err)
		}
		if m, ok := v.(map[string]any); ok {
			if atts, ok := m["attachments"].([]any); ok {
				for _, a := range atts {
					am := a.(map[string]any)
					var inner any
					if err := json.Unmarshal([]byte(am["content"].(string)), &inner); err != nil {
						t.Fatal(err)
					}
					// Pretty-print the card inside the string so reviewers can read it.
					am["content"] = string(indentJSON(t, inner))
				}
			}
		}
		if err := os.WriteFile(path, append(indentJSON(t, v), '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := normalizeJSON(t, readTestdata(t, name))
	if diff := cmp.Diff(want, normalizeJSON(t, got)); diff != "" {
		t.Errorf("differs from %s (-want +got); rerun with -update if the change is intended:\n%s", name, diff)
	}
}

func TestClipMessageGolden(t *testing.T) {
	t.Parallel()
	msg := ClipMessage(Clip{
		Title:        "Pricing objection",
		URL:          "https://app.example.com/clips/c_123",
		Duration:     95 * time.Second,
		Snippet:      "If you can do annual billing we can sign this week.",
		Speaker:      "Dana Lee",
		ThumbnailURL: "https://app.example.com/clips/c_123/thumb.png",
		SharedBy:     "Robin Kline",
		Note:         "Worth a listen before Thursday.",
	})
	checkGolden(t, "clip-message.golden.json", mustMarshal(t, mustBuild(t, msg)))
}

func TestNoticeMessageGolden(t *testing.T) {
	t.Parallel()
	msg := NoticeMessage(Notice{
		Title:      "Recording ready",
		Text:       "The recording of Weekly sync is ready to review.",
		Facts:      []Fact{{Title: "Meeting", Value: "Weekly sync"}, {Title: "Length", Value: "42 min"}},
		Link:       "https://app.example.com/recordings/r_9",
		LinkTitle:  "Open recording",
		Importance: ImportanceHigh,
	})
	checkGolden(t, "notification-message.golden.json", mustMarshal(t, mustBuild(t, msg)))
}

// indentJSON encodes v indented, leaving <, > and & readable.
func indentJSON(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// hostile are strings a meeting title, a name or a transcript may carry.
var hostile = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	`<a href="javascript:alert(1)">x</a>`,
	`<at id="0">Everyone</at>`,
	`<attachment id="x"></attachment>`,
	`Tom & Jerry's "plan" <b>now</b>`,
	"&lt;b&gt;entity&lt;/b&gt;",
}

// markupRE matches any tag in a built HTML body.
var markupRE = regexp.MustCompile(`<[^>]*>`)

// TestTextIsEscaped proves that text from callers reaches Teams as text:
// no tag survives, and decoding the body's entities gives back the input.
func TestTextIsEscaped(t *testing.T) {
	t.Parallel()
	for _, s := range hostile {
		t.Run(s, func(t *testing.T) {
			t.Parallel()
			cm := mustBuild(t, TextMessage(s))
			if cm.Body.ContentType == ContentHTML {
				if tags := markupRE.FindAllString(cm.Body.Content, -1); len(tags) > 0 {
					t.Errorf("body %q carries markup %q", cm.Body.Content, tags)
				}
				if got := html.UnescapeString(cm.Body.Content); got != s {
					t.Errorf("body decodes to %q, want %q", got, s)
				}
			} else if cm.Body.Content != s || strings.ContainsAny(s, "<>&") {
				t.Errorf("text body %q for %q", cm.Body.Content, s)
			}
			if len(cm.Mentions) != 0 || len(cm.Attachments) != 0 {
				t.Errorf("text made mentions %v or attachments %v", cm.Mentions, cm.Attachments)
			}
		})
	}
}

// TestMentionNameIsEscaped: a display name is text inside <at>, and the
// mentions array keeps it verbatim.
func TestMentionNameIsEscaped(t *testing.T) {
	t.Parallel()
	name := `"><img src=x onerror=alert(1)>`
	cm := mustBuild(t, Message{Body: []Part{MentionUser("u1", name)}})
	want := `<at id="0">&#34;&gt;&lt;img src=x onerror=alert(1)&gt;</at>`
	if cm.Body.Content != want {
		t.Errorf("body = %q, want %q", cm.Body.Content, want)
	}
	if cm.Mentions[0].MentionText != name {
		t.Errorf("mentionText = %q, want %q", cm.Mentions[0].MentionText, name)
	}
}

// TestClipCardCarriesTitleAsData: hostile clip titles are strings in the
// card's JSON, and the message body holds nothing but the card reference
// and escaped note.
func TestClipCardCarriesTitleAsData(t *testing.T) {
	t.Parallel()
	for _, s := range hostile {
		t.Run(s, func(t *testing.T) {
			t.Parallel()
			cm := mustBuild(t, ClipMessage(Clip{Title: s, Note: s, Snippet: s, Speaker: s, URL: "https://app.example.com/c/1"}))
			for _, tag := range markupRE.FindAllString(cm.Body.Content, -1) {
				if !strings.HasPrefix(tag, "<attachment id=") && tag != "</attachment>" {
					t.Errorf("body %q carries markup %q", cm.Body.Content, tag)
				}
			}
			note := strings.TrimSuffix(cm.Body.Content, ` <attachment id="`+cm.Attachments[0].ID+`"></attachment>`)
			if got := html.UnescapeString(note); got != s {
				t.Errorf("note decodes to %q, want %q", got, s)
			}
			var card struct {
				Body []struct {
					Type string `json:"type"`
					Text string `json:"text"`
				} `json:"body"`
			}
			if err := json.Unmarshal([]byte(cm.Attachments[0].Content), &card); err != nil {
				t.Fatal(err)
			}
			if card.Body[0].Text != s {
				t.Errorf("card title = %q, want %q", card.Body[0].Text, s)
			}
		})
	}
}

func TestTextBecomesHTMLOnlyWhenNeeded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in          string
		contentType string
		content     string
	}{
		{"Hello World", "", "Hello World"},
		{"a < b", ContentHTML, "a &lt; b"},
		{"line one\nline two", ContentHTML, "line one<br>line two"},
		{"crlf\r\nend", ContentHTML, "crlf<br>end"},
		{"Q&A", ContentHTML, "Q&amp;A"},
	}
	for _, tt := range tests {
		cm := mustBuild(t, TextMessage(tt.in))
		if cm.Body.ContentType != tt.contentType || cm.Body.Content != tt.content {
			t.Errorf("TextMessage(%q).Body = %+v, want {%s %q}", tt.in, cm.Body, tt.contentType, tt.content)
		}
	}
}

func TestMentionNumbering(t *testing.T) {
	t.Parallel()
	msg := Message{Body: []Part{
		MentionUser("u-jane", "Jane Smith"),
		Text(", "),
		HTML(`<at id="0">Spoofed</at><b>and</b> `),
		MentionUser("u-sam", "Sam Ortiz"),
		Text(" and again "),
		MentionUser("u-jane", "Jane Smith"),
	}}
	cm := mustBuild(t, msg)
	wantBody := `<at id="0">Jane Smith</at>, Spoofed<b>and</b> <at id="1">Sam Ortiz</at> and again <at id="2">Jane Smith</at>`
	if cm.Body.Content != wantBody || cm.Body.ContentType != ContentHTML {
		t.Errorf("body = %+v\nwant html %q", cm.Body, wantBody)
	}
	user := func(id, name string) *IdentitySet {
		return &IdentitySet{User: &Identity{ID: id, DisplayName: name, UserIdentityType: "aadUser"}}
	}
	want := []MentionEntry{
		{ID: 0, MentionText: "Jane Smith", Mentioned: user("u-jane", "Jane Smith")},
		{ID: 1, MentionText: "Sam Ortiz", Mentioned: user("u-sam", "Sam Ortiz")},
		{ID: 2, MentionText: "Jane Smith", Mentioned: user("u-jane", "Jane Smith")},
	}
	if diff := cmp.Diff(want, cm.Mentions); diff != "" {
		t.Errorf("mentions (-want +got):\n%s", diff)
	}
	// Every <at id> in the body has its entry, and the other way round.
	ids := regexp.MustCompile(`<at id="(\d+)">`).FindAllStringSubmatch(cm.Body.Content, -1)
	if len(ids) != len(cm.Mentions) {
		t.Fatalf("%d <at> tags for %d mentions", len(ids), len(cm.Mentions))
	}
	for i, m := range ids {
		if m[1] != strconv.Itoa(cm.Mentions[i].ID) {
			t.Errorf("tag %d has id %s, entry has %d", i, m[1], cm.Mentions[i].ID)
		}
	}
}

func TestCardIDsAreStableAndDistinct(t *testing.T) {
	t.Parallel()
	card := &AdaptiveCard{Body: []Element{TextBlock{Text: "same"}}}
	msg := Message{Cards: []Card{{Adaptive: card}, {Adaptive: card}}}
	a, b := mustBuild(t, msg), mustBuild(t, msg)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two builds differ:\n%s", diff)
	}
	if a.Attachments[0].ID == a.Attachments[1].ID {
		t.Errorf("two cards share attachment ID %s", a.Attachments[0].ID)
	}
	want := `<attachment id="` + a.Attachments[0].ID + `"></attachment><attachment id="` + a.Attachments[1].ID + `"></attachment>`
	if a.Body.Content != want {
		t.Errorf("body = %q, want %q", a.Body.Content, want)
	}
}

func TestSizeLimit(t *testing.T) {
	t.Parallel()
	// The JSON envelope {"body":{"content":"..."}} costs 23 bytes.
	const envelope = len(`{"body":{"content":""}}`)
	fits := strings.Repeat("a", MaxMessageSize-envelope)
	if _, err := TextMessage(fits).Build(); err != nil {
		t.Fatalf("message of exactly MaxMessageSize refused: %v", err)
	}
	tests := []struct {
		name string
		msg  Message
	}{
		{"text one byte over", TextMessage(fits + "a")},
		{"escaping counts", TextMessage(strings.Repeat("<", MaxMessageSize/4))},
		{"cards count", Message{Body: []Part{Text("see card")}, Cards: []Card{{Adaptive: &AdaptiveCard{
			Body: []Element{TextBlock{Text: strings.Repeat("x", MaxMessageSize)}},
		}}}}},
		{"mentions count", Message{Body: func() []Part {
			var ps []Part
			for range 300 {
				ps = append(ps, MentionUser("ef1c916a-3135-4417-ba27-8eb7bd084193", "Jane Smith"))
			}
			return ps
		}()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.msg.Build()
			if !errors.Is(err, ErrMessageTooLarge) {
				t.Fatalf("Build error = %v, want ErrMessageTooLarge", err)
			}
			var te *Error
			if !errors.As(err, &te) || !strings.Contains(err.Error(), "28 KB") {
				t.Errorf("error %q is not a *teams.Error naming the limit", err)
			}
		})
	}
}

func TestBuildRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  Message
		want string // part of the error text
	}{
		{"empty", Message{}, "neither body nor cards"},
		{"blank text", TextMessage("   "), "Body: is empty"},
		{"only dropped markup", HTMLMessage("<script>x</script>"), "empty after sanitizing"},
		{"importance", Message{Body: []Part{Text("x")}, Importance: "critical"}, `Importance: "critical"`},
		{"subject lines", Message{Subject: "a\nb", Body: []Part{Text("x")}}, "Subject: must be a single line"},
		{"mention without id", Message{Body: []Part{MentionUser(" ", "Jane")}}, `mention of "Jane" has no user ID`},
		{"mention without name", Message{Body: []Part{MentionUser("u1", "")}}, "has no display name"},
		{"javascript action", ClipMessage(Clip{Title: "x", URL: "javascript:alert(1)"}), `"javascript:alert(1)" is not an absolute http or https URL`},
		{"clip without URL", ClipMessage(Clip{Title: "x"}), "URL is empty"},
		{"relative thumbnail", ClipMessage(Clip{Title: "x", URL: "https://a.example/c", ThumbnailURL: "/t.png"}), "Image.URL"},
		{"notification without title", NoticeMessage(Notice{Text: "x"}), "TextBlock has no text"},
		{"card id injection", Message{Cards: []Card{{ID: `x"><script>`, JSON: json.RawMessage(`{}`)}}}, "may hold only letters"},
		{"card both", Message{Cards: []Card{{Adaptive: &AdaptiveCard{Body: []Element{TextBlock{Text: "x"}}}, JSON: json.RawMessage(`{}`)}}}, "not both"},
		{"card neither", Message{Cards: []Card{{}}}, "neither Adaptive nor JSON"},
		{"card JSON array", Message{Cards: []Card{{JSON: json.RawMessage(`[1]`)}}}, "not a JSON object"},
		{"card JSON broken", Message{Cards: []Card{{JSON: json.RawMessage(`{"a":`)}}}, "not a JSON object"},
		{"card content type", Message{Cards: []Card{{ContentType: "text/html", JSON: json.RawMessage(`{}`)}}}, "not a card type"},
		{"empty adaptive card", Message{Cards: []Card{{Adaptive: &AdaptiveCard{}}}}, "no body and no actions"},
		{"nil element", Message{Cards: []Card{{Adaptive: &AdaptiveCard{Body: []Element{nil}}}}}, "Body[0] is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.msg.Build()
			if !errors.Is(err, graphclient.ErrInvalidInput) {
				t.Fatalf("Build error = %v, want graphclient.ErrInvalidInput", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "teams: ") {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	tests := map[time.Duration]string{
		0:                               "",
		-time.Second:                    "",
		400 * time.Millisecond:          "0:01",
		95 * time.Second:                "1:35",
		59*time.Minute + 59*time.Second: "59:59",
		time.Hour + 2*time.Minute + 3*time.Second: "1:02:03",
		1500 * time.Millisecond:                   "0:02",
	}
	for d, want := range tests {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
