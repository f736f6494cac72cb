package graphtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const calendarWindow = "startDateTime=2026-11-23T00:00:00Z&endDateTime=2026-11-30T00:00:00Z"

// syncRound follows nextLinks until a deltaLink and returns the items,
// the removed IDs, the page count and the deltaLink.
func syncRound(t *testing.T, srv *Server, tok, first string, maxPage int) (items []map[string]any, removed []string, pages int, deltaLink string) {
	t.Helper()
	next := first
	for next != "" {
		hdr := map[string]string{}
		if maxPage > 0 {
			hdr["Prefer"] = fmt.Sprintf("odata.maxpagesize=%d", maxPage)
		}
		r := do(t, srv, graphCall{url: next, token: tok, headers: hdr})
		wantStatus(t, r, http.StatusOK)
		pages++
		for _, v := range r.values(t) {
			if _, ok := v["@removed"]; ok {
				removed = append(removed, v["id"].(string))
				continue
			}
			items = append(items, v)
		}
		m := r.json(t)
		next, _ = m["@odata.nextLink"].(string)
		deltaLink, _ = m["@odata.deltaLink"].(string)
		if pages > 50 {
			t.Fatal("no deltaLink after 50 pages")
		}
	}
	return items, removed, pages, deltaLink
}

func subjects(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		out = append(out, fmt.Sprint(it["subject"]))
	}
	slices.Sort(out)
	return out
}

func TestCalendarDeltaRounds(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.srv.IssueToken(f.adele, "app", "Calendars.Read")
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 12 {
		ev := f.adele.AddEvent(Event{Subject: fmt.Sprintf("m%02d", i), Start: day.Add(time.Duration(i) * time.Hour), End: day.Add(time.Duration(i)*time.Hour + 30*time.Minute)})
		ids = append(ids, ev.ID)
	}
	f.adele.AddEvent(Event{Subject: "outside", Start: day.AddDate(0, 1, 0), End: day.AddDate(0, 1, 0).Add(time.Hour)})

	items, removed, pages, deltaLink := syncRound(t, f.srv, tok, "me/calendarView/delta?"+calendarWindow, 5)
	if len(items) != 12 || len(removed) != 0 || pages != 3 {
		t.Fatalf("first round: %d items, %d removed, %d pages; want 12, 0, 3", len(items), len(removed), pages)
	}
	if !strings.Contains(deltaLink, "$deltatoken=") || !strings.HasPrefix(deltaLink, "https://graph.microsoft.com/v1.0/me/calendarView/delta?") {
		t.Fatalf("deltaLink = %q", deltaLink)
	}

	// Nothing changed: an empty round.
	items, removed, _, deltaLink = syncRound(t, f.srv, tok, deltaLink, 0)
	if len(items)+len(removed) != 0 {
		t.Fatalf("unchanged round returned %d items, %d removed", len(items), len(removed))
	}

	if err := f.adele.UpdateEvent(ids[0], func(e *Event) { e.Subject = "m00 renamed" }); err != nil {
		t.Fatal(err)
	}
	if err := f.adele.DeleteEvent(ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := f.adele.UpdateEvent(ids[2], func(e *Event) { e.Start, e.End = e.Start.AddDate(0, 0, 30), e.End.AddDate(0, 0, 30) }); err != nil {
		t.Fatal(err)
	}
	f.adele.AddEvent(Event{Subject: "new", Start: day.Add(20 * time.Hour), End: day.Add(21 * time.Hour)})

	items, removed, _, deltaLink = syncRound(t, f.srv, tok, deltaLink, 0)
	if diff := cmp.Diff([]string{"m00 renamed", "new"}, subjects(items)); diff != "" {
		t.Errorf("changed items (-want +got):\n%s", diff)
	}
	slices.Sort(removed)
	want := []string{ids[1], ids[2]}
	slices.Sort(want)
	if diff := cmp.Diff(want, removed); diff != "" {
		t.Errorf("removed (deleted and moved out; -want +got):\n%s", diff)
	}

	f.adele.ExpireDeltaTokens()
	r := do(t, f.srv, graphCall{url: deltaLink, token: tok})
	wantStatus(t, r, http.StatusGone)
	if code := r.errorCode(t); code != "SyncStateNotFound" {
		t.Errorf("code = %q, want SyncStateNotFound", code)
	}
	if !strings.Contains(string(r.body), "The sync state generation is not found; generation=") {
		t.Errorf("body = %s", r.body)
	}
}

func TestCalendarDeltaRemovedShape(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.srv.IssueToken(f.adele, "app", "Calendars.Read")
	ev := f.adele.AddEvent(Event{Subject: "x", Start: testNow, End: testNow.Add(time.Hour)})
	_, _, _, link := syncRound(t, f.srv, tok, "me/calendarView/delta?"+calendarWindow, 0)
	if err := f.adele.DeleteEvent(ev.ID); err != nil {
		t.Fatal(err)
	}
	r := do(t, f.srv, graphCall{url: link, token: tok})
	wantStatus(t, r, http.StatusOK)
	want := map[string]any{"@odata.type": "#microsoft.graph.event", "id": ev.ID, "@removed": map[string]any{"reason": "deleted"}}
	if diff := cmp.Diff([]map[string]any{want}, r.values(t)); diff != "" {
		t.Errorf("removed entry (-want +got):\n%s", diff)
	}
}

func TestCalendarDeltaBadRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.srv.IssueToken(f.adele, "app", "Calendars.Read")
	tests := []struct {
		name, url string
		status    int
		code      string
	}{
		{"no window", "me/calendarView/delta", 400, "BadRequest"},
		{"select", "me/calendarView/delta?" + calendarWindow + "&$select=subject", 400, "BadRequest"},
		{"filter", "me/calendarView/delta?" + calendarWindow + "&$filter=isCancelled eq false", 400, "BadRequest"},
		{"unknown deltatoken", "me/calendarView/delta?$deltatoken=bm9wZQ", 410, "SyncStateNotFound"},
		{"unknown skiptoken", "me/calendarView/delta?$skiptoken=bm9wZQ", 410, "SyncStateNotFound"},
		{"calendarView without window", "me/calendarView", 400, "ErrorInvalidParameter"},
		{"calendarView unknown select", "me/calendarView?" + calendarWindow + "&$select=nope", 400, "BadRequest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := do(t, f.srv, graphCall{url: tt.url, token: tok})
			wantStatus(t, r, tt.status)
			if got := r.errorCode(t); got != tt.code {
				t.Errorf("code = %q, want %q", got, tt.code)
			}
		})
	}
}

