package calendar

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// corpusRow is one line of testdata/links.tsv.
type corpusRow struct {
	line  int
	field string
	input string
	want  MeetingLink
	match bool
}

func readCorpus(t testing.TB) []corpusRow {
	t.Helper()
	f, err := os.Open("testdata/links.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []corpusRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		for len(cols) < 7 {
			cols = append(cols, "")
		}
		r := corpusRow{line: n, field: cols[0], input: strings.ReplaceAll(cols[1], `\n`, "\n")}
		if cols[2] != "-" {
			r.match = true
			r.want = MeetingLink{Provider: Provider(cols[2]), URL: cols[3], MeetingID: cols[4], Passcode: cols[5]}
			for kv := range strings.SplitSeq(cols[6], ";") {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "tid":
					r.want.TenantID = v
				case "oid":
					r.want.OrganizerID = v
				case "thread":
					r.want.ThreadID = v
				case "msg":
					r.want.MessageID = v
				case "site":
					r.want.Site = v
				}
			}
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// corpusEvent puts a corpus input into the event field the row names.
func corpusEvent(t testing.TB, field, input string) (*Event, Field) {
	t.Helper()
	switch field {
	case "joinUrl":
		return &Event{OnlineMeeting: &OnlineMeetingInfo{JoinURL: input}}, FieldJoinURL
	case "locationUri":
		return &Event{Locations: []Location{{DisplayName: "Online", LocationURI: input}}}, FieldLocations
	case "location":
		return &Event{Location: &Location{DisplayName: input}}, FieldLocation
	case "body-text":
		return &Event{Body: &ItemBody{ContentType: "text", Content: input}}, FieldBody
	case "body-html":
		return &Event{Body: &ItemBody{ContentType: "html", Content: input}}, FieldBody
	case "subject":
		return &Event{Subject: input}, FieldSubject
	}
	t.Fatalf("unknown field %q", field)
	return nil, ""
}

func TestFindMeetingLinkCorpus(t *testing.T) {
	t.Parallel()
	rows := readCorpus(t)
	if len(rows) < 200 {
		t.Fatalf("corpus has %d rows, want at least 200", len(rows))
	}
	providers := map[Provider]bool{}
	for _, r := range rows {
		ev, src := corpusEvent(t, r.field, r.input)
		got, ok := FindMeetingLink(ev)
		if ok != r.match {
			t.Errorf("links.tsv:%d: FindMeetingLink(%s %.80q) found=%v, want %v (got %+v)", r.line, r.field, r.input, ok, r.match, got)
			continue
		}
		if !ok {
			continue
		}
		providers[got.Provider] = true
		want := r.want
		want.Field = src
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("links.tsv:%d: FindMeetingLink(%s %.80q) mismatch (-want +got):\n%s", r.line, r.field, r.input, diff)
		}
	}
	for _, p := range []Provider{Teams, TeamsLive, Zoom, GoogleMeet, Webex, GoToMeeting, GoToWebinar, BlueJeans, Chime,
		Whereby, RingCentral, Jitsi, EightByEight, ZohoMeeting, SkypeForBusiness, SlackHuddle, Around, Livestorm, Gong, Chorus} {
		if !providers[p] {
			t.Errorf("corpus has no matching row for provider %s", p)
		}
	}
}

