package calendar_test

import (
	"context"
	"fmt"
	"log"
	"maps"
	"slices"
	"time"

	"github.com/m365kit/m365kit/calendar"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
)

func ExampleFindMeetingLink() {
	// A Zoom invitation pasted into an Outlook event, its link rewritten by
	// Outlook SafeLinks.
	ev := &calendar.Event{
		Subject: "Pipeline review",
		Body: &calendar.ItemBody{ContentType: "html", Content: `<p>Join Zoom Meeting<br>` +
			`<a href="https://nam12.safelinks.protection.outlook.com/?url=https%3A%2F%2Fus02web.zoom.us%2Fj%2F85212345678%3Fpwd%3DYk9XQ0pU&amp;data=05%7C02&amp;reserved=0">` +
			`https://us02web.zoom.us/j/85212345678?pwd=Yk9XQ0pU</a><br>Meeting ID: 852 1234 5678<br>` +
			`Dial by your location: <a href="tel:+16465588656,,85212345678#">+1 646 558 8656</a></p>`},
	}
	link, ok := calendar.FindMeetingLink(ev)
	fmt.Println(ok, link.Provider, link.Field)
	fmt.Println(link.URL)
	fmt.Println("meeting", link.MeetingID, "passcode", link.Passcode)
	// Output:
	// true zoom body
	// https://zoom.us/j/85212345678?pwd=Yk9XQ0pU
	// meeting 85212345678 passcode Yk9XQ0pU
}

func ExampleRules_Match() {
	rules := calendar.Rules{
		ExternalOnly:       true,
		TenantDomains:      []string{"contoso.com"},
		MinAttendees:       2,
		SkipFree:           true,
		RequireMeetingLink: true,
	}
	events := []*calendar.Event{
		{Subject: "Customer demo", Organizer: &calendar.Recipient{EmailAddress: calendar.EmailAddress{Address: "ana@contoso.com"}},
			Attendees:     []calendar.Attendee{{EmailAddress: calendar.EmailAddress{Address: "kim@fabrikam.com"}}},
			OnlineMeeting: &calendar.OnlineMeetingInfo{JoinURL: "https://teams.microsoft.com/meet/2345678901234?p=AbC"}},
		{Subject: "Team lunch", Organizer: &calendar.Recipient{EmailAddress: calendar.EmailAddress{Address: "ana@contoso.com"}},
			Attendees: []calendar.Attendee{{EmailAddress: calendar.EmailAddress{Address: "bo@contoso.com"}}}},
		{Subject: "Focus time", ShowAs: calendar.ShowAsFree},
		{Subject: "Old sync", IsCancelled: true},
	}
	for _, ev := range events {
		d := rules.Match(ev)
		if d.Join {
			fmt.Printf("%s: join (%s)\n", ev.Subject, d.Link.Provider)
			continue
		}
		fmt.Printf("%s: skip (%s)\n", ev.Subject, d.Reason)
	}
	// Output:
	// Customer demo: join (teams)
	// Team lunch: skip (no external participant)
	// Focus time: skip (shown as free)
	// Old sync: skip (cancelled)
}

func ExampleDedupKey() {
	start := calendar.DateTimeTimeZone{Time: time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)}
	join := "https://teams.microsoft.com/meet/2345678901234?p=AbC"
	// The organiser's copy and an attendee's copy of one Teams meeting.
	organizer := &calendar.Event{ID: "AAMk-ana", ICalUID: "ICAL-1", Start: start, OnlineMeeting: &calendar.OnlineMeetingInfo{JoinURL: join}}
	attendee := &calendar.Event{ID: "AAMk-kim", ICalUID: "ICAL-1", Start: start, Location: &calendar.Location{DisplayName: "Microsoft Teams " + join}}
	fmt.Println(calendar.DedupKey(organizer) == calendar.DedupKey(attendee))
	// Output: true
}

// db is what a caller persists per user: the events of the window and the
// cursor, written together.
type db struct {
	events map[string]calendar.Event
	cursor string
}

// commit applies one page in what would be a single transaction.
func (d *db) commit(p *calendar.Page) {
	if p.Reset {
		clear(d.events) // Graph lost the sync state: this round lists everything again
	}
	for _, id := range p.Removed {
		delete(d.events, id) // deleting an ID never stored is a no-op
	}
	for _, e := range p.Events {
		d.events[e.ID] = e // upsert: duplicates and replays are harmless
	}
	d.cursor = p.Cursor
}

