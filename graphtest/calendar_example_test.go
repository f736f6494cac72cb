package graphtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/m365kit/m365kit/graphtest"
)

// get sends an authorised GET through the fake and decodes the JSON answer.
func get(srv *graphtest.Server, token, url string, v any) int {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		panic(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(v)
	return resp.StatusCode
}

// deltaPage is one page of a delta round.
type deltaPage struct {
	NextLink  string `json:"@odata.nextLink"`
	DeltaLink string `json:"@odata.deltaLink"`
	Value     []struct {
		ID      string          `json:"id"`
		Subject string          `json:"subject"`
		Removed json.RawMessage `json:"@removed"`
	} `json:"value"`
	Error struct {
		Code string `json:"code"`
	} `json:"error"`
}

// A delta round over calendarView tracks real changes: the deltaLink of
// one round returns only what changed since, deletions as @removed, and
// once the fake forgets its tokens the link answers 410 SyncStateNotFound.
func ExampleUser_ExpireDeltaTokens() {
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	srv := graphtest.NewServer(graphtest.WithClock(func() time.Time { return now }))
	defer srv.Close()
	adele := srv.AddTenant("contoso.com").AddUser("adele@contoso.com", "Adele Vance")
	standup := adele.AddEvent(graphtest.Event{Subject: "Standup", Start: now.Add(time.Hour), End: now.Add(75 * time.Minute)})
	tok := srv.IssueToken(adele, "client-id", "Calendars.Read")

	var page deltaPage
	get(srv, tok, "https://graph.microsoft.com/v1.0/me/calendarView/delta?startDateTime=2026-11-25T00:00:00Z&endDateTime=2026-11-26T00:00:00Z", &page)
	fmt.Println("first round:", len(page.Value), "event(s)")

	adele.AddEvent(graphtest.Event{Subject: "Customer call", Start: now.Add(3 * time.Hour), End: now.Add(4 * time.Hour)})
	_ = adele.DeleteEvent(standup.ID)
	link := page.DeltaLink
	page = deltaPage{}
	get(srv, tok, link, &page)
	for _, v := range page.Value {
		if v.Removed != nil {
			fmt.Println("removed:", v.ID == standup.ID)
		} else {
			fmt.Println("changed:", v.Subject)
		}
	}

	adele.ExpireDeltaTokens()
	link = page.DeltaLink
	page = deltaPage{}
	status := get(srv, tok, link, &page)
	fmt.Println(status, page.Error.Code)
	// Output:
	// first round: 1 event(s)
	// changed: Customer call
	// removed: true
	// 410 SyncStateNotFound
}
