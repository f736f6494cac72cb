package graphtest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDemoTenant(t *testing.T) {
	t.Parallel()
	srv := New(t, WithClock(func() time.Time { return testNow })) // Wednesday 25 November 2026
	d := srv.AddDemoTenant()
	if got := d.Tenant.Granted(DemoClientID); len(got) == 0 {
		t.Fatal("demo app has no admin consent")
	}
	all := []string{"Calendars.Read", "Mail.Read", "Team.ReadBasic.All", "Chat.Read", "OnlineMeetings.Read"}
	tok := srv.IssueToken(d.Adele, DemoClientID, all...)

	week := do(t, srv, graphCall{url: "me/calendarView?startDateTime=2026-11-23T00:00:00Z&endDateTime=2026-11-30T00:00:00Z&$top=50", token: tok})
	wantStatus(t, week, http.StatusOK)
	kinds := map[string]int{}
	for _, e := range week.values(t) {
		switch {
		case e["isCancelled"] == true:
			kinds["cancelled"]++
		case e["onlineMeeting"] != nil:
			kinds["teams"]++
		case strings.Contains(fmt.Sprint(e["location"].(map[string]any)["locationUri"], e["body"].(map[string]any)["content"]), "zoom.us"):
			kinds["zoom"]++
		case strings.Contains(e["body"].(map[string]any)["content"].(string), "meet.google.com"):
			kinds["meet"]++
		default:
			kinds["other"]++
		}
		if e["type"] == "exception" && !strings.Contains(e["start"].(map[string]any)["dateTime"].(string), "T10:00") {
			t.Errorf("standup exception starts %v", e["start"])
		}
	}
	want := map[string]int{"teams": 7, "cancelled": 1, "zoom": 1, "meet": 1, "other": 1}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("this week's events by kind (-want +got):\n%s", diff)
	}

	folders := map[string]int{"inbox": 8, "sentitems": 3, "drafts": 1, "junkemail": 1}
	for f, n := range folders {
		if got := len(d.Adele.Messages(f)); got != n {
			t.Errorf("%s has %d messages, want %d", f, got, n)
		}
	}
	external := 0
	for _, m := range d.Adele.Messages("inbox") {
		if strings.HasSuffix(m.From.Address, "@fabrikam.com") {
			external++
		}
	}
	if external != 2 {
		t.Errorf("%d external inbox messages, want 2", external)
	}

	if n := len(do(t, srv, graphCall{url: "me/joinedTeams", token: tok}).values(t)); n != 2 {
		t.Errorf("%d joined teams, want 2", n)
	}
	if n := len(do(t, srv, graphCall{url: "me/chats", token: tok}).values(t)); n != 2 {
		t.Errorf("%d chats, want 2", n)
	}
	alexTok := srv.IssueToken(d.Alex, DemoClientID, all...)
	meetings := do(t, srv, graphCall{url: "me/onlineMeetings?$filter=" + url.QueryEscape("JoinWebUrl eq '"+d.Roadmap.JoinURL+"'"), token: alexTok})
	if vs := meetings.values(t); len(vs) != 1 || vs[0]["subject"] != "Q3 roadmap review" {
		t.Errorf("roadmap meeting for Alex = %v", vs)
	}
	lynne := do(t, srv, graphCall{url: "me/mailFolders", token: srv.IssueToken(d.Lynne, DemoClientID, all...)})
	wantStatus(t, lynne, http.StatusNotFound)
	cals := do(t, srv, graphCall{url: "me/calendars", token: tok}).values(t)
	if len(cals) != 2 || cals[1]["name"] != "Alex Wilber" {
		t.Errorf("Adele's calendars = %v", cals)
	}
}

// Two demo tenants, on two servers with the same clock, hold the same
// content under the same tenant and user IDs: output built from them (the
// quickstart's, a golden file) does not change from run to run.
func TestDemoTenantIsDeterministic(t *testing.T) {
	t.Parallel()
	type content struct {
		Tenant   string
		Accounts []string
		Events   []string
		Messages []string
		Teams    []string
	}
	build := func() content {
		srv := New(t, WithClock(func() time.Time { return testNow }))
		d := srv.AddDemoTenant()
		c := content{Tenant: d.Tenant.ID}
		for _, u := range append([]*User{d.Admin}, d.Users...) {
			c.Accounts = append(c.Accounts, u.UserPrincipalName+" "+u.AccountID())
		}
		for _, e := range d.Adele.Events() {
			c.Events = append(c.Events, e.Start.Format(time.RFC3339)+" "+e.Type+" "+e.Subject)
		}
		for _, f := range []string{"inbox", "sentitems", "drafts", "junkemail"} {
			for _, m := range d.Adele.Messages(f) {
				c.Messages = append(c.Messages, f+" "+m.Subject)
			}
		}
		for _, tm := range d.Tenant.Teams() {
			for _, ch := range tm.Channels() {
				c.Teams = append(c.Teams, tm.DisplayName+"/"+ch.DisplayName)
			}
		}
		return c
	}
	first, second := build(), build()
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("two demo tenants differ (-first +second):\n%s", diff)
	}
	if len(first.Events) == 0 || len(first.Messages) == 0 || len(first.Teams) == 0 {
		t.Errorf("demo content is empty: %+v", first)
	}
}
