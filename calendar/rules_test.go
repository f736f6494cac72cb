package calendar

import (
	"strings"
	"testing"
	"time"
)

func meeting(mods ...func(*Event)) *Event {
	ev := &Event{
		ID:             "AAMk1",
		ICalUID:        "040000008200E001",
		Subject:        "Pipeline review",
		Start:          DateTimeTimeZone{Time: time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC), TimeZone: "UTC"},
		ShowAs:         ShowAsBusy,
		Sensitivity:    Normal,
		IsOrganizer:    true,
		Organizer:      &Recipient{EmailAddress: EmailAddress{Address: "ana@contoso.com"}},
		ResponseStatus: &ResponseStatus{Response: ResponseOrganizer},
		Attendees: []Attendee{
			{Type: Required, EmailAddress: EmailAddress{Address: "bo@Sales.Contoso.com"}},
			{Type: Required, EmailAddress: EmailAddress{Address: "kim@fabrikam.com"}},
			{Type: Resource, EmailAddress: EmailAddress{Address: "room-4b@contoso.com"}},
		},
		OnlineMeeting: &OnlineMeetingInfo{JoinURL: "https://teams.microsoft.com/meet/2345678901234?p=AbC"},
	}
	for _, m := range mods {
		m(ev)
	}
	return ev
}

func TestRulesMatch(t *testing.T) {
	t.Parallel()
	domains := []string{"contoso.com", "contoso.onmicrosoft.com"}
	tests := []struct {
		name   string
		rules  Rules
		ev     *Event
		want   bool
		reason Reason
	}{
		{"zero rules join a normal meeting", Rules{}, meeting(), true, ReasonNone},
		{"nil event", Rules{}, nil, false, ReasonNoEvent},
		{"cancelled", Rules{}, meeting(func(e *Event) { e.IsCancelled = true }), false, ReasonCancelled},
		{"declined", Rules{}, meeting(func(e *Event) { e.ResponseStatus.Response = ResponseDeclined }), false, ReasonDeclined},
		{"tentative is kept", Rules{}, meeting(func(e *Event) { e.ResponseStatus.Response = ResponseTentativelyAccepted }), true, ReasonNone},
		{"free kept by default", Rules{}, meeting(func(e *Event) { e.ShowAs = ShowAsFree }), true, ReasonNone},
		{"free skipped when asked", Rules{SkipFree: true}, meeting(func(e *Event) { e.ShowAs = ShowAsFree }), false, ReasonFree},
		{"all-day skipped when asked", Rules{SkipAllDay: true}, meeting(func(e *Event) { e.IsAllDay = true }), false, ReasonAllDay},
		{"all-day kept by default", Rules{}, meeting(func(e *Event) { e.IsAllDay = true }), true, ReasonNone},
		{"private skipped", Rules{}, meeting(func(e *Event) { e.Sensitivity = Private }), false, ReasonPrivate},
		{"confidential skipped", Rules{}, meeting(func(e *Event) { e.Sensitivity = Confidential }), false, ReasonPrivate},
		{"private allowed", Rules{IncludePrivate: true}, meeting(func(e *Event) { e.Sensitivity = Private }), true, ReasonNone},
		{"external attendee", Rules{ExternalOnly: true, TenantDomains: domains}, meeting(), true, ReasonNone},
		{"internal only: subdomain and resource do not count", Rules{ExternalOnly: true, TenantDomains: domains},
			meeting(func(e *Event) {
				e.Attendees = append(e.Attendees[:1], Attendee{Type: Resource, EmailAddress: EmailAddress{Address: "tv@fabrikam.com"}})
			}),
			false, ReasonInternal},
		{"external organiser", Rules{ExternalOnly: true, TenantDomains: domains},
			meeting(func(e *Event) {
				e.IsOrganizer = false
				e.Organizer.EmailAddress.Address = "lee@partner.example"
				e.Attendees = e.Attendees[:1]
			}), true, ReasonNone},
		{"external-only without domains", Rules{ExternalOnly: true}, meeting(), false, ReasonNoTenantDomains},
		{"domains written as @domain and *.domain", Rules{ExternalOnly: true, TenantDomains: []string{"@contoso.com", "*.fabrikam.com"}}, meeting(), false, ReasonInternal},
		{"domain match ignores case and trailing dot", Rules{ExternalOnly: true, TenantDomains: []string{" CONTOSO.com. ", "fabrikam.com"}}, meeting(), false, ReasonInternal},
		{"min attendees met (organiser + 2, room excluded)", Rules{MinAttendees: 3}, meeting(), true, ReasonNone},
		{"too few", Rules{MinAttendees: 4}, meeting(), false, ReasonTooFewAttendees},
		{"too many", Rules{MaxAttendees: 2}, meeting(), false, ReasonTooManyAttendees},
		{"organiser listed as attendee counted once", Rules{MaxAttendees: 3},
			meeting(func(e *Event) {
				e.Attendees = append(e.Attendees, Attendee{EmailAddress: EmailAddress{Address: "ANA@contoso.com"}})
			}), true, ReasonNone},
		{"organizer only", Rules{OrganizerOnly: true}, meeting(func(e *Event) { e.IsOrganizer = false }), false, ReasonNotOrganizer},
		{"requires link", Rules{RequireMeetingLink: true}, meeting(func(e *Event) { e.OnlineMeeting = nil }), false, ReasonNoMeetingLink},
		{"link present", Rules{RequireMeetingLink: true}, meeting(), true, ReasonNone},
		{"cancelled wins over other reasons", Rules{OrganizerOnly: true}, meeting(func(e *Event) { e.IsCancelled, e.IsOrganizer = true, false }), false, ReasonCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := tc.rules.Match(tc.ev)
			if d.Join != tc.want || d.Reason != tc.reason {
				t.Errorf("Match = %v, %q; want %v, %q", d.Join, d.Reason, tc.want, tc.reason)
			}
			if want, _ := FindMeetingLink(tc.ev); d.Link != want {
				t.Errorf("Match's Link = %+v, want FindMeetingLink's %+v", d.Link, want)
			}
		})
	}
}

