package calendar_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/m365kit/m365kit/calendar"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/internal/replaytest"
	"github.com/m365kit/m365kit/scopes"
)

// A calendar sync recorded against the demo tenant (a first round in
// pages, then a round after an event was added, one moved out of the
// window, one renamed and one deleted) replays offline to what the live
// run saw: the same pages, events, join links and removals.
func TestReplayCalendarSync(t *testing.T) {
	t.Parallel()
	replaytest.Check(t, "testdata/recordings/calendar-sync.json", "adele", []scopes.Feature{scopes.Calendar}, calendarRun)
}

func calendarRun(ctx context.Context, t *testing.T, env replaytest.Env) []string {
	s, live := env.Session, env.Live
	start := env.Recorded.Truncate(24 * time.Hour)
	w := calendar.Window{Start: start, End: start.AddDate(0, 0, 7)}
	svc := calendar.New(s.Graph)
	var out []string
	cursor := ""
	for round := 1; round <= 2; round++ {
		for page, err := range svc.Sync(ctx, calendar.SyncRequest{Start: w.Start, End: w.End, Cursor: cursor, PageSize: 4}) {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			out = append(out, fmt.Sprintf("round %d page: %d events, %d removed, reset %v", round, len(page.Events), len(page.Removed), page.Reset))
			for i := range page.Events {
				ev := &page.Events[i]
				link, _ := calendar.FindMeetingLink(ev)
				out = append(out, fmt.Sprintf("  %s %s %q %s %s", ev.Type, ev.Start.Time.UTC().Format(time.RFC3339), ev.Subject, link.Provider, link.URL))
			}
			for _, id := range page.Removed {
				out = append(out, "  removed "+id)
			}
			cursor = page.Cursor
		}
		if round == 1 && live != nil {
			d, adele := live.Demo, live.Demo.Adele
			at := start.Add(30 * time.Hour)
			adele.AddEvent(graphtest.Event{Subject: "Replay: Fabrikam follow-up", Start: at, End: at.Add(30 * time.Minute),
				OnlineMeetingProvider: "teamsForBusiness", Attendees: []graphtest.Attendee{{Address: d.External[0]}}})
			for _, err := range []error{
				adele.UpdateEvent(d.Roadmap.ID, func(e *graphtest.Event) { e.Subject = "Q3 roadmap review (moved)" }),
				adele.UpdateEvent(d.Interview.ID, func(e *graphtest.Event) {
					e.Start, e.End = start.AddDate(0, 0, 20), start.AddDate(0, 0, 20).Add(time.Hour)
				}),
				adele.DeleteEvent(d.CustomerCall.ID),
			} {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return out
}
