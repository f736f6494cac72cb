package mail_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/internal/replaytest"
	"github.com/m365kit/m365kit/mail"
	"github.com/m365kit/m365kit/scopes"
)

// A read-only inbox sync recorded against the demo tenant (a first round
// in pages through the relevance filter, then a round after a message
// arrived and one was deleted) replays offline to what the live run saw.
func TestReplayMailSync(t *testing.T) {
	t.Parallel()
	replaytest.Check(t, "testdata/recordings/mail-sync.json", "adele", []scopes.Feature{scopes.Mail}, mailRun)
}

func mailRun(ctx context.Context, t *testing.T, env replaytest.Env) []string {
	s, live := env.Session, env.Live
	svc := mail.New(s.Graph)
	filter := mail.All(mail.SkipDrafts(), mail.ExternalOnly("contoso.com"))
	var out []string
	cursor, first := "", ""
	for round := 1; round <= 2; round++ {
		for page, err := range svc.Sync(ctx, mail.SyncRequest{Folder: "inbox", Cursor: cursor, Filter: filter, PageSize: 5}) {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			out = append(out, fmt.Sprintf("round %d page: %d kept, %d skipped, %d removed", round, len(page.Messages), len(page.Skipped), len(page.Removed)))
			for _, m := range page.Messages {
				out = append(out, fmt.Sprintf("  kept %q from %s", m.Subject, m.From.EmailAddress.Address))
				if first == "" {
					first = m.ID
				}
			}
			for _, sk := range page.Skipped {
				out = append(out, "  skipped: "+sk.Reason)
			}
			for _, id := range page.Removed {
				out = append(out, "  removed "+id)
			}
			cursor = page.Cursor
		}
		if round == 1 && live != nil {
			adele := live.Demo.Adele
			adele.AddMessage(graphtest.Message{Subject: "Replay: signed order form", From: live.Demo.External[0],
				To: []graphtest.Address{{Name: adele.DisplayName, Address: adele.UserPrincipalName}}, BodyHTML: "<p>Attached.</p>"})
			if err := adele.DeleteMessage(first); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}