func TestCalendarViewExpandsSeries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.srv.IssueToken(f.adele, "app", "Calendars.Read")
	first := time.Date(2026, 11, 2, 15, 0, 0, 0, time.UTC) // a Monday
	m := f.adele.AddEvent(Event{
		Subject: "Weekly sync", Start: first, End: first.Add(30 * time.Minute),
		Recurrence: &Recurrence{Pattern: "weekly", Count: 6},
	})
	occ := f.adele.Occurrences(m.ID)
	if len(occ) != 6 {
		t.Fatalf("%d occurrences, want 6", len(occ))
	}
	if err := f.adele.UpdateEvent(occ[1].ID, func(e *Event) { e.Start, e.End = e.Start.Add(time.Hour), e.End.Add(time.Hour) }); err != nil {
		t.Fatal(err)
	}
	if err := f.adele.DeleteEvent(occ[2].ID); err != nil {
		t.Fatal(err)
	}
	r := do(t, f.srv, graphCall{url: "me/calendarView?startDateTime=2026-11-01T00:00:00Z&endDateTime=2026-11-30T00:00:00Z", token: tok})
	wantStatus(t, r, http.StatusOK)
	type inst struct{ Start, Type, Master string }
	var got []inst
	for _, v := range r.values(t) {
		got = append(got, inst{v["start"].(map[string]any)["dateTime"].(string), v["type"].(string), fmt.Sprint(v["seriesMasterId"])})
	}
	wantInst := []inst{
		{"2026-11-02T15:00:00.0000000", "occurrence", m.ID},
		{"2026-11-09T16:00:00.0000000", "exception", m.ID},
		{"2026-11-23T15:00:00.0000000", "occurrence", m.ID},
	}
	if diff := cmp.Diff(wantInst, got); diff != "" {
		t.Errorf("calendarView (-want +got):\n%s", diff)
	}
}

