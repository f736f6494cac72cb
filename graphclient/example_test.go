package graphclient_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/m365kit/m365kit/graphclient"
)

// fakeGraph starts a stand-in for Microsoft Graph under /v1.0/ that serves
// routes (pattern -> JSON) and rewrites "{base}" in them to its base URL.
func fakeGraph(routes map[string]string) *httptest.Server {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	for pattern, body := range routes {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			status := http.StatusOK
			if strings.Contains(body, `"error"`) {
				status = http.StatusNotFound
				w.Header().Set("request-id", "5a3d7b4f-0000-4000-8000-000000000001")
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprint(w, strings.ReplaceAll(body, "{base}", srv.URL+"/v1.0/"))
		})
	}
	return srv
}

func ExampleNew() {
	srv := fakeGraph(map[string]string{
		"GET /v1.0/me": `{"displayName":"Adele Vance","mail":"AdeleV@contoso.com"}`,
	})
	defer srv.Close()

	// In production: graphclient.New(app.TokenSource(accountID, scopes.Calendar))
	// with the default base URL https://graph.microsoft.com/v1.0/.
	gc, err := graphclient.New(graphclient.StaticToken("token"),
		graphclient.WithBaseURL(srv.URL+"/v1.0/"),
		graphclient.WithImmutableIDs(),
	)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	req, err := gc.NewRequest(ctx, "GET", "me", nil)
	if err != nil {
		log.Fatal(err)
	}
	var me struct {
		DisplayName string `json:"displayName"`
		Mail        string `json:"mail"`
	}
	if _, err := gc.Do(req, &me); err != nil {
		log.Fatal(err)
	}
	fmt.Println(me.DisplayName, me.Mail)
	// Output: Adele Vance AdeleV@contoso.com
}

func ExampleAll() {
	srv := fakeGraph(map[string]string{
		"GET /v1.0/me/events": `{"value":[{"subject":"Standup"},{"subject":"Design review"}],
			"@odata.nextLink":"{base}me/events/page2?$skiptoken=abc"}`,
		"GET /v1.0/me/events/page2": `{"value":[{"subject":"1:1"}]}`,
	})
	defer srv.Close()
	gc, err := graphclient.New(graphclient.StaticToken("token"), graphclient.WithBaseURL(srv.URL+"/v1.0/"))
	if err != nil {
		log.Fatal(err)
	}

	type Event struct {
		Subject string `json:"subject"`
	}
	for ev, err := range graphclient.All[Event](context.Background(), gc, "me/events?$select=subject") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ev.Subject)
	}
	// Output:
	// Standup
	// Design review
	// 1:1
}

func ExampleDelta() {
	srv := fakeGraph(map[string]string{
		"GET /v1.0/me/calendarView/delta": `{
			"@odata.deltaLink":"{base}me/calendarView/delta?$deltatoken=R0usmcFuQtZdtpk4",
			"value":[
				{"id":"AAMkADk0MGFk","@removed":{"reason":"deleted"}},
				{"id":"AAMkADj1HvAAA=","subject":"Attend service"}]}`,
	})
	defer srv.Close()
	gc, err := graphclient.New(graphclient.StaticToken("token"), graphclient.WithBaseURL(srv.URL+"/v1.0/"))
	if err != nil {
		log.Fatal(err)
	}

	type Event struct {
		ID      string `json:"id"`
		Subject string `json:"subject"`
	}
	initial := "me/calendarView/delta?startDateTime=2016-12-01T00:00:00Z&endDateTime=2016-12-30T00:00:00Z"
	cursor := "" // load the cursor stored by the previous run; "" starts a full sync
	for page, err := range graphclient.Delta[Event](context.Background(), gc, initial, cursor, graphclient.WithMaxPageSize(50)) {
		if err != nil {
			log.Fatal(err)
		}
		if page.Reset {
			fmt.Println("sync state lost: drop the stored events")
		}
		for _, ev := range page.Items {
			fmt.Println("upsert", ev.ID, ev.Subject)
		}
		for _, r := range page.Removed {
			fmt.Println("delete", r.ID, r.Reason)
		}
		// Store page.Cursor in the same transaction as the changes.
		cursor = page.Cursor
		fmt.Println("done:", page.Done, strings.Contains(cursor, "$deltatoken="))
	}
	// Output:
	// upsert AAMkADj1HvAAA= Attend service
	// delete AAMkADk0MGFk deleted
	// done: true true
}

func ExampleError() {
	srv := fakeGraph(map[string]string{
		"GET /v1.0/me/events/{id}": `{"error":{"code":"ErrorItemNotFound","message":"The specified object was not found in the store."}}`,
	})
	defer srv.Close()
	gc, err := graphclient.New(graphclient.StaticToken("token"), graphclient.WithBaseURL(srv.URL+"/v1.0/"))
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	req, err := gc.NewRequest(ctx, "GET", "me/events/AAMkAGI2", nil)
	if err != nil {
		log.Fatal(err)
	}
	_, err = gc.Do(req, nil)
	if errors.Is(err, graphclient.ErrNotFound) {
		fmt.Println("not found")
	}
	var ge *graphclient.Error
	if errors.As(err, &ge) {
		fmt.Println(ge.StatusCode, ge.Code, ge.HasCode("erroritemnotfound"), ge.RequestID)
	}
	// Output:
	// not found
	// 404 ErrorItemNotFound true 5a3d7b4f-0000-4000-8000-000000000001
}

func ExampleClient_Batch() {
	srv := fakeGraph(map[string]string{
		"POST /v1.0/$batch": `{"responses":[
			{"id":"2","status":201,"body":{"id":"AAMkAGI2"}},
			{"id":"1","status":200,"body":{"displayName":"Adele Vance"}}]}`,
	})
	defer srv.Close()
	gc, err := graphclient.New(graphclient.StaticToken("token"), graphclient.WithBaseURL(srv.URL+"/v1.0/"))
	if err != nil {
		log.Fatal(err)
	}

	res, err := gc.Batch(context.Background(), []graphclient.BatchRequest{
		{ID: "1", Method: "GET", URL: "me?$select=displayName"},
		{ID: "2", Method: "POST", URL: "me/events", Body: map[string]string{"subject": "Kickoff"}, DependsOn: []string{"1"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res { // in request order, whatever order Graph answered in
		fmt.Println(r.ID, r.Status, r.Err == nil, string(r.Body))
	}
	// Output:
	// 1 200 true {"displayName":"Adele Vance"}
	// 2 201 true {"id":"AAMkAGI2"}
}
