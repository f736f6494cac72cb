package teams

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// AdaptiveCardVersion is the adaptive card schema version cards built by
// this package declare. Teams renders 1.4 on desktop, web and mobile.
const AdaptiveCardVersion = "1.4"

// AdaptiveCard is an adaptive card (adaptivecards.io) with the elements and
// actions a notification or clip share needs. Attach it to a message with
// [Card].Adaptive; for anything richer, write the card's JSON and use
// [Card].JSON.
type AdaptiveCard struct {
	// Version is the schema version; empty means AdaptiveCardVersion.
	Version string
	// Body holds the card's elements, top to bottom.
	Body []Element
	// Actions are the buttons under the body.
	Actions []Action
	// FallbackText is shown by clients that cannot render the card.
	FallbackText string
	// Speak is what a screen reader or voice assistant says for the card.
	Speak string
	// FullWidth makes Teams use the full width of the conversation.
	FullWidth bool
}

// MarshalJSON encodes the card with its type, schema and version.
func (c *AdaptiveCard) MarshalJSON() ([]byte, error) {
	type msteams struct {
		Width string `json:"width"`
	}
	v := struct {
		Type         string    `json:"type"`
		Schema       string    `json:"$schema"`
		Version      string    `json:"version"`
		Body         []Element `json:"body,omitempty"`
		Actions      []Action  `json:"actions,omitempty"`
		FallbackText string    `json:"fallbackText,omitempty"`
		Speak        string    `json:"speak,omitempty"`
		MSTeams      *msteams  `json:"msteams,omitempty"`
	}{
		Type:         "AdaptiveCard",
		Schema:       "http://adaptivecards.io/schemas/adaptive-card.json",
		Version:      c.Version,
		Body:         c.Body,
		Actions:      c.Actions,
		FallbackText: c.FallbackText,
		Speak:        c.Speak,
	}
	if v.Version == "" {
		v.Version = AdaptiveCardVersion
	}
	if c.FullWidth {
		v.MSTeams = &msteams{Width: "Full"}
	}
	return json.Marshal(v)
}

// validate checks what Teams would otherwise reject or render badly.
func (c *AdaptiveCard) validate() error {
	if len(c.Body) == 0 && len(c.Actions) == 0 {
		return fmt.Errorf("adaptive card has no body and no actions")
	}
	for i, e := range c.Body {
		if e == nil {
			return fmt.Errorf("adaptive card Body[%d] is nil", i)
		}
		if err := e.validate(); err != nil {
			return fmt.Errorf("adaptive card Body[%d]: %w", i, err)
		}
	}
	for i, a := range c.Actions {
		if a == nil {
			return fmt.Errorf("adaptive card Actions[%d] is nil", i)
		}
		if err := a.validate(); err != nil {
			return fmt.Errorf("adaptive card Actions[%d]: %w", i, err)
		}
	}
	return nil
}

// Element is an element of an adaptive card's body: a [TextBlock],
// [FactSet], [Image], [Container] or [ColumnSet]. Only this package's types
// implement it; for other elements write the card's JSON ([Card].JSON).
type Element interface {
	validate() error
}

// Action is an adaptive card action: an [OpenURLAction]. Only this
// package's types implement it.
type Action interface {
	validate() error
}

// TextBlock is a block of text. Teams renders a subset of Markdown in it
// (bold, italic, lists, links) and no HTML.
type TextBlock struct {
	Text string `json:"text"`
	// Size is "Small", "Default", "Medium", "Large" or "ExtraLarge".
	Size string `json:"size,omitempty"`
	// Weight is "Lighter", "Default" or "Bolder".
	Weight string `json:"weight,omitempty"`
	// Color is "Default", "Dark", "Light", "Accent", "Good", "Warning" or
	// "Attention".
	Color    string `json:"color,omitempty"`
	IsSubtle bool   `json:"isSubtle,omitempty"`
	Wrap     bool   `json:"wrap,omitempty"`
	MaxLines int    `json:"maxLines,omitempty"`
	// Spacing is "None", "Small", "Default", "Medium", "Large" or
	// "ExtraLarge".
	Spacing             string `json:"spacing,omitempty"`
	Separator           bool   `json:"separator,omitempty"`
	HorizontalAlignment string `json:"horizontalAlignment,omitempty"`
}

