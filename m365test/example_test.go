package m365test_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/m365kit/m365kit/calendar"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/scopes"
)

// A first program: the meetings of the next seven days a notetaker should
// join (external participants, a join link), for a user signed in to the
// sandbox's demo tenant.
func Example() {
	ctx := context.Background()
	sandbox, err := m365test.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sandbox.Close()
	adele, err := sandbox.SignIn(ctx, "adele", scopes.Calendar)
	if err != nil {
		log.Fatal(err)
	}

	rules := calendar.Rules{ExternalOnly: true, TenantDomains: []string{"contoso.com"}, RequireMeetingLink: true}
	now := time.Now()
	week := calendar.Window{Start: now, End: now.AddDate(0, 0, 7)}
	for ev, err := range calendar.New(adele.Graph).Events(ctx, week, nil) {
		if err != nil {
			log.Fatal(err)
		}
		if d := rules.Match(ev); d.Join {
			fmt.Printf("%s (%s)\n", ev.Subject, d.Link.Provider)
		}
	}
	// Output:
	// Fabrikam pilot: weekly check-in (zoom)
	// Q3 roadmap review (teams)
}