// TestFindMeetingLinkSourceRank proves the documented order of sources:
// a higher-ranked field wins even when a lower one also holds a link.
func TestFindMeetingLinkSourceRank(t *testing.T) {
	t.Parallel()
	const (
		teamsURL = "https://teams.microsoft.com/meet/2345678901234?p=AbC"
		zoomURL  = "https://zoom.us/j/98765432101"
		meetURL  = "https://meet.google.com/abc-defg-hij"
		webexURL = "https://acme.webex.com/meet/jdoe"
		lyncURL  = "https://join.skype.com/AbCdEf"
		chimeURL = "https://chime.aws/1234567890"
	)
	full := func() *Event {
		return &Event{
			Subject:          "Sync " + chimeURL,
			Body:             &ItemBody{ContentType: "html", Content: `<a href="` + webexURL + `">join</a>`},
			Location:         &Location{DisplayName: meetURL},
			Locations:        []Location{{DisplayName: "Room 1"}, {DisplayName: "Zoom", LocationURI: zoomURL}},
			OnlineMeetingURL: lyncURL,
			OnlineMeeting:    &OnlineMeetingInfo{JoinURL: teamsURL},
		}
	}
	tests := []struct {
		name  string
		strip func(*Event)
		want  Provider
		field Field
	}{
		{"joinUrl first", func(*Event) {}, Teams, FieldJoinURL},
		{"deprecated onlineMeetingUrl next", func(e *Event) { e.OnlineMeeting = nil }, SkypeForBusiness, FieldOnlineMeetingURL},
		{"locations next", func(e *Event) { e.OnlineMeeting, e.OnlineMeetingURL = nil, "" }, Zoom, FieldLocations},
		{"location next", func(e *Event) { e.OnlineMeeting, e.OnlineMeetingURL, e.Locations = nil, "", nil }, GoogleMeet, FieldLocation},
		{"body next", func(e *Event) { e.OnlineMeeting, e.OnlineMeetingURL, e.Locations, e.Location = nil, "", nil, nil }, Webex, FieldBody},
		{"subject last", func(e *Event) {
			e.OnlineMeeting, e.OnlineMeetingURL, e.Locations, e.Location, e.Body = nil, "", nil, nil, nil
		}, Chime, FieldSubject},
		{"bodyPreview when no body", func(e *Event) {
			e.OnlineMeeting, e.OnlineMeetingURL, e.Locations, e.Location, e.Body = nil, "", nil, nil, nil
			e.BodyPreview = "Join " + zoomURL
		}, Zoom, FieldBodyPreview},
		{"empty joinUrl falls through", func(e *Event) { e.OnlineMeeting.JoinURL = "" }, SkypeForBusiness, FieldOnlineMeetingURL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev := full()
			tc.strip(ev)
			got, ok := FindMeetingLink(ev)
			if !ok || got.Provider != tc.want || got.Field != tc.field {
				t.Errorf("FindMeetingLink = %v %+v, want provider %s from %s", ok, got, tc.want, tc.field)
			}
		})
	}
	if _, ok := FindMeetingLink(nil); ok {
		t.Error("FindMeetingLink(nil) found a link")
	}
	if _, ok := FindMeetingLink(&Event{}); ok {
		t.Error("FindMeetingLink(empty event) found a link")
	}
}

// TestFindMeetingLinkCanonicalAcrossShapes proves that the shapes of one
// meeting's link collapse to one canonical URL (what DedupKey relies on).
func TestFindMeetingLinkCanonicalAcrossShapes(t *testing.T) {
	t.Parallel()
	byMeeting := map[string]map[string]bool{}
	for _, r := range readCorpus(t) {
		if !r.match {
			continue
		}
		key := string(r.want.Provider) + "|" + r.want.MeetingID + "|" + r.want.ThreadID + "|" + r.want.TenantID
		if byMeeting[key] == nil {
			byMeeting[key] = map[string]bool{}
		}
		ev, _ := corpusEvent(t, r.field, r.input)
		got, _ := FindMeetingLink(ev)
		byMeeting[key][got.URL] = true
	}
	teams := byMeeting["teams||19:meeting_NzIyNzhlMGEtM2YyZC00ZmY0LTlhNzUtZmZjNWFmZGNlNzE2@thread.v2|72f988bf-86f1-41af-91ab-2d7cd011db47"]
	if len(teams) < 3 {
		t.Fatalf("want the Teams test meeting in many shapes, got %v", teams)
	}
	// Gov and cloud hosts are different meetings' hosts by design; count the commercial host only.
	n := 0
	for u := range teams {
		if strings.HasPrefix(u, "https://teams.microsoft.com/") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the Teams meeting has %d canonical URLs on teams.microsoft.com, want 1: %v", n, teams)
	}
}

func TestTrimURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://a.example/x.", "https://a.example/x"},
		{"(https://a.example/x)", "https://a.example/x"},
		{"https://a.example/wiki/Go_(language)", "https://a.example/wiki/Go_(language)"},
		{"https://a.example/x%3E", "https://a.example/x"},
		{"https://a.example/x%3e%3E", "https://a.example/x"},
		{"https://a.example/x&gt;", "https://a.example/x"},
		{"'https://a.example/x',", "https://a.example/x"},
		{"...", ""},
		{"https://a.example/x))).", "https://a.example/x"},
		{"https://a.example/(x))", "https://a.example/(x)"},
		{"https://a.example/x&QUOT;&nbsp;", "https://a.example/x"},
	}
	for _, tc := range tests {
		if got := trimURL(tc.in); got != tc.want {
			t.Errorf("trimURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestUnwrapIsBounded proves a wrapper that wraps itself many times, or
// points at itself, ends.
func TestUnwrapIsBounded(t *testing.T) {
	t.Parallel()
	u := "https://zoom.us/j/98765432101"
	for range 40 {
		u = "https://nam12.safelinks.protection.outlook.com/?url=" + escapeAll(u) + "&data=x"
	}
	if _, ok := FindMeetingLink(&Event{Body: &ItemBody{ContentType: "text", Content: u}}); ok {
		t.Error("a link wrapped 40 times was unwrapped; want the nesting bound to stop it")
	}
	self := "https://nam12.safelinks.protection.outlook.com/?url=https%3A%2F%2Fnam12.safelinks.protection.outlook.com%2F"
	if _, ok := FindMeetingLink(&Event{Body: &ItemBody{ContentType: "text", Content: self}}); ok {
		t.Error("a self-referencing wrapper produced a link")
	}
}

// TestFindMeetingLinkHostileBodies feeds bodies anyone can put in a meeting
// invite. An earlier version was quadratic on each (minutes for 300 KB) and
// panicked on letters whose lower case is longer than they are ("Ⱥ").
func TestFindMeetingLinkHostileBodies(t *testing.T) {
	t.Parallel()
	const zoomLink = "https://zoom.us/j/98765432101"
	tests := []struct {
		name, body string
		want       bool
	}{
		{"trailing dots", zoomLink + strings.Repeat(".", 300_000), true},
		{"trailing parens", zoomLink + strings.Repeat(")", 300_000), true},
		{"trailing encoded brackets", zoomLink + strings.Repeat("%3E", 100_000), true},
		{"glued wrapped schemes", strings.Repeat("=https://", 100_000), false},
		{"glued links", strings.Repeat("xhttps://a.example/", 50_000), false},
		{"many tokens", strings.Repeat("https://a.example/ ", 50_000) + zoomLink, false}, // past maxCandidates
		{"longer lower case", strings.Repeat("Ⱥ", 40) + "http://a " + zoomLink, true},
		{"longer lower case glued", strings.Repeat("Ⱥ", 40) + zoomLink, true},
	}
	for _, tc := range tests {
		start := time.Now()
		l, ok := FindMeetingLinkInText(tc.body, FieldBody)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: %d bytes took %v", tc.name, len(tc.body), d)
		}
		if ok != tc.want || ok && l.URL != zoomLink {
			t.Errorf("%s: got %v %q, want %v %q", tc.name, ok, l.URL, tc.want, zoomLink)
		}
		start = time.Now()
		FindMeetingLink(&Event{Body: &ItemBody{ContentType: "html", Content: "<p " + tc.body + ">"}})
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s as a tag: %d bytes took %v", tc.name, len(tc.body), d)
		}
	}
}

func FuzzFindMeetingLink(f *testing.F) {
	for _, r := range readCorpus(f) {
		f.Add(r.input)
	}
	f.Add("<a href='https://zoom.us/j/1")
	f.Add("https://urldefense.com/v3/__https://zoom.us/j/98765432101?pwd=**__;!!$")
	f.Add("https://teams.live.com/light-meetings/launch?coords=e30")
	f.Add("<style>")
	f.Add("<!--")
	f.Fuzz(func(t *testing.T, s string) {
		ev := &Event{
			Subject:       s,
			Body:          &ItemBody{ContentType: "html", Content: s},
			Location:      &Location{DisplayName: s, LocationURI: s},
			Locations:     []Location{{LocationURI: s}},
			OnlineMeeting: &OnlineMeetingInfo{JoinURL: s},
		}
		l, ok := FindMeetingLink(ev)
		if !ok {
			return
		}
		if l.Provider == "" || l.URL == "" || l.Field == "" {
			t.Fatalf("incomplete link %+v for %q", l, s)
		}
		// The canonical URL is itself a link to the same meeting.
		again, ok := FindMeetingLink(&Event{OnlineMeeting: &OnlineMeetingInfo{JoinURL: l.URL}})
		if !ok || again.URL != l.URL || again.Provider != l.Provider {
			t.Fatalf("canonical URL %q of %q re-parses as %v %+v", l.URL, s, ok, again)
		}
	})
}

func TestFindMeetingLinkInText(t *testing.T) {
	t.Parallel()
	l, ok := FindMeetingLinkInText("Posted in chat: join at https://meet.google.com/abc-defg-hij, thanks", "chat")
	if !ok || l.Provider != GoogleMeet || l.Field != "chat" || l.MeetingID != "abc-defg-hij" {
		t.Errorf("FindMeetingLinkInText = %v %+v", ok, l)
	}
	if _, ok := FindMeetingLinkInText("", "chat"); ok {
		t.Error("empty text has a link")
	}
}
