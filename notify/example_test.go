package notify_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/m365kit/m365kit/calendar"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/notify"
)

// Example is a webhook program for a notetaker, against the fake
// Microsoft 365 of graphtest: it subscribes to the signed-in user's
// calendar and resyncs it on each notification.
func Example() {
	ctx := context.Background()
	m365 := graphtest.NewServer()
	defer m365.Close()
	adele := m365.AddTenant("contoso.com").AddUser("adele@contoso.com", "Adele Vance")
	token := m365.IssueToken(adele, "notetaker-app", "Calendars.Read")
	gc, err := graphclient.New(graphclient.StaticToken(token), graphclient.WithHTTPClient(m365.HTTPClient()))
	if err != nil {
		log.Fatal(err)
	}

	// The resync: the calendar's delta from the stored cursor.
	var cursor string
	resync := func(ctx context.Context, _ notify.Key) error {
		now := time.Now()
		req := calendar.SyncRequest{Start: now, End: now.AddDate(0, 0, 7), Cursor: cursor}
		for page, err := range calendar.New(gc).Sync(ctx, req) {
			if err != nil {
				return err
			}
			for _, ev := range page.Events {
				fmt.Println("synced:", ev.Subject)
			}
			cursor = page.Cursor
		}
		return nil
	}

	// The subscriptions, the webhook (one worker: one resync at a time), the subscription.
	store := &notify.MemoryStore{}
	subs, err := notify.NewManager(gc, notify.Config{Store: store, Owner: adele.AccountID()})
	if err != nil {
		log.Fatal(err)
	}
	router := &notify.Router{Sync: notify.SyncFunc(resync), Manager: func(context.Context, string) (*notify.Manager, error) { return subs, nil }}
	webhook, err := notify.NewHandler(notify.HandlerConfig{Store: store, Deliver: router.Deliver, Workers: 1})
	if err != nil {
		log.Fatal(err)
	}
	server := httptest.NewTLSServer(webhook)
	defer server.Close()
	m365.SetNotificationClient(server.Client()) // the fake Graph trusts the test server
	reg, err := subs.Create(ctx, server.URL, notify.Events())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("subscribed to", reg.Subscription.Resource)

	// A meeting is booked in Outlook: Graph notifies, the program resyncs.
	start := time.Now().Add(2 * time.Hour)
	adele.AddEvent(graphtest.Event{Subject: "Kickoff with Fabrikam", Start: start, End: start.Add(time.Hour)})
	if err := webhook.Shutdown(ctx); err != nil { // waits for the resync
		log.Fatal(err)
	}
	// Output:
	// subscribed to me/events
	// synced: Kickoff with Fabrikam
}

// ExampleParse decodes the change notification from Microsoft's webhook
// documentation.
func ExampleParse() {
	body := []byte(`{"value":[{"subscriptionId":"<subscription_guid>","subscriptionExpirationDateTime":"2016-03-19T22:11:09.952Z","clientState":"secretClientValue","changeType":"created","resource":"users/{user_guid}@<tenant_guid>/messages/{long_id_string}","resourceData":{"@odata.type":"#Microsoft.Graph.Message","@odata.id":"Users/{user_guid}@<tenant_guid>/Messages/{long_id_string}","@odata.etag":"W/\"CQAAABYAAADkrWGo7bouTKlsgTZMr9KwAAAUWRHf\"","id":"<long_id_string>"}}]}`)
	ns, err := notify.Parse(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range ns {
		fmt.Println(n.ChangeType, n.ResourceData.ODataType, n.ResourceData.ID)
	}
	// Output:
	// created #Microsoft.Graph.Message <long_id_string>
}