func TestPatchEventKeepsAbsentFields(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.srv.IssueToken(f.adele, "app", "Calendars.ReadWrite")
	ev := f.adele.AddEvent(Event{Subject: "Design review", Start: testNow, End: testNow.Add(time.Hour), OnlineMeetingProvider: "teamsForBusiness",
		Attendees: []Attendee{{Address: Of(f.alex)}}})
	r := do(t, f.srv, graphCall{method: http.MethodPatch, url: "me/events/" + url.PathEscape(ev.ID), token: tok,
		body: `{"subject":"Design review (moved)","start":{"dateTime":"2026-11-25T08:00:00","timeZone":"Pacific Standard Time"}}`})
	wantStatus(t, r, http.StatusOK)
	got := r.json(t)
	if got["subject"] != "Design review (moved)" {
		t.Errorf("subject = %v", got["subject"])
	}
	if om, _ := got["onlineMeeting"].(map[string]any); om["joinUrl"] != ev.JoinURL || ev.JoinURL == "" {
		t.Errorf("onlineMeeting = %v, want joinUrl %q kept", got["onlineMeeting"], ev.JoinURL)
	}
	if got["originalStartTimeZone"] != "Pacific Standard Time" {
		t.Errorf("originalStartTimeZone = %v", got["originalStartTimeZone"])
	}
	stored := f.adele.Events()[0]
	if want := time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC); !stored.Start.Equal(want) || len(stored.Attendees) != 1 {
		t.Errorf("stored start %v attendees %d, want %v and 1", stored.Start, len(stored.Attendees), want)
	}
	if stored.ChangeKey == ev.ChangeKey {
		t.Error("changeKey did not change")
	}

	bad := do(t, f.srv, graphCall{method: http.MethodPatch, url: "me/events/" + url.PathEscape(ev.ID), token: tok, body: `{"subjekt":"x"}`})
	wantStatus(t, bad, http.StatusBadRequest)
	missing := do(t, f.srv, graphCall{method: http.MethodPatch, url: "me/events/nope", token: tok, body: `{}`})
	wantStatus(t, missing, http.StatusNotFound)
}

func TestEventShapeMatchesDocs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.srv.IssueToken(f.adele, "app", "Calendars.Read")
	single := f.adele.AddEvent(Event{Subject: "Lunch", BodyHTML: "Does late morning work for you?", Start: testNow, End: testNow.Add(time.Hour),
		Location: Location{DisplayName: "Harry's Bar"}, Attendees: []Attendee{{Address: Address{"Samantha Booth", "samanthab@contoso.com"}}}})
	series := f.adele.AddEvent(Event{Subject: "Weekly", Start: testNow, End: testNow.Add(time.Hour), Recurrence: &Recurrence{Pattern: "weekly", Until: testNow.AddDate(0, 1, 0)}})
	for file, id := range map[string]string{"event-create.json": single.ID, "event-recurring.json": series.ID} {
		r := do(t, f.srv, graphCall{url: "me/events/" + url.PathEscape(id), token: tok})
		wantStatus(t, r, http.StatusOK)
		if m := missingKeys(t, file, r.json(t)); len(m) > 0 {
			t.Errorf("%s: fake's event lacks %v", file, m)
		}
	}
	r := do(t, f.srv, graphCall{url: "me/events/" + url.PathEscape(single.ID), token: tok, headers: map[string]string{"Prefer": `outlook.timezone="Pacific Standard Time"`}})
	got := r.json(t)["start"].(map[string]any)
	if diff := cmp.Diff(map[string]any{"dateTime": "2026-11-25T01:00:00.0000000", "timeZone": "Pacific Standard Time"}, got); diff != "" {
		t.Errorf("start with Prefer outlook.timezone (-want +got):\n%s", diff)
	}
	if pa := r.header.Get("Preference-Applied"); pa != `outlook.timezone="Pacific Standard Time"` {
		t.Errorf("Preference-Applied = %q", pa)
	}
	sel := do(t, f.srv, graphCall{url: "me/events/" + url.PathEscape(single.ID) + "?$select=subject,start", token: tok}).json(t)
	if _, ok := sel["body"]; ok || sel["subject"] != "Lunch" || sel["id"] != single.ID {
		t.Errorf("$select=subject,start gave %v", sel)
	}
}

