package graphtest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// genSnapshot is what a generated server holds, for comparing two runs.
type genSnapshot struct {
	Tenants  []string
	Users    []string
	Events   map[string][]Event
	Messages map[string][]Message
}

func takeGenSnapshot(g *Generated) genSnapshot {
	s := genSnapshot{Events: map[string][]Event{}, Messages: map[string][]Message{}}
	for _, t := range g.Tenants {
		s.Tenants = append(s.Tenants, t.ID+" "+t.Domain+" "+t.DisplayName)
	}
	for _, u := range g.Users {
		s.Users = append(s.Users, u.ID+" "+u.TenantID+" "+u.UserPrincipalName)
		s.Events[u.ID] = u.Events()
		s.Messages[u.ID] = u.Messages("inbox")
	}
	return s
}

func TestGenerateIsRepeatableFromTheSeed(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	gen := func(seed int64) genSnapshot {
		srv := New(t, WithClock(func() time.Time { return now }))
		g, err := srv.Generate(GenerateConfig{Users: 7, Tenants: 3, Seed: seed, Events: 12, Messages: 9})
		if err != nil {
			t.Fatal(err)
		}
		return takeGenSnapshot(g)
	}
	a, b := gen(42), gen(42)
	// The IDs of a series' occurrences and the change keys are fresh.
	ignore := cmp.Options{
		cmpopts.IgnoreUnexported(Event{}, Message{}),
		cmpopts.IgnoreFields(Event{}, "ChangeKey"),
		cmpopts.IgnoreFields(Message{}, "ChangeKey"),
		cmp.FilterPath(func(p cmp.Path) bool {
			return strings.HasSuffix(p.GoString(), ".ID") || strings.HasSuffix(p.GoString(), ".SeriesMasterID") || strings.HasSuffix(p.GoString(), ".ICalUID") || strings.HasSuffix(p.GoString(), ".WebLink")
		}, cmp.Ignore()),
	}
	if d := cmp.Diff(a, b, ignore); d != "" {
		t.Errorf("same seed, different content (-a +b):\n%s", d)
	}
	// Non-occurrence IDs are repeatable too.
	for id, evs := range a.Events {
		for i, e := range evs {
			if e.Type != "occurrence" && e.ID != b.Events[id][i].ID {
				t.Errorf("event %q: ID %s then %s", e.Subject, e.ID, b.Events[id][i].ID)
			}
		}
	}
	if c := gen(43); cmp.Equal(a.Users, c.Users) {
		t.Error("seeds 42 and 43 made the same users")
	}
}

func TestGenerateBuildsRealisticAccounts(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	srv := New(t, WithClock(func() time.Time { return now }))
	g, err := srv.Generate(GenerateConfig{Users: 20, Tenants: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Tenants) != 4 || len(g.Admins) != 4 || len(g.Users) != 20 {
		t.Fatalf("%d tenants, %d admins, %d users", len(g.Tenants), len(g.Admins), len(g.Users))
	}
	var teams, zoom, series, cancelled, allDay, external, events int
	lo, hi := now.Truncate(24*time.Hour).Add(-7*24*time.Hour), now.Add(29*24*time.Hour)
	for i, u := range g.Users {
		if u.TenantID != g.Tenants[i%4].ID || !strings.HasSuffix(u.UserPrincipalName, "@"+g.Tenants[i%4].Domain) {
			t.Errorf("user %d %s is not in tenant %d", i, u.UserPrincipalName, i%4)
		}
		for _, e := range u.Events() {
			if e.Type == "occurrence" {
				continue
			}
			events++
			if e.Start.Before(lo) || e.Start.After(hi) {
				t.Errorf("%s: event %q starts %v, outside the window", u.UserPrincipalName, e.Subject, e.Start)
			}
			switch {
			case e.JoinURL != "":
				teams++
			case strings.Contains(e.Location.LocationURI, "zoom.us"):
				zoom++
			}
			if e.Type == "seriesMaster" {
				series++
			}
			if e.IsCancelled {
				cancelled++
			}
			if e.IsAllDay {
				allDay++
			}
			for _, a := range e.Attendees {
				if !strings.HasSuffix(a.Address.Address, ".example") || strings.Contains(a.Address.Address, "partners") {
					external++
				}
			}
		}
		if n := len(u.Messages("inbox")); n != 20 {
			t.Errorf("%s: %d messages in the inbox, want 20", u.UserPrincipalName, n)
		}
	}
	if events != 20*20 {
		t.Errorf("%d events, want 400", events)
	}
	for name, n := range map[string]int{"Teams": teams, "Zoom": zoom, "series": series, "cancelled": cancelled, "all-day": allDay, "external attendees": external} {
		if n == 0 {
			t.Errorf("no %s events among %d", name, events)
		}
	}

	// Any user signs in through the demo app: the tenant has consented.
	u := g.Users[5]
	tok := srv.IssueToken(u, DemoClientID, "Calendars.Read")
	if got := u.Tenant().Granted(DemoClientID); len(got) == 0 {
		t.Error("the tenant has not consented to the demo app")
	}
	resp, body, err := graphGet(t, srv.HTTPClient(), "/me/events?$top=5", tok)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "subject") {
		t.Errorf("GET /me/events: %v %s", err, body)
	}
}

func TestGenerateBadInput(t *testing.T) {
	t.Parallel()
	srv := New(t)
	for _, c := range []GenerateConfig{{Users: -1}, {Tenants: -1}, {Events: -1}, {Messages: -1}, {Past: -time.Hour}} {
		if _, err := srv.Generate(c); err == nil {
			t.Errorf("Generate(%+v): no error", c)
		}
	}
}

func TestChurnChangesWhatDeltaSees(t *testing.T) {
	t.Parallel()
	srv := New(t)
	g, err := srv.Generate(GenerateConfig{Users: 3, Seed: 7, Events: 3, Messages: 3})
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]int{}
	for _, u := range g.Users {
		before[u.ID] = len(u.Events()) + len(u.Messages("inbox"))
	}
	changes := g.Churn(60)
	if len(changes) != 60 {
		t.Fatalf("%d changes, want 60", len(changes))
	}
	seen := map[string]bool{}
	for _, c := range changes {
		seen[c.Kind+" "+c.Op] = true
		var u *User
		for _, x := range g.Users {
			if x.ID == c.UserID {
				u = x
			}
		}
		if u == nil || c.ID == "" {
			t.Fatalf("change %+v names no user or item", c)
		}
	}
	for _, k := range []string{"event created", "event updated", "event deleted", "message created", "message updated", "message deleted"} {
		if !seen[k] {
			t.Errorf("no %q among 60 changes", k)
		}
	}
	// The last change is visible: a created item exists, a deleted one not.
	last := changes[len(changes)-1]
	for _, u := range g.Users {
		if u.ID != last.UserID {
			continue
		}
		found := false
		for _, e := range u.Events() {
			found = found || e.ID == last.ID
		}
		for _, m := range u.Messages("inbox") {
			found = found || m.ID == last.ID
		}
		if found == (last.Op == "deleted") {
			t.Errorf("after %+v the item exists: %v", last, found)
		}
	}
	if g2 := (&Generated{}); g2.Churn(3) != nil {
		t.Error("Churn without users changed something")
	}
}
