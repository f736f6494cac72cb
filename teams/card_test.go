package teams

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAdaptiveCardModelEncodesDocumentedCard builds the card of the
// documented adaptive-card example (chatmessage-post.md, Example 6) with
// this package's types and compares the JSON. The example's images are
// hosted contents ("../hostedContents/1/$value"), which this package does
// not upload; the test swaps in https URLs on both sides.
func TestAdaptiveCardModelEncodesDocumentedCard(t *testing.T) {
	t.Parallel()
	const img1, img2 = "https://img.example.com/1.png", "https://img.example.com/2.png"
	card := &AdaptiveCard{
		Version: "1.2",
		Speak:   "The Seattle Seahawks beat the Carolina Panthers 40-7",
		Body: []Element{Container{Items: []Element{ColumnSet{Columns: []Column{
			{Width: "auto", Items: []Element{
				Image{URL: img1, Size: "Medium"},
				TextBlock{Text: "SHADES", HorizontalAlignment: "Center", Weight: "Bolder"},
			}},
			{Width: "stretch", Separator: true, Spacing: "Medium", Items: []Element{
				TextBlock{Text: "2019-08-31T19:30:00Z", HorizontalAlignment: "Center"},
				TextBlock{Text: "Final", Spacing: "None", HorizontalAlignment: "Center"},
				TextBlock{Text: "40 - 7", Size: "ExtraLarge", HorizontalAlignment: "Center"},
			}},
			{Width: "auto", Separator: true, Spacing: "Medium", Items: []Element{
				Image{URL: img2, Size: "Medium", HorizontalAlignment: "Center"},
				TextBlock{Text: "SKINS", HorizontalAlignment: "Center", Weight: "Bolder"},
			}},
		}}}}},
	}
	cm := mustBuild(t, Message{Cards: []Card{{ID: "74d20c7f34aa4a7fb74e2b30004247c5", Adaptive: card}}})

	golden := string(readTestdata(t, "post-card-adaptive.golden.json"))
	golden = strings.ReplaceAll(golden, "../hostedContents/1/$value", img1)
	golden = strings.ReplaceAll(golden, "../hostedContents/2/$value", img2)
	if diff := cmp.Diff(normalizeJSON(t, []byte(golden)), normalizeJSON(t, mustMarshal(t, cm))); diff != "" {
		t.Errorf("card differs from the documented example (-want +got):\n%s", diff)
	}
}

func TestAdaptiveCardValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		el   Element
		want string
	}{
		{"empty fact set", FactSet{}, "FactSet has no facts"},
		{"blank fact", FactSet{Facts: []Fact{{Title: " "}}}, "Facts[0] is empty"},
		{"empty container", Container{}, "Container has no items"},
		{"nil in container", Container{Items: []Element{nil}}, "Container.Items[0] is nil"},
		{"bad in container", Container{Items: []Element{TextBlock{}}}, "Container.Items[0]: TextBlock has no text"},
		{"no columns", ColumnSet{}, "ColumnSet has no columns"},
		{"nil in column", ColumnSet{Columns: []Column{{Items: []Element{nil}}}}, "Columns[0].Items[0] is nil"},
		{"bad image in column", ColumnSet{Columns: []Column{{Items: []Element{Image{URL: "ftp://x/y.png"}}}}}, `Image.URL "ftp://x/y.png" is not an absolute http or https URL`},
		{"image URL not a URL", Image{URL: "http://%zz"}, "is not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Message{Cards: []Card{{Adaptive: &AdaptiveCard{Body: []Element{tt.el}}}}}.Build()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Build error = %v, want %q", err, tt.want)
			}
		})
	}
	_, err := Message{Cards: []Card{{Adaptive: &AdaptiveCard{Actions: []Action{OpenURLAction{URL: "https://x.example"}}}}}}.Build()
	if err == nil || !strings.Contains(err.Error(), "Action.OpenUrl has no title") {
		t.Errorf("untitled action: %v", err)
	}
	_, err = Message{Cards: []Card{{Adaptive: &AdaptiveCard{Actions: []Action{nil}}}}}.Build()
	if err == nil || !strings.Contains(err.Error(), "Actions[0] is nil") {
		t.Errorf("nil action: %v", err)
	}
}

func TestAdaptiveCardFullWidthAndDefaultVersion(t *testing.T) {
	t.Parallel()
	data, err := json.Marshal(&AdaptiveCard{FullWidth: true, Body: []Element{TextBlock{Text: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got["version"] != AdaptiveCardVersion || got["type"] != "AdaptiveCard" ||
		!cmp.Equal(got["msteams"], map[string]any{"width": "Full"}) {
		t.Errorf("card = %s", data)
	}
}

// TestCardTextCannotLink: a title from an outside meeting organizer
// cannot turn into a link on the card; only the button links.
func TestCardTextCannotLink(t *testing.T) {
	t.Parallel()
	evil := "[Claim your prize](https://evil.example) or [this][1]\n[1]: https://evil.example"
	msgs := map[string]Message{
		"clip": ClipMessage(Clip{Title: evil, Snippet: evil, Speaker: evil, SharedBy: evil, URL: "https://app.example.com/c/1"}),
		"notification": NoticeMessage(Notice{Title: evil, Text: evil, Facts: []Fact{{Title: evil, Value: evil}},
			Link: "https://app.example.com/r/1"}),
	}
	for name, m := range msgs {
		cm := mustBuild(t, m)
		// The fallback text is plain text; the body is what renders Markdown.
		var card struct {
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal([]byte(cm.Attachments[0].Content), &card); err != nil {
			t.Fatal(err)
		}
		content := string(card.Body)
		for _, bad := range []string{"](", "][", "]:"} {
			if strings.Contains(content, bad) {
				t.Errorf("%s card keeps Markdown link syntax %q: %s", name, bad, content)
			}
		}
		if !strings.Contains(content, "[Claim your prize] (https://evil.example)") {
			t.Errorf("%s card lost the text itself: %s", name, content)
		}
	}
}
