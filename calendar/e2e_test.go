package calendar_test

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/m365kit/m365kit/calendar"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
)

// world is a graphtest tenant with one user and a calendar Service for them.
type world struct {
	srv  *graphtest.Server
	user *graphtest.User
	svc  *calendar.Service
	day  time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	srv := graphtest.New(t)
	tenant := srv.AddTenant("contoso.com")
	u := tenant.AddUser("ana@contoso.com", "Ana")
	tok := srv.IssueToken(u, "11111111-2222-3333-4444-555555555555", "Calendars.ReadWrite", "OnlineMeetings.Read")
	gc, err := graphclient.New(graphclient.StaticToken(tok), graphclient.WithHTTPClient(srv.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	return &world{srv: srv, user: u, svc: calendar.New(gc), day: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}
}

// add puts a one-hour meeting on day d at hour h.
func (w *world) add(subject string, d, h int, mods ...func(*graphtest.Event)) graphtest.Event {
	start := w.day.AddDate(0, 0, d).Add(time.Duration(h) * time.Hour)
	ev := graphtest.Event{Subject: subject, Start: start, End: start.Add(time.Hour)}
	for _, m := range mods {
		m(&ev)
	}
	return w.user.AddEvent(ev)
}

// store is what a caller keeps: events by ID, and the cursor.
type store struct {
	events map[string]calendar.Event
	cursor string
	resets int
}

func newStore() *store { return &store{events: map[string]calendar.Event{}} }

// apply applies one page the way the package documentation says.
func (s *store) apply(p *calendar.Page) {
	if p.Reset {
		clear(s.events)
		s.resets++
	}
	for _, id := range p.Removed {
		delete(s.events, id)
	}
	for _, e := range p.Events {
		s.events[e.ID] = e
	}
	s.cursor = p.Cursor
}

// sync runs one round into s, resuming from s.cursor when set.
func (s *store) sync(t *testing.T, svc *calendar.Service, req calendar.SyncRequest) int {
	t.Helper()
	if s.cursor != "" {
		req = calendar.SyncRequest{Cursor: s.cursor, PageSize: req.PageSize}
	}
	pages := 0
	for p, err := range svc.Sync(t.Context(), req) {
		if err != nil {
			t.Fatalf("sync: %v", err)
		}
		s.apply(p)
		pages++
	}
	return pages
}

func (s *store) subjects() []string {
	var out []string
	for _, e := range s.events {
		out = append(out, e.Subject)
	}
	slices.Sort(out)
	return out
}

// truth lists the window's events straight from calendarView.
func (w *world) truth(t *testing.T, win calendar.Window) []string {
	t.Helper()
	var out []string
	for e, err := range w.svc.Events(t.Context(), win, nil) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e.Subject)
	}
	slices.Sort(out)
	return out
}

