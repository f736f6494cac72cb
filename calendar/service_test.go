package calendar

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/m365kit/m365kit/graphclient"
)

// prefix is the path the fake Graph lives under, so that a method that
// builds an absolute path fails.
const prefix = "/tenant-x/v1.0"

// setup starts an httptest server with mux under prefix and a Service on it.
func setup(t *testing.T) (*Service, *http.ServeMux, string) {
	t.Helper()
	mux := http.NewServeMux()
	outer := http.NewServeMux()
	outer.Handle(prefix+"/", http.StripPrefix(prefix, mux))
	srv := httptest.NewServer(outer)
	t.Cleanup(srv.Close)
	gc, err := graphclient.New(graphclient.StaticToken("test-token"),
		graphclient.WithBaseURL(srv.URL+prefix+"/"),
		graphclient.WithHTTPClient(srv.Client()),
		graphclient.WithRetry(graphclient.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return New(gc), mux, srv.URL + prefix + "/"
}

// recorded serves a testdata file with Graph's links pointed at base.
func recorded(t *testing.T, w http.ResponseWriter, name, base string) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Error(err)
		http.Error(w, err.Error(), 500)
		return
	}
	b = []byte(strings.ReplaceAll(string(b), "https://graph.microsoft.com/v1.0/", base))
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func graphError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"error":{"code":"`+code+`","message":"`+msg+`","innerError":{"request-id":"11111111-2222-3333-4444-555555555555","date":"2026-11-25T23:00:00"}}}`)
}

// docsDelta serves the documented calendarView delta rounds. gone holds
// $skiptoken values that answer 410 SyncStateNotFound once each.
type docsDelta struct {
	t    *testing.T
	base string

	mu       sync.Mutex
	requests []string
	gone     map[string]bool
}

func (d *docsDelta) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d.mu.Lock()
	d.requests = append(d.requests, r.URL.RawQuery)
	expired := d.gone[q.Get("$skiptoken")]
	delete(d.gone, q.Get("$skiptoken"))
	d.mu.Unlock()
	if q.Has("$select") {
		d.t.Errorf("delta request with $select: %s", r.URL.RawQuery)
	}
	if expired {
		graphError(w, http.StatusGone, "SyncStateNotFound", "The sync state generation is not found; generation=3;")
		return
	}
	switch {
	case q.Get("$skiptoken") == "R0usmcCM996atia_s":
		recorded(d.t, w, "delta-2.json", d.base)
	case q.Get("$skiptoken") == "R0usmci39OQxqJrxK4":
		recorded(d.t, w, "delta-3.json", d.base)
	case q.Get("$deltatoken") == "R0usmcMDNGg0J1E":
		recorded(d.t, w, "delta-next.json", d.base)
	case q.Get("startDateTime") == "2016-12-01T00:00:00Z" && q.Get("endDateTime") == "2016-12-30T00:00:00Z" && len(q) == 2:
		recorded(d.t, w, "delta-1.json", d.base)
	default:
		d.t.Errorf("unexpected delta request %s", r.URL.RawQuery)
		graphError(w, http.StatusBadRequest, "BadRequest", "unexpected")
	}
}

func (d *docsDelta) log() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.requests...)
}

var docsWindow = SyncRequest{
	Start: time.Date(2016, 12, 1, 0, 0, 0, 0, time.UTC),
	End:   time.Date(2016, 12, 30, 0, 0, 0, 0, time.UTC),
}

// pageSummary is what a test compares of a page.
type pageSummary struct {
	Events  []string // subjects
	Removed []string
	Reset   bool
	Done    bool
}

func summarize(pages []*Page) []pageSummary {
	var out []pageSummary
	for _, p := range pages {
		s := pageSummary{Removed: p.Removed, Reset: p.Reset, Done: p.Done}
		for _, e := range p.Events {
			s.Events = append(s.Events, e.Subject)
		}
		out = append(out, s)
	}
	return out
}

func collect(t *testing.T, seq func(func(*Page, error) bool)) ([]*Page, error) {
	t.Helper()
	var pages []*Page
	for p, err := range seq {
		if err != nil {
			return pages, err
		}
		pages = append(pages, p)
	}
	return pages, nil
}

func TestSyncDocumentedRounds(t *testing.T) {
	t.Parallel()
	svc, mux, base := setup(t)
	d := &docsDelta{t: t, base: base}
	mux.Handle("GET /me/calendarView/delta", d)
	ctx := t.Context()

	pages, err := collect(t, svc.Sync(ctx, docsWindow))
	if err != nil {
		t.Fatal(err)
	}
	want := []pageSummary{
		{Events: []string{"Plan shopping list", "Pick up car"}},
		{Events: []string{"Get food", "Prepare food"}},
		{Events: []string{"Rest!"}, Done: true},
	}
	if diff := cmp.Diff(want, summarize(pages)); diff != "" {
		t.Fatalf("first round (-want +got):\n%s", diff)
	}
	if got := pages[0].Events[0].Start.Time; !got.Equal(time.Date(2016, 12, 9, 20, 30, 0, 0, time.UTC)) {
		t.Errorf("first event starts %v", got)
	}
	// startDateTime/endDateTime on the first request only; then the links.
	if diff := cmp.Diff([]string{
		"startDateTime=2016-12-01T00%3A00%3A00Z&endDateTime=2016-12-30T00%3A00%3A00Z",
		"$skiptoken=R0usmcCM996atia_s",
		"$skiptoken=R0usmci39OQxqJrxK4",
	}, d.log()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}

	// The next round from the stored cursor: a removal and a change.
	next, err := collect(t, svc.Sync(ctx, SyncRequest{Cursor: pages[2].Cursor}))
	if err != nil {
		t.Fatal(err)
	}
	want = []pageSummary{{
		Events:  []string{"Attend service"},
		Removed: []string{"AAMkADk0MGFkODE3LWE4MmYtNDRhOS04OGQLkRkXbBznTvAADb6ytyAAA="},
		Done:    true,
	}}
	if diff := cmp.Diff(want, summarize(next)); diff != "" {
		t.Errorf("next round (-want +got):\n%s", diff)
	}
	if loc := next[0].Events[0].Location; loc == nil || loc.Address == nil || loc.Address.City != "Seattle" || loc.Coordinates.Latitude != 47.6105 {
		t.Errorf("location not decoded: %+v", loc)
	}

	// Passing the window again with the cursor is fine; another window is not.
	if _, err := collect(t, svc.Sync(ctx, SyncRequest{Start: docsWindow.Start, End: docsWindow.End, Cursor: pages[2].Cursor})); err != nil {
		t.Errorf("same window with cursor: %v", err)
	}
	_, err = collect(t, svc.Sync(ctx, SyncRequest{Start: docsWindow.Start.Add(24 * time.Hour), Cursor: pages[2].Cursor}))
	if !errors.Is(err, graphclient.ErrInvalidInput) || !strings.Contains(err.Error(), "SyncRequest.Start/End") {
		t.Errorf("moved window with cursor: err = %v, want ErrInvalidInput naming Start/End", err)
	}
}

// TestSyncKeepRaw proves KeepRaw keeps each event's JSON with the
// properties Event has no field for, decodes the rest as without it, and
// that without it Raw stays nil.
func TestSyncKeepRaw(t *testing.T) {
	t.Parallel()
	svc, mux, base := setup(t)
	mux.Handle("GET /me/calendarView/delta", &docsDelta{t: t, base: base})
	ctx := t.Context()
	plain, err := collect(t, svc.Sync(ctx, docsWindow))
	if err != nil {
		t.Fatal(err)
	}
	req := docsWindow
	req.KeepRaw = true
	raw, err := collect(t, svc.Sync(ctx, req))
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != len(plain) {
		t.Fatalf("%d pages with KeepRaw, %d without", len(raw), len(plain))
	}
	for i := range raw {
		for j, ev := range raw[i].Events {
			if plain[i].Events[j].Raw != nil {
				t.Errorf("page %d event %d: Raw set without KeepRaw", i, j)
			}
			var m map[string]any
			if err := json.Unmarshal(ev.Raw, &m); err != nil {
				t.Fatalf("page %d event %d: Raw is not JSON: %v", i, j, err)
			}
			if m["id"] != ev.ID || m["@odata.etag"] == nil {
				t.Errorf("page %d event %d: Raw lacks id or @odata.etag: %s", i, j, ev.Raw)
			}
			ev.Raw = nil
			if diff := cmp.Diff(plain[i].Events[j], ev); diff != "" {
				t.Errorf("page %d event %d decodes differently with KeepRaw (-without +with):\n%s", i, j, diff)
			}
		}
	}
}

func TestSyncResumeFromMidRoundCursor(t *testing.T) {
	t.Parallel()
	svc, mux, base := setup(t)
	d := &docsDelta{t: t, base: base}
	mux.Handle("GET /me/calendarView/delta", d)
	var saved string
	for p, err := range svc.Sync(t.Context(), docsWindow) {
		if err != nil {
			t.Fatal(err)
		}
		saved = p.Cursor
		break // the process dies after storing the first page
	}
	pages, err := collect(t, svc.Sync(t.Context(), SyncRequest{Cursor: saved}))
	if err != nil {
		t.Fatal(err)
	}
	want := []pageSummary{
		{Events: []string{"Get food", "Prepare food"}},
		{Events: []string{"Rest!"}, Done: true},
	}
	if diff := cmp.Diff(want, summarize(pages)); diff != "" {
		t.Errorf("resumed round (-want +got):\n%s", diff)
	}
}

func TestSyncResetMidRound(t *testing.T) {
	t.Parallel()
	svc, mux, base := setup(t)
	d := &docsDelta{t: t, base: base, gone: map[string]bool{"R0usmci39OQxqJrxK4": true}}
	mux.Handle("GET /me/calendarView/delta", d)
	pages, err := collect(t, svc.Sync(t.Context(), docsWindow))
	if err != nil {
		t.Fatal(err)
	}
	want := []pageSummary{
		{Events: []string{"Plan shopping list", "Pick up car"}},
		{Events: []string{"Get food", "Prepare food"}},
		// 410 on the third page: the round starts over from the window.
		{Events: []string{"Plan shopping list", "Pick up car"}, Reset: true},
		{Events: []string{"Get food", "Prepare food"}},
		{Events: []string{"Rest!"}, Done: true},
	}
	if diff := cmp.Diff(want, summarize(pages)); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	if log := d.log(); len(log) != 6 || !strings.HasPrefix(log[3], "startDateTime=") {
		t.Errorf("requests = %q, want the initial query again after the 410", log)
	}
}

func TestSyncResetTwiceIsAnError(t *testing.T) {
	t.Parallel()
	svc, mux, base := setup(t)
	d := &docsDelta{t: t, base: base}
	mux.HandleFunc("GET /me/calendarView/delta", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("$skiptoken") != "" {
			graphError(w, http.StatusGone, "SyncStateNotFound", "The sync state generation is not found; generation=7;")
			return
		}
		d.ServeHTTP(w, r)
	})
	pages, err := collect(t, svc.Sync(t.Context(), docsWindow))
	if !errors.Is(err, graphclient.ErrSyncReset) || len(pages) != 2 || !pages[1].Reset {
		t.Errorf("err = %v after %d pages; want ErrSyncReset after the first page and its Reset replay", err, len(pages))
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Op != "Sync" {
		t.Errorf("err = %#v, want *calendar.Error for Sync", err)
	}
}

func TestSyncBadInput(t *testing.T) {
	t.Parallel()
	svc, _, _ := setup(t)
	day := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		req   SyncRequest
		input string
	}{
		{"no window", SyncRequest{}, "Window.Start"},
		{"no end", SyncRequest{Start: day}, "Window.End"},
		{"inverted", SyncRequest{Start: day, End: day.Add(-time.Hour)}, "Window.End"},
		{"foreign cursor", SyncRequest{Cursor: "https://graph.microsoft.com/v1.0/me/calendarView/delta?$deltatoken=x"}, "SyncRequest.Cursor"},
		{"mangled cursor", SyncRequest{Cursor: "cal1|yesterday|today|x"}, "SyncRequest.Cursor"},
		{"negative page size", SyncRequest{Start: day, End: day.Add(time.Hour), PageSize: -1}, "SyncRequest.PageSize"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := collect(t, svc.Sync(t.Context(), tc.req))
			var ce *Error
			if !errors.Is(err, graphclient.ErrInvalidInput) || !errors.As(err, &ce) || ce.Input != tc.input {
				t.Errorf("err = %v, want ErrInvalidInput naming %s", err, tc.input)
			}
		})
	}
}

// TestSyncRefusesForeignCursorLink proves a tampered cursor cannot send the
// token to another host.
func TestSyncRefusesForeignCursorLink(t *testing.T) {
	t.Parallel()
	svc, mux, _ := setup(t)
	var hit atomic.Bool
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { hit.Store(true) })
	evil := encodeCursor(Window{Start: docsWindow.Start, End: docsWindow.End}, "https://evil.example/v1.0/me/calendarView/delta?$deltatoken=x")
	_, err := collect(t, svc.Sync(t.Context(), SyncRequest{Cursor: evil}))
	if err == nil || !strings.Contains(err.Error(), "evil.example") || hit.Load() {
		t.Errorf("err = %v, request sent = %v; want a refusal before any request", err, hit.Load())
	}
}

func TestSlideBadInput(t *testing.T) {
	t.Parallel()
	svc, _, _ := setup(t)
	good := encodeCursor(Window{Start: docsWindow.Start, End: docsWindow.End}, "https://graph.microsoft.com/v1.0/me/calendarView/delta?$deltatoken=x")
	tests := []struct {
		req   SlideRequest
		input string
	}{
		{SlideRequest{Start: docsWindow.Start, End: docsWindow.End}, "SlideRequest.Cursor"},
		{SlideRequest{Cursor: good}, "Window.Start"},
		{SlideRequest{Cursor: good, Start: docsWindow.End, End: docsWindow.Start}, "Window.End"},
		{SlideRequest{Cursor: good, Start: docsWindow.Start, End: docsWindow.End, PageSize: -2}, "SlideRequest.PageSize"},
	}
	for _, tc := range tests {
		_, err := collect(t, svc.Slide(t.Context(), tc.req))
		var ce *Error
		if !errors.Is(err, graphclient.ErrInvalidInput) || !errors.As(err, &ce) || ce.Input != tc.input {
			t.Errorf("Slide(%+v): err = %v, want ErrInvalidInput naming %s", tc.req, err, tc.input)
		}
	}
}

func TestSyncDedupesRemovedAndChangedInOnePage(t *testing.T) {
	t.Parallel()
	got := removedIDs([]Event{{ID: "a"}, {ID: "b"}}, []graphclient.Removed{{ID: "a", Reason: "deleted"}, {ID: "c", Reason: "deleted"}, {ID: ""}})
	if diff := cmp.Diff([]string{"c"}, got); diff != "" {
		t.Errorf("removedIDs (-want +got):\n%s", diff)
	}
}

func TestEvents(t *testing.T) {
	t.Parallel()
	svc, mux, base := setup(t)
	var got []string
	var mu sync.Mutex
	handler := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.EscapedPath()+"?"+r.URL.RawQuery+" prefer="+strings.Join(r.Header.Values("Prefer"), ";"))
		mu.Unlock()
		recorded(t, w, "calendarview.json", base)
	}
	mux.HandleFunc("GET /me/calendarView", handler)
	mux.HandleFunc("GET /me/calendars/{id}/calendarView", handler)
	w := Window{Start: time.Date(2020, 1, 1, 19, 0, 0, 0, time.FixedZone("PST", -8*3600)), End: time.Date(2020, 1, 2, 19, 0, 0, 0, time.FixedZone("PST", -8*3600))}

	var events []*Event
	for ev, err := range svc.Events(t.Context(), w, nil) {
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	if len(events) != 1 || events[0].ResponseStatus.Response != ResponseAccepted || events[0].OriginalStartTimeZone != "Pacific Standard Time" {
		t.Fatalf("events = %+v", events)
	}
	for _, err := range svc.Events(t.Context(), w, &EventsOptions{CalendarID: "AAMk/shared=", IncludeBody: true, PageSize: 50}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 {
		t.Fatalf("requests = %q", got)
	}
	if !strings.HasPrefix(got[0], "/me/calendarView?startDateTime=2020-01-02T03%3A00%3A00Z&endDateTime=2020-01-03T03%3A00%3A00Z&$orderby=start/dateTime&$select=id,iCalUId,") ||
		strings.Contains(got[0], ",body,") || !strings.Contains(got[0], "bodyPreview") {
		t.Errorf("primary request = %q, want the window in UTC and a $select without body", got[0])
	}
	if !strings.HasPrefix(got[1], "/me/calendars/AAMk%2Fshared=/calendarView?") || strings.Contains(got[1], "$select") || !strings.Contains(got[1], "odata.maxpagesize=50") {
		t.Errorf("shared-calendar request = %q, want the escaped ID, no $select, the page size", got[1])
	}
	for _, err := range svc.Events(t.Context(), Window{Start: w.End, End: w.Start}, nil) {
		if !errors.Is(err, graphclient.ErrInvalidInput) {
			t.Errorf("inverted window: err = %v", err)
		}
	}
}

func TestEventAndNotFound(t *testing.T) {
	t.Parallel()
	svc, mux, base := setup(t)
	mux.HandleFunc("GET /me/events/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "AAMkAGI1AAAt8AHjAAA=" {
			recorded(t, w, "event-online-meeting.json", base)
			return
		}
		graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
	})
	ev, err := svc.Event(t.Context(), "AAMkAGI1AAAt8AHjAAA=")
	if err != nil || ev.Subject != "Let's go brunch" || ev.OnlineMeeting == nil {
		t.Fatalf("Event = %+v, %v", ev, err)
	}
	_, err = svc.Event(t.Context(), "AAMk-missing")
	var ge *graphclient.Error
	if !errors.Is(err, graphclient.ErrNotFound) || !errors.As(err, &ge) || ge.Code != "ErrorItemNotFound" {
		t.Errorf("missing event: err = %v; want ErrNotFound wrapping the *graphclient.Error", err)
	}
	if errors.Is(err, graphclient.ErrInvalidInput) {
		t.Error("a 404 matches ErrInvalidInput")
	}
	if _, err := svc.Event(t.Context(), " "); !errors.Is(err, graphclient.ErrInvalidInput) {
		t.Errorf("blank id: err = %v", err)
	}
}

func TestCalendars(t *testing.T) {
	t.Parallel()
	svc, mux, base := setup(t)
	mux.HandleFunc("GET /me/calendars", func(w http.ResponseWriter, r *http.Request) { recorded(t, w, "calendars.json", base) })
	var names []string
	for c, err := range svc.Calendars(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, c.Name+" "+c.Owner.Address)
	}
	if diff := cmp.Diff([]string{"Calendar samanthab@contoso.com"}, names); diff != "" {
		t.Errorf("calendars (-want +got):\n%s", diff)
	}
	// A missing permission ends the sequence with the Graph error.
	svc2, mux2, _ := setup(t)
	mux2.HandleFunc("GET /me/calendars", func(w http.ResponseWriter, r *http.Request) {
		graphError(w, http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
	})
	n := 0
	for _, err := range svc2.Calendars(t.Context()) {
		n++
		if !errors.Is(err, graphclient.ErrForbidden) || !strings.HasPrefix(err.Error(), "calendar: Calendars: ") {
			t.Errorf("err = %v, want ErrForbidden from calendar: Calendars", err)
		}
	}
	if n != 1 {
		t.Errorf("%d yields after an error, want 1", n)
	}
}

func TestOnlineMeeting(t *testing.T) {
	t.Parallel()
	svc, mux, base := setup(t)
	const join = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_MGQ4MDQyNTEtNTQ2NS00YjQxLTlkMYzMmY2%40thread.v2/0?context=%7b%22Tid%22%3a%22909c6581-5130-43e9-882cde37%22%2c%22Oid%22%3a%22dc17674c-81d9-4adb-bfb2-8f6a442e4622%22%7d"
	mux.HandleFunc("GET /me/onlineMeetings", func(w http.ResponseWriter, r *http.Request) {
		// The decoded $filter must hold the join URL as it is (one level of
		// query encoding on the wire, as the docs' request shows).
		switch f := r.URL.Query().Get("$filter"); f {
		case "JoinWebUrl eq '" + join + "'":
			recorded(t, w, "onlinemeeting-joinurl.json", base)
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"value":[]}`)
		}
	})
	m, err := svc.OnlineMeeting(t.Context(), join)
	if err != nil {
		t.Fatal(err)
	}
	if m.JoinMeetingIDSettings.JoinMeetingID != "1234567890" || !strings.HasSuffix(m.ID, "@thread.v2") {
		t.Errorf("meeting = %+v", m)
	}
	_, err = svc.OnlineMeeting(t.Context(), "https://teams.microsoft.com/meet/2345678901234?p=it's")
	if !errors.Is(err, graphclient.ErrNotFound) || !strings.Contains(err.Error(), "calendar: OnlineMeeting: no online meeting has this join URL") {
		t.Errorf("unknown meeting: err = %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"", "teams.microsoft.com/meet/1", "ftp://x/y"} {
		if _, err := svc.OnlineMeeting(t.Context(), bad); !errors.Is(err, graphclient.ErrInvalidInput) {
			t.Errorf("OnlineMeeting(%q): err = %v, want ErrInvalidInput", bad, err)
		}
	}
}