func TestCalendarScopesAndMailbox(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	nobox := f.tenant.AddUser("svc@contoso.com", "Service", NoMailbox())
	tests := []struct {
		name   string
		user   *User
		scopes []string
		call   graphCall
		status int
		code   string
	}{
		{"read without scope", f.adele, []string{"User.Read"}, graphCall{url: "me/calendarView?" + calendarWindow}, 403, "ErrorAccessDenied"},
		{"patch with read scope", f.adele, []string{"Calendars.Read"}, graphCall{method: "PATCH", url: "me/events/x", body: "{}"}, 403, "ErrorAccessDenied"},
		{"no mailbox", nobox, []string{"Calendars.Read"}, graphCall{url: "me/calendarView?" + calendarWindow}, 404, "MailboxNotEnabledForRESTAPI"},
		{"meetings without scope", f.adele, []string{"Calendars.Read"}, graphCall{url: "me/onlineMeetings?$filter=JoinWebUrl eq 'x'"}, 403, "Forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.call.token = f.srv.IssueToken(tt.user, "app", tt.scopes...)
			r := do(t, f.srv, tt.call)
			wantStatus(t, r, tt.status)
			if got := r.errorCode(t); got != tt.code {
				t.Errorf("code = %q, want %q", got, tt.code)
			}
		})
	}
}

func TestSharedCalendar(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.adele.AddEvent(Event{Subject: "Adele's 1:1", Start: testNow, End: testNow.Add(time.Hour)})
	id := f.adele.ShareCalendarWith(f.alex, false)

	tok := f.srv.IssueToken(f.alex, "app", "Calendars.Read", "Calendars.Read.Shared")
	cals := do(t, f.srv, graphCall{url: "me/calendars", token: tok}).values(t)
	if len(cals) != 2 || cals[1]["id"] != id || cals[1]["canEdit"] != false || cals[0]["isDefaultCalendar"] != true {
		t.Fatalf("calendars = %v", cals)
	}
	if owner := cals[1]["owner"].(map[string]any); owner["address"] != "adele@contoso.com" {
		t.Errorf("shared owner = %v", owner)
	}
	r := do(t, f.srv, graphCall{url: "me/calendars/" + url.PathEscape(id) + "/calendarView?" + calendarWindow, token: tok})
	wantStatus(t, r, http.StatusOK)
	if diff := cmp.Diff([]string{"Adele's 1:1"}, subjects(r.values(t))); diff != "" {
		t.Errorf("shared calendarView (-want +got):\n%s", diff)
	}
	noShared := f.srv.IssueToken(f.alex, "app", "Calendars.Read")
	wantStatus(t, do(t, f.srv, graphCall{url: "me/calendars/" + url.PathEscape(id) + "/calendarView?" + calendarWindow, token: noShared}), http.StatusForbidden)
	wantStatus(t, do(t, f.srv, graphCall{url: "me/calendars/unknown/calendarView?" + calendarWindow, token: tok}), http.StatusNotFound)
}

func TestOnlineMeetingByJoinURL(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	outsider := f.tenant.AddUser("megan@contoso.com", "Megan Bowen")
	ev := f.adele.AddEvent(Event{Subject: "Roadmap", Start: testNow, End: testNow.Add(time.Hour), OnlineMeetingProvider: "teamsForBusiness",
		Attendees: []Attendee{{Address: Of(f.alex)}}})
	filter := "me/onlineMeetings?$filter=" + url.QueryEscape("JoinWebUrl eq '"+ev.JoinURL+"'")
	for _, u := range []*User{f.adele, f.alex} {
		r := do(t, f.srv, graphCall{url: filter, token: f.srv.IssueToken(u, "app", "OnlineMeetings.Read")})
		wantStatus(t, r, http.StatusOK)
		vs := r.values(t)
		if len(vs) != 1 || vs[0]["joinWebUrl"] != ev.JoinURL || vs[0]["subject"] != "Roadmap" {
			t.Fatalf("%s: meetings = %v", u.DisplayName, vs)
		}
		if m := missingKeys(t, "onlinemeeting-joinurl.json", vs[0]); len(m) > 0 {
			t.Errorf("onlineMeeting lacks %v", m)
		}
		if th := vs[0]["chatInfo"].(map[string]any)["threadId"].(string); !strings.HasPrefix(th, "19:meeting_") {
			t.Errorf("threadId = %q", th)
		}
	}
	r := do(t, f.srv, graphCall{url: filter, token: f.srv.IssueToken(outsider, "app", "OnlineMeetings.Read")})
	wantStatus(t, r, http.StatusOK)
	if vs := r.values(t); len(vs) != 0 {
		t.Errorf("non-participant got %v", vs)
	}
	wantStatus(t, do(t, f.srv, graphCall{url: "me/onlineMeetings", token: f.srv.IssueToken(f.adele, "app", "OnlineMeetings.Read")}), http.StatusBadRequest)
}

func TestEventGoAPIErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if err := f.adele.UpdateEvent("nope", func(*Event) {}); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateEvent unknown = %v, want ErrNotFound", err)
	}
	if err := f.adele.DeleteEvent("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteEvent unknown = %v, want ErrNotFound", err)
	}
	m := f.adele.AddEvent(Event{Subject: "Daily", Start: testNow, End: testNow.Add(15 * time.Minute), Recurrence: &Recurrence{Pattern: "daily", Count: 3}})
	if err := f.adele.DeleteEvent(m.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(f.adele.Events()); n != 0 {
		t.Errorf("%d events left after deleting the series master", n)
	}
}

func TestCalendarViewPagingAndDocShapes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.srv.IssueToken(f.adele, "app", "Calendars.Read")
	for i := range 5 {
		start := testNow.Add(time.Duration(i) * time.Hour)
		f.adele.AddEvent(Event{Subject: fmt.Sprintf("e%d", i), Start: start, End: start.Add(time.Hour), TimeZone: "Pacific Standard Time"})
	}
	var got []string
	next := "me/calendarView?" + calendarWindow + "&$top=2&$select=subject,originalStartTimeZone,responseStatus,iCalUId,reminderMinutesBeforeStart,isReminderOn"
	pages := 0
	for next != "" {
		r := do(t, f.srv, graphCall{url: next, token: tok})
		wantStatus(t, r, http.StatusOK)
		pages++
		for _, v := range r.values(t) {
			got = append(got, v["subject"].(string))
			if v["originalStartTimeZone"] != "Pacific Standard Time" {
				t.Errorf("originalStartTimeZone = %v", v["originalStartTimeZone"])
			}
		}
		next, _ = r.json(t)["@odata.nextLink"].(string)
	}
	if diff := cmp.Diff([]string{"e0", "e1", "e2", "e3", "e4"}, got); diff != "" || pages != 3 {
		t.Errorf("paged calendarView over %d pages (-want +got):\n%s", pages, diff)
	}

	full := do(t, f.srv, graphCall{url: "me/calendarView?" + calendarWindow, token: tok}).values(t)[0]
	if m := missingKeys(t, "user-list-calendarview.json", full); len(m) > 0 {
		t.Errorf("calendarView item lacks %v", m)
	}
	delta := do(t, f.srv, graphCall{url: "me/calendarView/delta?" + calendarWindow, token: tok}).values(t)[0]
	if m := missingKeys(t, "event-delta.json", delta); len(m) > 0 {
		t.Errorf("delta item lacks %v", m)
	}
}

func TestOnlineMeetingJoinURLEncodings(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ev := f.adele.AddEvent(Event{Subject: "Sync", Start: testNow, End: testNow.Add(time.Hour), OnlineMeetingProvider: "teamsForBusiness"})
	tok := f.srv.IssueToken(f.adele, "app", "OnlineMeetings.Read")
	for name, value := range map[string]string{
		"as stored":     ev.JoinURL,
		"encoded once":  url.QueryEscape(ev.JoinURL),
		"fully decoded": unescapeAll(ev.JoinURL),
		"encoded twice": url.QueryEscape(url.QueryEscape(ev.JoinURL)),
	} {
		r := do(t, f.srv, graphCall{url: "me/onlineMeetings?$filter=" + url.QueryEscape("JoinWebUrl eq '"+value+"'"), token: tok})
		if n := len(r.values(t)); n != 1 {
			t.Errorf("%s: %d meetings, want 1", name, n)
		}
	}
}

func TestEventsListAndDelete(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.srv.IssueToken(f.adele, "app", "Calendars.ReadWrite")
	single := f.adele.AddEvent(Event{Subject: "one", Start: testNow, End: testNow.Add(time.Hour)})
	f.adele.AddEvent(Event{Subject: "series", Start: testNow, End: testNow.Add(time.Hour), Recurrence: &Recurrence{Pattern: "daily", Count: 3}})
	r := do(t, f.srv, graphCall{url: "me/events", token: tok})
	wantStatus(t, r, http.StatusOK)
	if diff := cmp.Diff([]string{"one", "series"}, subjects(r.values(t))); diff != "" {
		t.Errorf("/me/events lists single instances and masters only (-want +got):\n%s", diff)
	}
	wantStatus(t, do(t, f.srv, graphCall{method: http.MethodDelete, url: "me/events/" + url.PathEscape(single.ID), token: tok}), http.StatusNoContent)
	wantStatus(t, do(t, f.srv, graphCall{url: "me/events/" + url.PathEscape(single.ID), token: tok}), http.StatusNotFound)
	if n := len(f.adele.Events()); n != 4 {
		t.Errorf("%d events left, want the series' 4", n)
	}
}

