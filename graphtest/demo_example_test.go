package graphtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/m365kit/m365kit/graphtest"
)

// The demo tenant gives the quickstart a realistic calendar: Teams, Zoom and
// Google Meet meetings, a recurring standup with an exception, a cancelled
// meeting and external attendees, all relative to the server clock.
func ExampleServer_AddDemoTenant() {
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC) // a Wednesday
	srv := graphtest.NewServer(graphtest.WithClock(func() time.Time { return now }))
	defer srv.Close()
	demo := srv.AddDemoTenant()

	tok := srv.IssueToken(demo.Adele, demo.App.ClientID, "Calendars.Read")
	req, err := http.NewRequest(http.MethodGet, "https://graph.microsoft.com/v1.0/me/calendarView?startDateTime=2026-11-26T00:00:00Z&endDateTime=2026-11-27T00:00:00Z", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var page struct {
		Value []struct {
			Subject     string `json:"subject"`
			Type        string `json:"type"`
			IsCancelled bool   `json:"isCancelled"`
			Start       struct {
				DateTime string `json:"dateTime"`
			} `json:"start"`
			Location struct {
				DisplayName string `json:"displayName"`
			} `json:"location"`
		} `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range page.Value {
		fmt.Printf("%s %-12s cancelled=%-5v %s (%s)\n", e.Start.DateTime[11:16], e.Type, e.IsCancelled, e.Subject, e.Location.DisplayName)
	}
	// Output:
	// 09:30 occurrence   cancelled=false Engineering standup (Microsoft Teams Meeting)
	// 10:00 singleInstance cancelled=true  Canceled: Budget sync ()
	// 14:00 singleInstance cancelled=false Fabrikam pilot: weekly check-in (Zoom Meeting)
	// 15:00 occurrence   cancelled=false Adele / Alex 1:1 ()
}