// MarshalJSON encodes the element with its type.
func (t TextBlock) MarshalJSON() ([]byte, error) {
	type plain TextBlock
	return json.Marshal(struct {
		Type string `json:"type"`
		plain
	}{"TextBlock", plain(t)})
}

func (t TextBlock) validate() error {
	if strings.TrimSpace(t.Text) == "" {
		return fmt.Errorf("TextBlock has no text")
	}
	return nil
}

// Fact is a title and value pair of a [FactSet].
type Fact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// FactSet is a list of facts shown as a two-column table.
type FactSet struct {
	Facts     []Fact `json:"facts"`
	Spacing   string `json:"spacing,omitempty"`
	Separator bool   `json:"separator,omitempty"`
}

// MarshalJSON encodes the element with its type.
func (f FactSet) MarshalJSON() ([]byte, error) {
	type plain FactSet
	return json.Marshal(struct {
		Type string `json:"type"`
		plain
	}{"FactSet", plain(f)})
}

func (f FactSet) validate() error {
	if len(f.Facts) == 0 {
		return fmt.Errorf("FactSet has no facts")
	}
	for i, x := range f.Facts {
		if strings.TrimSpace(x.Title) == "" && strings.TrimSpace(x.Value) == "" {
			return fmt.Errorf("FactSet.Facts[%d] is empty", i)
		}
	}
	return nil
}

// Image is an image loaded from an http or https URL.
type Image struct {
	URL     string `json:"url"`
	AltText string `json:"altText,omitempty"`
	// Size is "Auto", "Stretch", "Small", "Medium" or "Large".
	Size                string `json:"size,omitempty"`
	HorizontalAlignment string `json:"horizontalAlignment,omitempty"`
	Spacing             string `json:"spacing,omitempty"`
}

// MarshalJSON encodes the element with its type.
func (im Image) MarshalJSON() ([]byte, error) {
	type plain Image
	return json.Marshal(struct {
		Type string `json:"type"`
		plain
	}{"Image", plain(im)})
}

func (im Image) validate() error {
	return checkWebURL("Image.URL", im.URL)
}

// Container groups elements, optionally with a style ("default",
// "emphasis", "good", "attention", "warning", "accent").
type Container struct {
	Items     []Element `json:"items"`
	Style     string    `json:"style,omitempty"`
	Spacing   string    `json:"spacing,omitempty"`
	Separator bool      `json:"separator,omitempty"`
}

// MarshalJSON encodes the element with its type.
func (c Container) MarshalJSON() ([]byte, error) {
	type plain Container
	return json.Marshal(struct {
		Type string `json:"type"`
		plain
	}{"Container", plain(c)})
}

func (c Container) validate() error {
	if len(c.Items) == 0 {
		return fmt.Errorf("Container has no items")
	}
	for i, e := range c.Items {
		if e == nil {
			return fmt.Errorf("Container.Items[%d] is nil", i)
		}
		if err := e.validate(); err != nil {
			return fmt.Errorf("Container.Items[%d]: %w", i, err)
		}
	}
	return nil
}

// Column is a column of a [ColumnSet].
type Column struct {
	Items []Element `json:"items"`
	// Width is "auto", "stretch" or a weight such as "1" or "50px".
	Width     string `json:"width,omitempty"`
	Spacing   string `json:"spacing,omitempty"`
	Separator bool   `json:"separator,omitempty"`
}

// MarshalJSON encodes the column with its type.
func (c Column) MarshalJSON() ([]byte, error) {
	type plain Column
	return json.Marshal(struct {
		Type string `json:"type"`
		plain
	}{"Column", plain(c)})
}