// TestConcurrentUse changes data through the Go API while clients sync,
// for the race detector.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.srv.IssueToken(f.adele, "app", "Calendars.Read", "Mail.Read")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 30 {
			ev := f.adele.AddEvent(Event{Subject: fmt.Sprint(i), Start: testNow, End: testNow.Add(time.Hour)})
			_ = f.adele.UpdateEvent(ev.ID, func(e *Event) { e.Subject += "!" })
			m := f.adele.AddMessage(Message{Subject: fmt.Sprint(i)})
			_ = f.adele.MoveMessage(m.ID, "archive")
		}
	}()
	for range 5 {
		syncRound(t, f.srv, tok, "me/calendarView/delta?"+calendarWindow, 4)
		syncRound(t, f.srv, tok, "me/mailFolders/archive/messages/delta", 4)
	}
	<-done
}

func TestUpdateLocationFollowsLocations(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ev := f.adele.AddEvent(Event{Subject: "x", Start: testNow, End: testNow.Add(time.Hour), Location: Location{DisplayName: "Room 1"}})
	if err := f.adele.UpdateEvent(ev.ID, func(e *Event) { e.Location = Location{DisplayName: "Zoom Meeting", LocationURI: "https://zoom.us/j/1"} }); err != nil {
		t.Fatal(err)
	}
	got := f.adele.Events()[0].Locations
	if diff := cmp.Diff([]Location{{DisplayName: "Zoom Meeting", LocationURI: "https://zoom.us/j/1", LocationType: "default"}}, got); diff != "" {
		t.Errorf("locations (-want +got):\n%s", diff)
	}
}

func TestOnlineMeetingByJoinMeetingID(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ev := f.adele.AddEvent(Event{Subject: "Sync", Start: testNow, End: testNow.Add(time.Hour), OnlineMeetingProvider: "teamsForBusiness"})
	tok := f.srv.IssueToken(f.adele, "app", "OnlineMeetings.Read")
	byURL := do(t, f.srv, graphCall{url: "me/onlineMeetings?$filter=" + url.QueryEscape("JoinWebUrl eq '"+ev.JoinURL+"'"), token: tok}).values(t)
	id := byURL[0]["joinMeetingIdSettings"].(map[string]any)["joinMeetingId"].(string)
	byID := do(t, f.srv, graphCall{url: "me/onlineMeetings?$filter=" + url.QueryEscape("joinMeetingIdSettings/joinMeetingId eq '"+id+"'"), token: tok}).values(t)
	if len(byID) != 1 || byID[0]["id"] != byURL[0]["id"] {
		t.Errorf("by joinMeetingId %s: %v", id, byID)
	}
	none := do(t, f.srv, graphCall{url: "me/onlineMeetings?$filter=" + url.QueryEscape("joinMeetingIdSettings/joinMeetingId eq '1'"), token: tok}).values(t)
	if len(none) != 0 {
		t.Errorf("unknown joinMeetingId matched %v", none)
	}
}

func TestRecurrenceEdgeCases(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name string
		rec  Recurrence
		want int
	}{
		{"invalid weekdays fall back to the start's", Recurrence{Pattern: "weekly", DaysOfWeek: []time.Weekday{9, -1}, Count: 3}, 3},
		{"until before start", Recurrence{Pattern: "daily", Until: testNow.AddDate(0, 0, -3)}, 0},
		{"no end is bounded", Recurrence{Pattern: "daily"}, 366},
		{"every other week until", Recurrence{Pattern: "weekly", Interval: 2, Until: testNow.AddDate(0, 0, 29)}, 3},
		{"huge count is capped", Recurrence{Pattern: "daily", Count: 100000, Until: testNow.AddDate(5, 0, 0)}, maxOccurrences},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := tt.rec
			m := f.adele.AddEvent(Event{Subject: tt.name, Start: testNow, End: testNow.Add(time.Hour), Recurrence: &rec})
			if got := len(f.adele.Occurrences(m.ID)); got != tt.want {
				t.Errorf("%d occurrences, want %d", got, tt.want)
			}
		})
	}
}

