package m365test_test

import (
	"context"
	"fmt"
	"log"

	"github.com/m365kit/m365kit/graphtest/recording"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/scopes"
	"github.com/m365kit/m365kit/teams"
)

// Record a run against the demo tenant, then replay it with no tenant at
// all: the recorded user signs in again (the ID token checked as a live
// one) and Graph answers as it did.
func ExampleReplaySignIn() {
	ctx := context.Background()
	sandbox, err := m365test.Start()
	if err != nil {
		log.Fatal(err)
	}
	rec := recording.NewRecorder(recording.Config{Name: "joined teams"})
	adele, err := sandbox.SignInRecorded(ctx, rec, "adele", scopes.Teams)
	if err != nil {
		log.Fatal(err)
	}
	list := func(s *m365test.Session) {
		for team, err := range teams.New(s.Graph).JoinedTeams(ctx) {
			if err != nil {
				log.Fatal(err)
			}
			fmt.Printf("  %s\n", team.DisplayName)
		}
	}
	fmt.Println("live:")
	list(adele)
	sandbox.Close()

	rp := recording.NewReplayer(rec.Recording())
	again, err := m365test.ReplaySignIn(ctx, rp, scopes.Teams)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("replayed for", again.User.Name+":")
	list(again)
	// Output:
	// live:
	//   Engineering
	//   Sales
	// replayed for Adele Vance:
	//   Engineering
	//   Sales
}