// ColumnSet lays columns out side by side.
type ColumnSet struct {
	Columns   []Column `json:"columns"`
	Spacing   string   `json:"spacing,omitempty"`
	Separator bool     `json:"separator,omitempty"`
}

// MarshalJSON encodes the element with its type.
func (c ColumnSet) MarshalJSON() ([]byte, error) {
	type plain ColumnSet
	return json.Marshal(struct {
		Type string `json:"type"`
		plain
	}{"ColumnSet", plain(c)})
}

func (c ColumnSet) validate() error {
	if len(c.Columns) == 0 {
		return fmt.Errorf("ColumnSet has no columns")
	}
	for i, col := range c.Columns {
		for j, e := range col.Items {
			if e == nil {
				return fmt.Errorf("ColumnSet.Columns[%d].Items[%d] is nil", i, j)
			}
			if err := e.validate(); err != nil {
				return fmt.Errorf("ColumnSet.Columns[%d].Items[%d]: %w", i, j, err)
			}
		}
	}
	return nil
}

// OpenURLAction is a button that opens an http or https URL
// (Action.OpenUrl).
type OpenURLAction struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// MarshalJSON encodes the action with its type.
func (a OpenURLAction) MarshalJSON() ([]byte, error) {
	type plain OpenURLAction
	return json.Marshal(struct {
		Type string `json:"type"`
		plain
	}{"Action.OpenUrl", plain(a)})
}

func (a OpenURLAction) validate() error {
	if strings.TrimSpace(a.Title) == "" {
		return fmt.Errorf("Action.OpenUrl has no title")
	}
	if err := checkWebURL(fmt.Sprintf("Action.OpenUrl %q URL", a.Title), a.URL); err != nil {
		return err
	}
	return nil
}

// checkWebURL accepts absolute http and https URLs with a host.
func checkWebURL(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty", what)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%s %q is not a URL", what, s)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%s %q is not an absolute http or https URL", what, s)
	}
	return nil
}

// Clip is a recording clip to share: what [ClipMessage] shows.
type Clip struct {
	// Title names the clip ("Pricing objection").
	Title string
	// URL opens the clip (https). Required.
	URL string
	// Duration is the clip's length; zero leaves it out.
	Duration time.Duration
	// Snippet is a quote from the transcript.
	Snippet string
	// Speaker says who said the snippet.
	Speaker string
	// ThumbnailURL is a preview image (https).
	ThumbnailURL string
	// SharedBy is the name of the person sharing.
	SharedBy string
	// Note is the sharer's own words, shown as the message text above the
	// card.
	Note string
}

// ClipMessage returns a message that shares a recording clip the way Teams
// shows it well: an adaptive card with the title, who shared it and the
// duration, an optional thumbnail, the transcript snippet with its speaker,
// and an "Open clip" button (Action.OpenUrl), with a plain fallback text
// for clients that cannot render cards. The sharer's note, if any, is the
// message text above the card.
//
// Caller-supplied strings are data in the card's JSON, never HTML. Teams
// renders a little Markdown in card text, so a meeting title such as
// "[Claim your prize](https://evil.example)" would show as a link: the
// card's text has Markdown link syntax broken up ("] (" for "](") so that
// only the "Open clip" button links anywhere. URLs must be http or https,
// or the post is refused before sending.
func ClipMessage(c Clip) Message {
	title := strings.TrimSpace(c.Title)
	if title == "" {
		title = "Recording clip"
	}
	body := []Element{TextBlock{Text: noLinks(title), Size: "Medium", Weight: "Bolder", Wrap: true}}
	var meta []string
	if c.SharedBy != "" {
		meta = append(meta, "Shared by "+noLinks(c.SharedBy))
	}
	if d := formatDuration(c.Duration); d != "" {
		meta = append(meta, d)
	}
	if len(meta) > 0 {
		body = append(body, TextBlock{Text: strings.Join(meta, " · "), IsSubtle: true, Spacing: "None", Wrap: true})
	}
	if c.ThumbnailURL != "" {
		body = append(body, Image{URL: c.ThumbnailURL, AltText: title, Size: "Stretch"})
	}
	if s := strings.TrimSpace(c.Snippet); s != "" {
		quote := []Element{TextBlock{Text: "“" + noLinks(s) + "”", Wrap: true}}
		if c.Speaker != "" {
			quote = append(quote, TextBlock{Text: "— " + noLinks(c.Speaker), IsSubtle: true, Spacing: "Small", Wrap: true})
		}
		body = append(body, Container{Items: quote, Style: "emphasis"})
	}
	fallback := "Clip: " + title
	if d := formatDuration(c.Duration); d != "" {
		fallback += " (" + d + ")"
	}
	fallback += " " + c.URL
	card := &AdaptiveCard{
		Body:         body,
		Actions:      []Action{OpenURLAction{Title: "Open clip", URL: c.URL}},
		FallbackText: fallback,
		Speak:        "Clip: " + title,
	}
	m := Message{Cards: []Card{{Adaptive: card}}}
	if n := strings.TrimSpace(c.Note); n != "" {
		m.Body = []Part{Text(n)}
	}
	return m
}