// FuzzPatchEvent applies arbitrary PATCH bodies: nothing may panic, and an
// accepted body leaves the event's identity alone.
func FuzzPatchEvent(f *testing.F) {
	for _, s := range []string{
		`{"subject":"x"}`,
		`{"start":{"dateTime":"2026-11-25T08:00:00","timeZone":"Pacific Standard Time"},"end":{"dateTime":"bad","timeZone":"UTC"}}`,
		`{"attendees":[{"type":"Required","emailAddress":{"address":"a@b.c"}}],"isOnlineMeeting":true}`,
		`{"body":{"contentType":"text","content":"<b>"}}`, `{"locations":null}`, `{"id":"other"}`, `{"nope":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var body map[string]json.RawMessage
		if json.Unmarshal(raw, &body) != nil {
			return
		}
		e := Event{ID: "id-1", Subject: "s", Start: testNow, End: testNow.Add(time.Hour)}
		if msg := patchEvent(&e, body); msg == "" && e.ID != "id-1" {
			t.Errorf("PATCH %s changed the ID to %q", raw, e.ID)
		}
	})
}

// TestRecurrencePatterns expands each of Graph's pattern types from a
// Wednesday, 2026-11-25 09:00 UTC, and checks the dates and the pattern
// Graph's JSON shows for the series master.
func TestRecurrencePatterns(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.srv.IssueToken(f.adele, "app", "Calendars.Read")
	day := func(y int, m time.Month, d int) string {
		return time.Date(y, m, d, 9, 0, 0, 0, time.UTC).Format(time.RFC3339)
	}
	tests := []struct {
		name    string
		rec     Recurrence
		want    []string
		pattern string // the master's recurrence.pattern as JSON
	}{
		{"the 31st falls on the last day of shorter months", Recurrence{Pattern: "absoluteMonthly", DayOfMonth: 31, Count: 4},
			[]string{day(2026, 11, 30), day(2026, 12, 31), day(2027, 1, 31), day(2027, 2, 28)},
			`{"type":"absoluteMonthly","interval":1,"month":0,"dayOfMonth":31,"daysOfWeek":[],"firstDayOfWeek":"sunday","index":"first"}`},
		{"quarterly on the start's day", Recurrence{Pattern: "ABSOLUTEMONTHLY", Interval: 3, Count: 3},
			[]string{day(2026, 11, 25), day(2027, 2, 25), day(2027, 5, 25)},
			`{"type":"absoluteMonthly","interval":3,"month":0,"dayOfMonth":25,"daysOfWeek":[],"firstDayOfWeek":"sunday","index":"first"}`},
		{"second Tuesday, this month's already past", Recurrence{Pattern: "relativeMonthly", DaysOfWeek: []time.Weekday{time.Tuesday}, Index: "second", Count: 3},
			[]string{day(2026, 12, 8), day(2027, 1, 12), day(2027, 2, 9)},
			`{"type":"relativeMonthly","interval":1,"month":0,"dayOfMonth":0,"daysOfWeek":["tuesday"],"firstDayOfWeek":"sunday","index":"second"}`},
		{"last weekday of the month", Recurrence{Pattern: "relativeMonthly", DaysOfWeek: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, Index: "last", Until: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)},
			[]string{day(2026, 11, 30), day(2026, 12, 31), day(2027, 1, 29)},
			`{"type":"relativeMonthly","interval":1,"month":0,"dayOfMonth":0,"daysOfWeek":["monday","tuesday","wednesday","thursday","friday"],"firstDayOfWeek":"sunday","index":"last"}`},
		{"29 February in common years", Recurrence{Pattern: "absoluteYearly", Month: time.February, DayOfMonth: 29, Count: 3},
			[]string{day(2027, 2, 28), day(2028, 2, 29), day(2029, 2, 28)},
			`{"type":"absoluteYearly","interval":1,"month":2,"dayOfMonth":29,"daysOfWeek":[],"firstDayOfWeek":"sunday","index":"first"}`},
		{"fourth Thursday of November", Recurrence{Pattern: "relativeYearly", Month: time.November, DaysOfWeek: []time.Weekday{time.Thursday}, Index: "fourth", Count: 3},
			[]string{day(2026, 11, 26), day(2027, 11, 25), day(2028, 11, 23)},
			`{"type":"relativeYearly","interval":1,"month":11,"dayOfMonth":0,"daysOfWeek":["thursday"],"firstDayOfWeek":"sunday","index":"fourth"}`},
		{"yearly with no end: one year", Recurrence{Pattern: "absoluteYearly"},
			[]string{day(2026, 11, 25), day(2027, 11, 25)},
			`{"type":"absoluteYearly","interval":1,"month":11,"dayOfMonth":25,"daysOfWeek":[],"firstDayOfWeek":"sunday","index":"first"}`},
		{"a count is not cut at one year", Recurrence{Pattern: "absoluteMonthly", Interval: 6, Count: 4},
			[]string{day(2026, 11, 25), day(2027, 5, 25), day(2027, 11, 25), day(2028, 5, 25)},
			`{"type":"absoluteMonthly","interval":6,"month":0,"dayOfMonth":25,"daysOfWeek":[],"firstDayOfWeek":"sunday","index":"first"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := tt.rec
			m := f.adele.AddEvent(Event{Subject: tt.name, Start: testNow, End: testNow.Add(time.Hour), Recurrence: &rec})
			var got []string
			for _, o := range f.adele.Occurrences(m.ID) {
				got = append(got, o.Start.Format(time.RFC3339))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("occurrences (-want +got):\n%s", diff)
			}
			var ev struct {
				Recurrence struct {
					Pattern json.RawMessage `json:"pattern"`
				} `json:"recurrence"`
			}
			r := do(t, f.srv, graphCall{url: "me/events/" + url.PathEscape(m.ID), token: tok})
			wantStatus(t, r, http.StatusOK)
			if err := json.Unmarshal(r.body, &ev); err != nil {
				t.Fatal(err)
			}
			if string(ev.Recurrence.Pattern) != tt.pattern {
				t.Errorf("recurrence.pattern = %s\nwant %s", ev.Recurrence.Pattern, tt.pattern)
			}
		})
	}

	t.Run("time of day in the event's zone across DST", func(t *testing.T) {
		t.Parallel()
		if _, err := time.LoadLocation("Europe/Berlin"); err != nil {
			t.Skip("no time zone database on this machine:", err)
		}
		start := time.Date(2026, 3, 15, 8, 0, 0, 0, time.UTC) // 09:00 in Berlin (CET)
		m := f.adele.AddEvent(Event{Subject: "dst", Start: start, End: start.Add(time.Hour), TimeZone: "W. Europe Standard Time",
			Recurrence: &Recurrence{Pattern: "absoluteMonthly", Count: 2}})
		var got []string
		for _, o := range f.adele.Occurrences(m.ID) {
			got = append(got, o.Start.Format(time.RFC3339))
		}
		want := []string{"2026-03-15T08:00:00Z", "2026-04-15T07:00:00Z"} // 09:00 CEST
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("occurrences (-want +got):\n%s", diff)
		}
	})

	t.Run("an unknown pattern or index panics", func(t *testing.T) {
		t.Parallel()
		for _, rec := range []Recurrence{{Pattern: "monthly"}, {Pattern: "relativeMonthly", Index: "fifth"}} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("AddEvent with %+v did not panic", rec)
					}
				}()
				f.adele.AddEvent(Event{Subject: "bad", Start: testNow, End: testNow.Add(time.Hour), Recurrence: &rec})
			}()
		}
	})

	t.Run("an update to an unknown pattern is refused and stores nothing", func(t *testing.T) {
		t.Parallel()
		ev := f.adele.AddEvent(Event{Subject: "one-off", Start: testNow, End: testNow.Add(time.Hour)})
		err := f.adele.UpdateEvent(ev.ID, func(e *Event) { e.Recurrence = &Recurrence{Pattern: "fortnightly"} })
		if err == nil || !strings.Contains(err.Error(), "fortnightly") {
			t.Errorf("UpdateEvent to a bad pattern: %v", err)
		}
		if err := f.adele.UpdateEvent(ev.ID, func(e *Event) { e.Recurrence = &Recurrence{Pattern: "WEEKLY", Count: 2} }); err != nil {
			t.Fatal(err)
		}
		if n := len(f.adele.Occurrences(ev.ID)); n != 2 {
			t.Errorf("%d occurrences after becoming a weekly series, want 2", n)
		}
	})
}
