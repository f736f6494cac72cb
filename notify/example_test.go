package notify_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/m365kit/m365kit/calendar"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/notify"
	"github.com/m365kit/m365kit/scopes"
)

// Example is a webhook program for a notetaker, against the sandbox of
// m365test (a fake Microsoft 365): it subscribes to a signed-in user's
// calendar and resyncs it on each notification.
func Example() {
	ctx := context.Background()
	sandbox, err := m365test.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sandbox.Close()
	diego, err := sandbox.SignIn(ctx, "diego", scopes.Calendar) // his calendar is empty
	if err != nil {
		log.Fatal(err)
	}

	// The resync: the next week's changes since the cursor of the last round.
	week := calendar.SyncRequest{Start: time.Now(), End: time.Now().AddDate(0, 0, 7)}
	resync := func(ctx context.Context, _ notify.Key) error {
		for page, err := range calendar.New(diego.Graph).Sync(ctx, week) {
			if err != nil {
				return err
			}
			for _, ev := range page.Events {
				fmt.Println("synced:", ev.Subject)
			}
			week.Cursor = page.Cursor
		}
		return nil
	}

	// The webhook (one worker: one resync at a time), served over HTTPS, and the subscription.
	store := &notify.MemoryStore{}
	subs, err := notify.NewManager(diego.Graph, notify.Config{Store: store, Owner: diego.User.AccountID})
	if err != nil {
		log.Fatal(err)
	}
	router := &notify.Router{Sync: notify.SyncFunc(resync), Manager: func(context.Context, string) (*notify.Manager, error) { return subs, nil }}
	webhook, err := notify.NewHandler(notify.HandlerConfig{Store: store, Deliver: router.Deliver, Workers: 1})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := subs.Create(ctx, sandbox.ServeWebhook(webhook), notify.Events()); err != nil {
		log.Fatal(err)
	}

	// A meeting is booked in Outlook: Graph notifies, the program resyncs.
	start := time.Now().Add(2 * time.Hour)
	sandbox.Demo.Diego.AddEvent(graphtest.Event{Subject: "Kickoff with Fabrikam", Start: start, End: start.Add(time.Hour)})
	if err := webhook.Shutdown(ctx); err != nil { // waits for the resync
		log.Fatal(err)
	}
	// Output:
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