// linkSyntax is Markdown's inline link "](", reference link "][" and link
// definition "]:"; noLinks puts a space inside each so no renderer sees a
// link.
var linkSyntax = strings.NewReplacer("](", "] (", "][", "] [", "]:", "] :")

// noLinks breaks up Markdown link syntax in text shown on a card.
func noLinks(s string) string { return linkSyntax.Replace(s) }

// formatDuration writes d as m:ss or h:mm:ss, rounded to the second.
func formatDuration(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	s := int64(d.Round(time.Second) / time.Second)
	if s == 0 {
		s = 1
	}
	h, m, sec := s/3600, s/60%60, s%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%d:%02d", m, sec)
}

// Notice is a short notice for a person: a title, a sentence, facts
// and a link. [NoticeMessage] turns it into a card.
type Notice struct {
	// Title is the headline ("Recording ready"). Required.
	Title string
	// Text is one or two sentences under the title.
	Text string
	// Facts are shown as a table ("Meeting": "Weekly sync").
	Facts []Fact
	// Link opens the thing the notification is about (https).
	Link string
	// LinkTitle labels the button; empty means "Open".
	LinkTitle string
	// Importance is the message importance (ImportanceHigh makes Teams
	// flag it).
	Importance Importance
}

// NoticeMessage returns a message with an adaptive card for n: the
// title, the text, the facts and a button for the link, with a plain
// fallback text. Caller strings are data, never HTML, and Markdown link
// syntax in them is broken up as in [ClipMessage]: only the button links.
func NoticeMessage(n Notice) Message {
	title := strings.TrimSpace(n.Title)
	body := []Element{TextBlock{Text: noLinks(title), Size: "Medium", Weight: "Bolder", Wrap: true}}
	if t := strings.TrimSpace(n.Text); t != "" {
		body = append(body, TextBlock{Text: noLinks(t), Wrap: true})
	}
	if len(n.Facts) > 0 {
		facts := make([]Fact, len(n.Facts))
		for i, f := range n.Facts {
			facts[i] = Fact{Title: noLinks(f.Title), Value: noLinks(f.Value)}
		}
		body = append(body, FactSet{Facts: facts})
	}
	fallback := title
	if t := strings.TrimSpace(n.Text); t != "" {
		fallback += ": " + t
	}
	card := &AdaptiveCard{Body: body, FallbackText: fallback}
	if n.Link != "" {
		label := n.LinkTitle
		if label == "" {
			label = "Open"
		}
		card.Actions = []Action{OpenURLAction{Title: label, URL: n.Link}}
		card.FallbackText += " " + n.Link
	}
	return Message{Importance: n.Importance, Cards: []Card{{Adaptive: card}}}
}