func TestDedupKey(t *testing.T) {
	t.Parallel()
	teams := "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NzIyNzhlMGEtM2YyZC00ZmY0LTlhNzUtZmZjNWFmZGNlNzE2%40thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%2c%22Oid%22%3a%22bc55b173-cff6-457d-b7a1-64bda7d7581a%22%7d"
	safelink := "https://nam12.safelinks.protection.outlook.com/?url=" + escapeAll(teams) + "&data=05%7C02&reserved=0"
	start := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)

	// Ana organises: the joinUrl. Bo was forwarded the invite: his copy has
	// another ID and the link only in the body, wrapped by SafeLinks.
	ana := &Event{ID: "AAMk-ana", ICalUID: "ICAL1", Start: DateTimeTimeZone{Time: start}, OnlineMeeting: &OnlineMeetingInfo{JoinURL: teams}}
	bo := &Event{ID: "AAMk-bo", ICalUID: "ICAL1", Start: DateTimeTimeZone{Time: start.In(time.FixedZone("PST", -8*3600))},
		Body: &ItemBody{ContentType: "html", Content: `<a href="` + safelink + `">Join</a>`}}
	// Kim got a separate invitation (another iCalUId) to the same Teams meeting.
	kim := &Event{ID: "AAMk-kim", ICalUID: "ICAL2", Start: DateTimeTimeZone{Time: start}, Locations: []Location{{LocationURI: teams}}}
	if DedupKey(ana) != DedupKey(bo) || DedupKey(ana) != DedupKey(kim) {
		t.Errorf("one meeting, three keys: %s %s %s", DedupKey(ana), DedupKey(bo), DedupKey(kim))
	}
	next := *ana
	next.Start.Time = start.Add(7 * 24 * time.Hour)
	if DedupKey(&next) == DedupKey(ana) {
		t.Error("the next occurrence of a recurring meeting has the same key")
	}
	// Without a link, iCalUId and start decide.
	a := &Event{ID: "x", ICalUID: "ICAL9", Start: DateTimeTimeZone{Time: start}}
	b := &Event{ID: "y", ICalUID: "ICAL9", Start: DateTimeTimeZone{Time: start}}
	c := &Event{ID: "z", ICalUID: "ICAL8", Start: DateTimeTimeZone{Time: start}}
	if DedupKey(a) != DedupKey(b) || DedupKey(a) == DedupKey(c) {
		t.Error("iCalUId keys do not dedupe as documented")
	}
	// Shapes of one link (another host, the Teams context lost) still match.
	zoomA := &Event{ID: "1", Start: DateTimeTimeZone{Time: start}, Location: &Location{DisplayName: "https://us02web.zoom.us/j/85212345678?pwd=abc"}}
	zoomB := &Event{ID: "2", Start: DateTimeTimeZone{Time: start}, Body: &ItemBody{ContentType: "text", Content: "Join: https://zoom.us/j/85212345678?pwd=abc"}}
	bare := &Event{ID: "3", Start: DateTimeTimeZone{Time: start}, OnlineMeeting: &OnlineMeetingInfo{JoinURL: teams[:strings.Index(teams, "?")]}}
	if DedupKey(zoomA) != DedupKey(zoomB) || DedupKey(bare) != DedupKey(ana) || DedupKey(zoomA) == DedupKey(ana) {
		t.Error("link shapes of one meeting give different keys, or two meetings one key")
	}

	// Same room name, same time, two Webex sites: two meetings. The same
	// room through the new my.webex.com host: one.
	webex := func(u string) *Event {
		return &Event{ID: u, Start: DateTimeTimeZone{Time: start}, Location: &Location{DisplayName: u}}
	}
	acme, other := webex("https://acme.webex.com/meet/sales"), webex("https://other.webex.com/meet/sales")
	if DedupKey(acme) == DedupKey(other) {
		t.Error("personal rooms of the same name on two Webex sites share a key")
	}
	if DedupKey(acme) != DedupKey(webex("https://acme.my.webex.com/meet/Sales")) {
		t.Error("one Webex room through two hosts has two keys")
	}
	if DedupKey(nil) != "" {
		t.Error("DedupKey(nil) is not empty")
	}
	if k := DedupKey(ana); len(k) != 64 || k == teams {
		t.Errorf("key %q is not an opaque SHA-256", k)
	}
}

