package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/m365kit/m365kit/calendar"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/notify"
)

// Example runs a webhook server for a notetaker: Graph (here graphtest)
// posts change notifications to the Handler, the Router debounces them
// into one calendar delta sync per user, and the sync picks up the new
// meeting from the stored cursor.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The fake Microsoft 365 and one signed-in user's Graph client.
	m365 := graphtest.NewServer()
	defer m365.Close()
	adele := m365.AddTenant("contoso.com").AddUser("adele@contoso.com", "Adele Vance")
	token := m365.IssueToken(adele, "notetaker-app", "Calendars.Read")
	gc, err := graphclient.New(graphclient.StaticToken(token), graphclient.WithHTTPClient(m365.HTTPClient()))
	if err != nil {
		fmt.Println(err)
		return
	}

	// The sync: calendar delta from the stored cursor, per user and resource.
	var mu sync.Mutex
	cursors := map[notify.Key]string{}
	done := make(chan struct{})
	var once sync.Once
	syncCalendar := func(ctx context.Context, k notify.Key) error {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		req := calendar.SyncRequest{Start: now.Add(-24 * time.Hour), End: now.Add(7 * 24 * time.Hour), Cursor: cursors[k]}
		for page, err := range calendar.New(gc).Sync(ctx, req) {
			if err != nil {
				return err
			}
			for _, ev := range page.Events {
				fmt.Printf("synced for %s: %s\n", k.Resource, ev.Subject)
			}
			cursors[k] = page.Cursor
		}
		once.Do(func() { close(done) })
		return nil
	}

	// The webhook: Handler -> Router -> Debouncer -> sync.
	store := &notify.MemoryStore{}
	var manager *notify.Manager
	deb, err := notify.NewDebouncer(50*time.Millisecond, syncCalendar)
	if err != nil {
		fmt.Println(err)
		return
	}
	router := &notify.Router{Sync: deb, Store: store, Manager: func(context.Context, string) (*notify.Manager, error) { return manager, nil }}
	handler, err := notify.NewHandler(store, router.Process)
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("POST /graph/notifications", handler)
	webhook := httptest.NewTLSServer(mux)
	defer webhook.Close()
	m365.SetNotificationClient(webhook.Client()) // Graph reaches the webhook
	go handler.Run(ctx)
	go deb.Run(ctx)

	// Subscribe the user's calendar and store the registration.
	manager, err = notify.NewManager(gc, notify.Config{NotificationURL: webhook.URL + "/graph/notifications"})
	if err != nil {
		fmt.Println(err)
		return
	}
	sub, err := manager.Create(ctx, notify.Events())
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := store.Save(ctx, notify.Registration{Owner: adele.AccountID(), Subscription: *sub}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("subscribed to %s for %v\n", sub.Resource, time.Until(sub.ExpirationDateTime).Round(time.Hour))

	// A meeting is booked in Outlook; Graph notifies; the sync runs.
	start := time.Now().Add(2 * time.Hour)
	adele.AddEvent(graphtest.Event{Subject: "Kickoff with Fabrikam", Start: start, End: start.Add(time.Hour)})
	<-done
	// Output:
	// subscribed to me/events for 70h0m0s
	// synced for me/events: Kickoff with Fabrikam
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