// TestUpdateKeepsTeamsJoinLink proves an update sends only what it sets,
// so the event's Teams meeting survives it.
func TestUpdateKeepsTeamsJoinLink(t *testing.T) {
	t.Parallel()
	svc, mux, _ := setup(t)
	stored, err := os.ReadFile("testdata/event-online-meeting.json")
	if err != nil {
		t.Fatal(err)
	}
	var sent []map[string]json.RawMessage
	var mu sync.Mutex
	mux.HandleFunc("PATCH /me/events/{id}", func(w http.ResponseWriter, r *http.Request) {
		var patch map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&patch); err != nil {
			t.Error(err)
		}
		mu.Lock()
		sent = append(sent, patch)
		// Merge semantics, as Graph: what the body names replaces the field.
		var ev map[string]json.RawMessage
		_ = json.Unmarshal(stored, &ev)
		for k, v := range patch {
			ev[k] = v
		}
		stored, _ = json.Marshal(ev)
		out := stored
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	})
	cats := []string{"Customer"}
	ev, err := svc.Update(t.Context(), "AAMkAGI1AAAt8AHjAAA=", EventUpdate{Categories: &cats})
	if err != nil {
		t.Fatal(err)
	}
	subject := "Brunch, moved"
	start := DateTimeTimeZone{Time: time.Date(2017, 4, 15, 19, 0, 0, 0, time.UTC)}
	end := DateTimeTimeZone{Time: time.Date(2017, 4, 15, 20, 0, 0, 0, time.UTC)}
	ev, err = svc.Update(t.Context(), ev.ID, EventUpdate{Subject: &subject, Start: &start, End: &end, Body: &ItemBody{ContentType: "text", Content: "New agenda"}})
	if err != nil {
		t.Fatal(err)
	}
	var keys [][]string
	for _, p := range sent {
		var k []string
		for name := range p {
			k = append(k, name)
		}
		keys = append(keys, k)
	}
	if diff := cmp.Diff([][]string{{"categories"}, {"body", "end", "start", "subject"}}, keys, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("PATCH bodies named (-want +got):\n%s", diff)
	}
	if string(sent[1]["start"]) != `{"dateTime":"2017-04-15T19:00:00.0000000","timeZone":"UTC"}` {
		t.Errorf("start sent as %s", sent[1]["start"])
	}
	if ev.OnlineMeeting == nil || !strings.HasPrefix(ev.OnlineMeeting.JoinURL, "https://teams.microsoft.com/l/meetup-join/") || !ev.IsOnlineMeeting {
		t.Fatalf("the Teams join link was dropped: %+v", ev.OnlineMeeting)
	}
	if l, ok := FindMeetingLink(ev); !ok || l.Field != FieldJoinURL {
		t.Errorf("FindMeetingLink after update = %v %+v", ok, l)
	}
	if _, err := svc.Update(t.Context(), ev.ID, EventUpdate{}); !errors.Is(err, graphclient.ErrInvalidInput) {
		t.Errorf("empty update: err = %v", err)
	}
	if _, err := svc.Update(t.Context(), ev.ID, EventUpdate{Start: &end, End: &start}); !errors.Is(err, graphclient.ErrInvalidInput) {
		t.Errorf("inverted update: err = %v", err)
	}
	if len(sent) != 2 {
		t.Errorf("%d PATCH requests, want 2 (bad updates send nothing)", len(sent))
	}
}

func TestNilClient(t *testing.T) {
	t.Parallel()
	svc := New(nil)
	if _, err := svc.Event(t.Context(), "x"); err == nil {
		t.Error("Event on a nil client: no error")
	}
	for _, err := range svc.Sync(t.Context(), docsWindow) {
		if err == nil {
			t.Error("Sync on a nil client: no error")
		}
	}
}