func (d *db) subjects() []string {
	var s []string
	for _, e := range d.events {
		s = append(s, e.Subject)
	}
	slices.Sort(s)
	return s
}

// demo starts a fake Microsoft 365 with one user and returns a Service for
// them, as the backend gets it after sign-in.
func demo() (*graphtest.Server, *graphtest.User, *calendar.Service) {
	srv := graphtest.NewServer()
	u := srv.AddTenant("contoso.com").AddUser("ana@contoso.com", "Ana")
	tok := srv.IssueToken(u, "11111111-2222-3333-4444-555555555555", "Calendars.Read")
	gc, err := graphclient.New(graphclient.StaticToken(tok), graphclient.WithHTTPClient(srv.HTTPClient()))
	if err != nil {
		log.Fatal(err)
	}
	return srv, u, calendar.New(gc)
}

func ExampleService_Sync() {
	srv, u, svc := demo()
	defer srv.Close()
	ctx := context.Background()
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	for i, s := range []string{"Kickoff", "Design review", "Customer call"} {
		start := day.AddDate(0, 0, i).Add(10 * time.Hour)
		u.AddEvent(graphtest.Event{Subject: s, Start: start, End: start.Add(time.Hour)})
	}

	store := &db{events: map[string]calendar.Event{}}
	run := func(req calendar.SyncRequest) {
		if store.cursor != "" {
			req = calendar.SyncRequest{Cursor: store.cursor} // resume: the cursor carries the window
		}
		for page, err := range svc.Sync(ctx, req) {
			if err != nil {
				log.Fatal(err) // retry later from store.cursor
			}
			store.commit(page)
		}
	}
	window := calendar.SyncRequest{Start: day.AddDate(0, 0, -1), End: day.AddDate(0, 0, 30), PageSize: 2}
	run(window)
	fmt.Println(store.subjects())

	// Later (a timer, or a change notification): only the changes come.
	start := day.AddDate(0, 0, 5).Add(9 * time.Hour)
	u.AddEvent(graphtest.Event{Subject: "Retro", Start: start, End: start.Add(time.Hour)})
	run(window)
	fmt.Println(store.subjects())
	// Output:
	// [Customer call Design review Kickoff]
	// [Customer call Design review Kickoff Retro]
}

// ExampleService_Slide keeps "1 day back, 30 days ahead" in sync. Delta
// tokens are bound to their window, so once a day the window slides.
func ExampleService_Slide() {
	srv, u, svc := demo()
	defer srv.Close()
	ctx := context.Background()
	today := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	add := func(subject string, days int) graphtest.Event {
		s := today.AddDate(0, 0, days).Add(10 * time.Hour)
		return u.AddEvent(graphtest.Event{Subject: subject, Start: s, End: s.Add(time.Hour)})
	}
	add("Yesterday's retro", -1)
	planning := add("Planning", 2)
	add("Offsite", 30)
	window := func(now time.Time) calendar.Window {
		return calendar.Window{Start: now.AddDate(0, 0, -1), End: now.AddDate(0, 0, 31)}
	}

	store := &db{events: map[string]calendar.Event{}}
	w := window(today)
	for page, err := range svc.Sync(ctx, calendar.SyncRequest{Start: w.Start, End: w.End}) {
		if err != nil {
			log.Fatal(err)
		}
		store.commit(page)
	}
	fmt.Println("today:", store.subjects())

	// A day passes; Planning is cancelled and a launch is planned a month out.
	if err := u.DeleteEvent(planning.ID); err != nil {
		log.Fatal(err)
	}
	add("Launch", 31)
	next := window(today.AddDate(0, 0, 1))
	for page, err := range svc.Slide(ctx, calendar.SlideRequest{Cursor: store.cursor, Start: next.Start, End: next.End}) {
		if err != nil {
			log.Fatal(err) // the old cursor is still stored: slide again later
		}
		store.commit(page) // the old cursor until the Done page, then the new one
		if page.Done {
			maps.DeleteFunc(store.events, func(_ string, e calendar.Event) bool {
				return !e.End.Time.After(next.Start) || !e.Start.Time.Before(next.End)
			})
		}
	}
	fmt.Println("tomorrow:", store.subjects())
	// Output:
	// today: [Offsite Planning Yesterday's retro]
	// tomorrow: [Launch Offsite]
}
