package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/examples/internal/programtest"
	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/internal/browsertest"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/scopes"
)

// TestBrowser walks the onboarding pages in chromium: the administrator's
// consent from the "Add to Microsoft 365" button through the fake
// authority's sign-in page and consent prompt to the success page, a
// reload of the callback, then step 3 live: "Verify now" signs the
// administrator in (form_post, the pending cookie) and the verification
// table shows each feature's Graph call and result; a mailbox-only consent
// whose other features say why they are not ready; Cancel; and a user who
// is not an administrator. With M365KIT_SCREENSHOTS=DIR it saves the pages the
// README shows.
func TestBrowser(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	clientID := d.Demo.App.ClientID
	base := browsertest.Serve(t, func(base string) http.Handler {
		d.Demo.App.RedirectURIs = []string{base + "/auth/callback"}
		d.Server.AddApp(d.Demo.App)
		h, _, closeFn, err := newHandler(setup.Env{Getenv: programtest.NoEnv, Demo: d, BrowserReachesDemo: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(closeFn)
		return h
	})
	b := browsertest.New(t, d.Server)
	revoke := func() {
		if g := d.Demo.Tenant.Granted(clientID); len(g) > 0 {
			d.Demo.Tenant.Revoke(clientID, g...)
		}
	}
	// signInAs follows the button to the authority and signs upn in.
	signInAs := func(tab *browsertest.Tab, upn, next string) {
		tab.Navigate(base + "/")
		tab.Follow("a.button", "#signin-next")
		tab.Click(`input[value="` + upn + `"]`)
		tab.Follow("#signin-next", next)
	}

	t.Run("admin consents", func(t *testing.T) {
		revoke()
		tab := b.Tab(t)
		tab.Navigate(base + "/")
		tab.Screenshot("consent-button")
		signInAs(tab, "admin@contoso.com", "#consent-accept")
		if got := tab.Text("main"); !strings.Contains(got, "Accept for your organization") || !strings.Contains(got, "Mail.Read") {
			t.Errorf("the consent prompt reads:\n%s", got)
		}
		tab.Screenshot("consent-prompt")
		tab.Follow("#consent-accept", "#verify-now")
		if got := tab.Text("#granted"); !strings.Contains(got, "Calendars.ReadWrite") || strings.Contains(got, "Not granted") {
			t.Errorf("the granted permissions read:\n%s", got)
		}
		if g := d.Demo.Tenant.Granted(clientID); !slices.Contains(g, "Mail.Read") || !slices.Contains(g, "Calendars.ReadWrite") {
			t.Errorf("the tenant granted %v", g)
		}
		tab.Screenshot("consent-granted")

		// A reload of the callback says the consent is recorded, not that
		// something failed.
		tab.Reload()
		if got := tab.Text("body"); !strings.Contains(got, "This consent was already recorded") || !strings.Contains(got, "Step 3") {
			t.Errorf("after a reload the page reads:\n%s", got)
		}

		// Step 3, live: sign in with Microsoft, then one Graph call per
		// feature on the administrator's behalf.
		tab.Follow("#verify-now", "#signin-next")
		tab.Click(`input[value="admin@contoso.com"]`)
		tab.Follow("#signin-next", "#verification")
		table := tab.Text("#verification")
		for _, want := range []string{
			"Authentication", "GET /me", "MOD Administrator (admin@contoso.com)",
			"Calendar", "GET /me/calendars", "1 calendar",
			"Teams", "GET /me/joinedTeams", "1 joined team",
			"Email", "GET /me/mailFolders/inbox", "inbox: 0 messages",
		} {
			if !strings.Contains(table, want) {
				t.Errorf("the verification table lacks %q:\n%s", want, table)
			}
		}
		if got := tab.Text("[role=status]"); got != "Everything works." {
			t.Errorf("the verdict reads %q; the table:\n%s", got, table)
		}
		if strings.Contains(table, "No") || strings.Contains(table, "Not granted") {
			t.Errorf("everything was granted, yet:\n%s", table)
		}
		if c := tab.Cookies(base + "/verify"); slices.Contains(c, auth.PendingCookieName) || !slices.Contains(c, verifyCookie) {
			t.Errorf("cookies after the verification sign-in: %v", c)
		}
		tab.Screenshot("consent-verified")

		// Signing out forgets the verification; the checks are gone.
		tab.Follow("#verify-signout", "a.button")
		tab.Navigate(base + "/verify")
		if got := tab.Text("h1"); got != "Nothing to verify yet" {
			t.Errorf("after sign-out /verify shows %q", got)
		}
	})

	t.Run("admin verifies a consent without calendar and Teams", func(t *testing.T) {
		revoke()
		tab := b.Tab(t)
		tab.Navigate(base + "/")
		tab.Follow(`a[href="/consent/start?choice=mailbox"]`, "#signin-next")
		tab.Click(`input[value="admin@contoso.com"]`)
		tab.Follow("#signin-next", "#consent-accept")
		tab.Follow("#consent-accept", "#verify-now")
		tab.Follow("#verify-now", "#signin-next")
		tab.Click(`input[value="admin@contoso.com"]`)
		tab.Follow("#signin-next", "#verification")
		table := tab.Text("#verification")
		for _, want := range []string{"Not granted: Calendars.ReadWrite", "Who fixes it: tenant admin", "inbox: 0 messages"} {
			if !strings.Contains(table, want) {
				t.Errorf("the verification table lacks %q:\n%s", want, table)
			}
		}
		if got := tab.Text("[role=status]"); got != "Everything your organisation granted works. Not granted, so turned off: Calendar, Teams." {
			t.Errorf("the verdict reads %q", got)
		}
		tab.Screenshot("consent-verified-partly")
	})

	t.Run("an account of another organisation cannot verify", func(t *testing.T) {
		revoke()
		fabrikam := d.Server.AddTenant("fabrikam.com")
		fabrikam.AddUser("megan@fabrikam.com", "Megan Bowen")
		fabrikam.Grant(clientID, scopes.For(scopes.AllRecommended().Features...)...)
		tab := b.Tab(t)
		signInAs(tab, "admin@contoso.com", "#consent-accept")
		tab.Follow("#consent-accept", "#verify-now")
		tab.Follow("#verify-now", "#signin-next")
		tab.Type("#login-other", "megan@fabrikam.com")
		tab.Follow("#signin-next", "h1")
		if got := tab.Text("body"); !strings.Contains(got, "The verification sign-in did not complete") || !strings.Contains(got, "has not granted consent here") {
			t.Errorf("another organisation's sign-in reads:\n%s", got)
		}
		if c := tab.Cookies(base + "/verify"); slices.Contains(c, verifyCookie) {
			t.Errorf("another organisation's account got a verification session: %v", c)
		}
	})

	t.Run("admin cancels", func(t *testing.T) {
		revoke()
		tab := b.Tab(t)
		signInAs(tab, "admin@contoso.com", "#consent-cancel")
		tab.Follow("#consent-cancel", "h1")
		got := tab.Text("body")
		for _, want := range []string{"Consent did not complete", "AADSTS65004 UserDeclinedConsent", "Who fixes it: tenant admin", "trace ID"} {
			if !strings.Contains(got, want) {
				t.Errorf("the troubleshooting page lacks %q:\n%s", want, got)
			}
		}
		if g := d.Demo.Tenant.Granted(clientID); len(g) != 0 {
			t.Errorf("Cancel granted %v", g)
		}
		tab.Screenshot("consent-declined")
		tab.Follow(`a[href="/troubleshooting"]`, "table")
		if got := tab.Text("body"); !strings.Contains(got, "AADSTS65004") || !strings.Contains(got, "AADSTS90094") {
			t.Errorf("the troubleshooting page reads:\n%s", got)
		}
		tab.Screenshot("troubleshooting")
	})

	t.Run("user who is not an administrator", func(t *testing.T) {
		revoke()
		tab := b.Tab(t)
		signInAs(tab, "adele@contoso.com", "#error-back")
		if got := tab.Text("h1"); got != "Need admin approval" {
			t.Fatalf("h1 = %q", got)
		}
		tab.Follow("#error-back", "h1")
		got := tab.Text("body")
		for _, want := range []string{"Consent did not complete", "AADSTS90094 AdminConsentRequired", "Who fixes it: tenant admin"} {
			if !strings.Contains(got, want) {
				t.Errorf("the troubleshooting page lacks %q:\n%s", want, got)
			}
		}
		if g := d.Demo.Tenant.Granted(clientID); len(g) != 0 {
			t.Errorf("a user who is not an administrator granted %v", g)
		}
		tab.Screenshot("consent-not-admin")
	})
}