func TestEndToEndSync(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	win := calendar.Window{Start: w.day, End: w.day.AddDate(0, 0, 7)}
	req := calendar.SyncRequest{Start: win.Start, End: win.End, PageSize: 2}

	w.add("Kickoff", 0, 9, func(e *graphtest.Event) { e.OnlineMeetingProvider = "teamsForBusiness" })
	standup := w.add("Standup", 1, 9, func(e *graphtest.Event) {
		e.Recurrence = &graphtest.Recurrence{Pattern: "daily", Count: 3}
	})
	moving := w.add("Moving", 2, 14)
	doomed := w.add("Doomed", 3, 10)
	w.add("Zoom call", 4, 16, func(e *graphtest.Event) {
		e.Location = graphtest.Location{DisplayName: "Zoom", LocationURI: "https://us02web.zoom.us/j/85212345678?pwd=abc"}
	})
	w.add("Next month", 40, 9)

	// A first sync lists the window with recurrences expanded.
	s := newStore()
	if pages := s.sync(t, w.svc, req); pages < 4 {
		t.Errorf("first sync took %d pages of 2, want several", pages)
	}
	want := []string{"Doomed", "Kickoff", "Moving", "Standup", "Standup", "Standup", "Zoom call"}
	if diff := cmp.Diff(want, s.subjects()); diff != "" {
		t.Fatalf("after the first sync (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(w.truth(t, win), s.subjects()); diff != "" {
		t.Fatalf("store differs from calendarView (-view +store):\n%s", diff)
	}
	var kickoff calendar.Event
	for _, e := range s.events {
		if e.Subject == "Kickoff" {
			kickoff = e
		}
	}
	if l, ok := calendar.FindMeetingLink(&kickoff); !ok || l.Provider != calendar.Teams || l.TenantID != w.user.TenantID {
		t.Errorf("Kickoff link = %v %+v", ok, l)
	}
	if got := kickoff.Start.Time; !got.Equal(w.day.Add(9*time.Hour)) || got.Location() != time.UTC {
		t.Errorf("Kickoff starts %v, want %v UTC", got, w.day.Add(9*time.Hour))
	}
	if _, err := w.svc.OnlineMeeting(t.Context(), kickoff.OnlineMeeting.JoinURL); err != nil {
		t.Errorf("OnlineMeeting(Kickoff's join URL): %v", err)
	}

	// Changes after the deltaLink: an update, a deletion, a move out of
	// the window, a new event, an exception to the series.
	if err := w.user.UpdateEvent(moving.ID, func(e *graphtest.Event) { e.Start, e.End = e.Start.AddDate(0, 1, 0), e.End.AddDate(0, 1, 0) }); err != nil {
		t.Fatal(err)
	}
	if err := w.user.DeleteEvent(doomed.ID); err != nil {
		t.Fatal(err)
	}
	w.add("Added later", 5, 11)
	occ := w.user.Occurrences(standup.ID)
	if len(occ) != 3 {
		t.Fatalf("series has %d occurrences", len(occ))
	}
	if err := w.user.UpdateEvent(occ[1].ID, func(e *graphtest.Event) { e.Subject = "Standup (moved)" }); err != nil {
		t.Fatal(err)
	}
	for _, e := range s.events {
		if e.Subject == "Standup" && (e.Type != calendar.Occurrence || e.SeriesMasterID != standup.ID || e.OriginalStart.IsZero()) {
			t.Errorf("occurrence %+v lacks its series data", e)
		}
	}
	s.sync(t, w.svc, req)
	want = []string{"Added later", "Kickoff", "Standup", "Standup", "Standup (moved)", "Zoom call"}
	if diff := cmp.Diff(want, s.subjects()); diff != "" {
		t.Errorf("after the second round (-want +got):\n%s", diff)
	}
	// A round with no changes changes nothing, and replaying an old page is harmless.
	before := maps.Clone(s.events)
	s.sync(t, w.svc, req)
	if diff := cmp.Diff(before, s.events); diff != "" {
		t.Errorf("an idle round changed the store (-before +after):\n%s", diff)
	}
}

func TestEndToEndResetMidRound(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	win := calendar.Window{Start: w.day, End: w.day.AddDate(0, 0, 7)}
	for i := range 7 {
		w.add("Meeting "+string(rune('A'+i)), i, 10)
	}
	s := newStore()
	// The store holds a stale event from a previous life of the window:
	// the reset must clear it.
	s.events["stale"] = calendar.Event{ID: "stale", Subject: "Stale"}
	n := 0
	for p, err := range w.svc.Sync(t.Context(), calendar.SyncRequest{Start: win.Start, End: win.End, PageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		s.apply(p)
		if n++; n == 2 {
			// Graph drops the sync state in the middle of the round.
			w.user.ExpireDeltaTokens()
		}
	}
	if s.resets != 1 {
		t.Errorf("%d resets, want 1", s.resets)
	}
	if diff := cmp.Diff(w.truth(t, win), s.subjects()); diff != "" {
		t.Errorf("after a reset mid-round (-view +store):\n%s", diff)
	}
	// And the stored deltaLink still works for the next round.
	w.add("After reset", 6, 15)
	s.sync(t, w.svc, calendar.SyncRequest{})
	if diff := cmp.Diff(w.truth(t, win), s.subjects()); diff != "" {
		t.Errorf("round after the reset (-view +store):\n%s", diff)
	}

	// A deltaLink that expired between rounds: the next round resets.
	w.user.ExpireDeltaTokens()
	w.add("After expiry", 2, 8)
	s.sync(t, w.svc, calendar.SyncRequest{})
	if s.resets != 2 {
		t.Errorf("%d resets, want 2", s.resets)
	}
	if diff := cmp.Diff(w.truth(t, win), s.subjects()); diff != "" {
		t.Errorf("after an expired deltaLink (-view +store):\n%s", diff)
	}
}

func TestEndToEndInjectedSyncReset(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	win := calendar.Window{Start: w.day, End: w.day.AddDate(0, 0, 7)}
	for i := range 5 {
		w.add("Meeting "+string(rune('A'+i)), i, 10)
	}
	s := newStore()
	s.sync(t, w.svc, calendar.SyncRequest{Start: win.Start, End: win.End, PageSize: 2})
	w.srv.Inject(graphtest.Fault{Method: "GET", PathPrefix: "/v1.0/me/calendarView/delta", Kind: graphtest.SyncReset, Times: 1})
	w.add("Late", 5, 10)
	s.sync(t, w.svc, calendar.SyncRequest{PageSize: 2})
	if s.resets != 1 {
		t.Errorf("%d resets, want 1", s.resets)
	}
	if diff := cmp.Diff(w.truth(t, win), s.subjects()); diff != "" {
		t.Errorf("after an injected 410 (-view +store):\n%s", diff)
	}
}

func TestEndToEndResumeMidRound(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	win := calendar.Window{Start: w.day, End: w.day.AddDate(0, 0, 7)}
	for i := range 7 {
		w.add("Meeting "+string(rune('A'+i)), i, 10)
	}
	s := newStore()
	for p, err := range w.svc.Sync(t.Context(), calendar.SyncRequest{Start: win.Start, End: win.End, PageSize: 3}) {
		if err != nil {
			t.Fatal(err)
		}
		s.apply(p)
		break // crash after committing the first page and its cursor
	}
	if len(s.events) != 3 {
		t.Fatalf("first page held %d events", len(s.events))
	}
	// A change lands while the process is down.
	w.add("While down", 3, 17)
	s.sync(t, w.svc, calendar.SyncRequest{})
	s.sync(t, w.svc, calendar.SyncRequest{})
	if diff := cmp.Diff(w.truth(t, win), s.subjects()); diff != "" {
		t.Errorf("after resuming mid-round (-view +store):\n%s", diff)
	}
}

// slide applies a Slide to s the way its documentation says.
func (s *store) slide(t *testing.T, svc *calendar.Service, next calendar.Window) {
	t.Helper()
	for p, err := range svc.Slide(t.Context(), calendar.SlideRequest{Cursor: s.cursor, Start: next.Start, End: next.End, PageSize: 2}) {
		if err != nil {
			t.Fatalf("slide: %v", err)
		}
		s.apply(p) // stores p.Cursor, as for Sync
		if p.Done {
			maps.DeleteFunc(s.events, func(_ string, e calendar.Event) bool {
				return !e.End.Time.After(next.Start) || !e.Start.Time.Before(next.End)
			})
		}
	}
}

// TestEndToEndSlideWindow moves a synchronised window while the calendar
// changes in the gap between the old cursor's last round and the slide.
func TestEndToEndSlideWindow(t *testing.T) {
	t.Parallel()
	for _, resetOld := range []bool{false, true} {
		w := newWorld(t)
		old := calendar.Window{Start: w.day, End: w.day.AddDate(0, 0, 7)}
		next := calendar.Window{Start: w.day.AddDate(0, 0, 2), End: w.day.AddDate(0, 0, 9)}
		w.add("Day 0", 0, 9)
		w.add("Day 3", 3, 9)
		gone := w.add("Day 4, deleted in the gap", 4, 9)
		moved := w.add("Day 5, moved to day 8 in the gap", 5, 9)
		w.add("Day 8", 8, 9)

		s := newStore()
		s.sync(t, w.svc, calendar.SyncRequest{Start: old.Start, End: old.End})
		if err := w.user.DeleteEvent(gone.ID); err != nil {
			t.Fatal(err)
		}
		if err := w.user.UpdateEvent(moved.ID, func(e *graphtest.Event) { e.Start, e.End = e.Start.AddDate(0, 0, 3), e.End.AddDate(0, 0, 3) }); err != nil {
			t.Fatal(err)
		}
		if resetOld {
			// The old deltaLink is the first token-carrying request: it gets 410.
			w.srv.Inject(graphtest.Fault{Method: "GET", PathPrefix: "/v1.0/me/calendarView/delta", Kind: graphtest.SyncReset, Times: 1})
			s.events["phantom"] = calendar.Event{ID: "phantom", Subject: "Phantom", Start: calendar.DateTimeTimeZone{Time: w.day.AddDate(0, 0, 4)},
				End: calendar.DateTimeTimeZone{Time: w.day.AddDate(0, 0, 4).Add(time.Hour)}}
		}
		s.slide(t, w.svc, next)
		want := []string{"Day 3", "Day 5, moved to day 8 in the gap", "Day 8"}
		if diff := cmp.Diff(want, s.subjects()); diff != "" {
			t.Errorf("resetOld=%v: after the slide (-want +got):\n%s", resetOld, diff)
		}
		if resetOld && s.resets != 1 {
			t.Errorf("resetOld: %d resets, want 1", s.resets)
		}
		// The new cursor keeps the new window in sync.
		w.add("Day 7", 7, 9)
		s.sync(t, w.svc, calendar.SyncRequest{})
		if diff := cmp.Diff(w.truth(t, next), s.subjects()); diff != "" {
			t.Errorf("resetOld=%v: after a round of the new window (-view +store):\n%s", resetOld, diff)
		}
		// Reusing the new cursor with the old window is refused.
		for _, err := range w.svc.Sync(t.Context(), calendar.SyncRequest{Start: old.Start, End: old.End, Cursor: s.cursor}) {
			if !errors.Is(err, graphclient.ErrInvalidInput) {
				t.Errorf("old window with the new cursor: err = %v", err)
			}
		}
	}
}

// TestEndToEndSlideInterrupted stores every page's cursor, as for Sync,
// and crashes in the middle of a slide: the stored cursor is still the old
// window's, and sliding again from it ends in the right state.
func TestEndToEndSlideInterrupted(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	old := calendar.Window{Start: w.day, End: w.day.AddDate(0, 0, 7)}
	next := calendar.Window{Start: w.day.AddDate(0, 0, 2), End: w.day.AddDate(0, 0, 9)}
	for i := range 9 {
		w.add("Day "+string(rune('0'+i)), i, 9)
	}
	s := newStore()
	s.sync(t, w.svc, calendar.SyncRequest{Start: old.Start, End: old.End})
	oldCursor := s.cursor
	pages := 0
	for p, err := range w.svc.Slide(t.Context(), calendar.SlideRequest{Cursor: s.cursor, Start: next.Start, End: next.End, PageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		s.apply(p)
		if pages++; pages == 2 {
			break // crash after committing two pages
		}
	}
	if s.cursor != oldCursor {
		t.Fatalf("after an interrupted slide the stored cursor is %q, want the old cursor", s.cursor)
	}
	s.slide(t, w.svc, next)
	if diff := cmp.Diff(w.truth(t, next), s.subjects()); diff != "" {
		t.Errorf("after sliding again (-view +store):\n%s", diff)
	}
	if s.cursor == oldCursor || s.cursor == "" {
		t.Errorf("the Done page did not store the new cursor")
	}
}

func TestEndToEndUpdateKeepsJoinURL(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ev := w.add("Customer call", 1, 15, func(e *graphtest.Event) { e.OnlineMeetingProvider = "teamsForBusiness" })
	cats := []string{"Recorded"}
	subject := "Customer call (recorded)"
	got, err := w.svc.Update(t.Context(), ev.ID, calendar.EventUpdate{Subject: &subject, Categories: &cats})
	if err != nil {
		t.Fatal(err)
	}
	if got.OnlineMeeting == nil || got.OnlineMeeting.JoinURL != ev.JoinURL || got.Subject != subject {
		t.Fatalf("after Update: %q, joinUrl %+v; want %q", got.Subject, got.OnlineMeeting, ev.JoinURL)
	}
	again, err := w.svc.Event(t.Context(), ev.ID)
	if err != nil || again.OnlineMeeting == nil || again.OnlineMeeting.JoinURL != ev.JoinURL || !slices.Equal(again.Categories, cats) {
		t.Errorf("re-read after Update: %+v, %v", again, err)
	}
	if _, err := w.svc.Event(t.Context(), "AAMk-nope"); !errors.Is(err, graphclient.ErrNotFound) {
		t.Errorf("missing event: %v", err)
	}
}

func TestEndToEndSharedCalendar(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tenant := w.srv.Tenant("contoso.com")
	bo := tenant.AddUser("bo@contoso.com", "Bo")
	w.add("Ana's 1:1", 1, 9)
	w.add("Ana's review", 2, 14, func(e *graphtest.Event) { e.Sensitivity = "private" })
	sharedID := w.user.ShareCalendarWith(bo, false)

	tok := w.srv.IssueToken(bo, "11111111-2222-3333-4444-555555555555", "Calendars.Read", "Calendars.Read.Shared")
	gc, err := graphclient.New(graphclient.StaticToken(tok), graphclient.WithHTTPClient(w.srv.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	svc := calendar.New(gc)
	type cal struct {
		Name, Owner      string
		Default, CanEdit bool
	}
	var cals []cal
	var shared string
	for c, err := range svc.Calendars(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		cals = append(cals, cal{c.Name, c.Owner.Address, c.IsDefaultCalendar, c.CanEdit})
		if c.Owner.Address == "ana@contoso.com" {
			shared = c.ID
		}
	}
	want := []cal{{"Calendar", "bo@contoso.com", true, true}, {"Ana", "ana@contoso.com", false, false}}
	if diff := cmp.Diff(want, cals); diff != "" {
		t.Errorf("Bo's calendars (-want +got):\n%s", diff)
	}
	if shared != sharedID {
		t.Errorf("shared calendar ID %q, want %q", shared, sharedID)
	}
	win := calendar.Window{Start: w.day, End: w.day.AddDate(0, 0, 7)}
	var subjects []string
	for e, err := range svc.Events(t.Context(), win, &calendar.EventsOptions{CalendarID: shared, IncludeBody: true}) {
		if err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, e.Subject+" ("+string(e.Sensitivity)+")")
	}
	slices.Sort(subjects)
	if diff := cmp.Diff([]string{"Ana's 1:1 (normal)", "Ana's review (private)"}, subjects); diff != "" {
		t.Errorf("events of Ana's shared calendar (-want +got):\n%s", diff)
	}
	// Without Calendars.Read.Shared the shared calendar is refused.
	tok = w.srv.IssueToken(bo, "11111111-2222-3333-4444-555555555555", "Calendars.Read")
	gc, _ = graphclient.New(graphclient.StaticToken(tok), graphclient.WithHTTPClient(w.srv.HTTPClient()))
	for _, err := range calendar.New(gc).Events(t.Context(), win, &calendar.EventsOptions{CalendarID: shared}) {
		if !errors.Is(err, graphclient.ErrForbidden) {
			t.Errorf("without Calendars.Read.Shared: err = %v, want ErrForbidden", err)
		}
	}
}