// TestDedupKeyPasscodes: copies share a key only if they join the meeting
// the same way. Anyone can put an invitation in a user's calendar; one
// that names a real meeting with a wrong (or no) passcode must not merge
// with the real copy, or a product keeping one copy per key could keep
// the bad one and miss the meeting.
func TestDedupKeyPasscodes(t *testing.T) {
	t.Parallel()
	start := DateTimeTimeZone{Time: time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)}
	at := func(id, link string) *Event {
		return &Event{ID: id, ICalUID: "ICAL-" + id, Start: start, Location: &Location{DisplayName: link}}
	}
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"Zoom, same passcode", "https://us02web.zoom.us/j/85212345678?pwd=abc", "https://zoom.us/j/85212345678?pwd=abc", true},
		{"Zoom, conflicting passcodes", "https://zoom.us/j/85212345678?pwd=abc", "https://zoom.us/j/85212345678?pwd=evil", false},
		{"Zoom, passcode and none", "https://zoom.us/j/85212345678?pwd=abc", "https://zoom.us/j/85212345678", false},
		{"Teams meet, same passcode", "https://teams.microsoft.com/meet/2345678901234?p=AbC", "https://teams.microsoft.com/meet/2345678901234?p=AbC", true},
		{"Teams meet, conflicting passcodes", "https://teams.microsoft.com/meet/2345678901234?p=AbC", "https://teams.microsoft.com/meet/2345678901234?p=XyZ", false},
		{"Teams meet, passcode case matters", "https://teams.microsoft.com/meet/2345678901234?p=AbC", "https://teams.microsoft.com/meet/2345678901234?p=abc", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := at("a", tt.a), at("b", tt.b)
			la, oka := FindMeetingLink(a)
			lb, okb := FindMeetingLink(b)
			if !oka || !okb || la.MeetingID == "" || la.MeetingID != lb.MeetingID {
				t.Fatalf("links %+v and %+v do not name one meeting", la, lb)
			}
			if got := DedupKey(a) == DedupKey(b); got != tt.same {
				t.Errorf("same key = %v, want %v (passcodes %q and %q)", got, tt.same, la.Passcode, lb.Passcode)
			}
		})
	}
}
