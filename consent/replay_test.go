package consent_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/consent"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/internal/replaytest"
	"github.com/m365kit/m365kit/scopes"
)

// An administrator's consent and the verification that follows, recorded
// against the demo tenant (the admin-consent callback, then the probes of
// each feature for a signed-in user), replay offline to what the live run
// saw: the same grant and the same report.
func TestReplayConsentVerify(t *testing.T) {
	t.Parallel()
	replaytest.Check(t, "testdata/recordings/consent-verify.json", "adele", scopes.Features(), consentRun)
}

func consentRun(ctx context.Context, t *testing.T, env replaytest.Env) []string {
	flow, err := consent.New(consent.Config{ClientID: graphtest.DemoClientID, RedirectURL: graphtest.DemoRedirectURL, StateKey: []byte("replay-test-state-key-32-bytes!!")})
	if err != nil {
		t.Fatal(err)
	}
	u, err := flow.AdminConsentURL(consent.Request{Tenant: "contoso.com", Features: scopes.Features()})
	if err != nil {
		t.Fatal(err)
	}
	callback, err := env.Browse(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	grant, err := flow.Complete(callback)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{fmt.Sprintf("grant: tenant %s verified %v scopes %s", grant.TenantID, grant.TenantVerified, strings.Join(grant.Scopes, " "))}
	report := consent.Verify(ctx, env.Session.Graph, env.Session.User.GrantedScopes, scopes.Features()...)
	out = append(out, fmt.Sprintf("ready %v", report.Ready()))
	return append(out, strings.Split(strings.TrimSpace(report.String()), "\n")...)
}
