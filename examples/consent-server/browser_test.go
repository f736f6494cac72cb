package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/internal/browsertest"
	"github.com/m365kit/m365kit/m365test"
)

// TestBrowser walks the onboarding pages in chromium: the administrator's
// consent from the "Add to Microsoft 365" button through the fake
// authority's sign-in page and consent prompt to the verification table,
// a reload of the callback, Cancel, and a user who is not an
// administrator. With M365KIT_SCREENSHOTS=DIR it saves the pages the
// README shows.
func TestBrowser(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	clientID := d.Demo.App.ClientID
	base := browsertest.Serve(t, func(base string) http.Handler {
		d.Demo.App.RedirectURIs = []string{base + "/auth/callback"}
		d.Server.AddApp(d.Demo.App)
		h, _, closeFn, err := newHandler(setup.Env{Getenv: noEnv, Demo: d, BrowserReachesDemo: true})
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
		tab.Follow("#consent-accept", "#verification")
		table := tab.Text("#verification")
		for _, want := range []string{"Authentication", "Calendar", "Teams", "Email", "Calendars.ReadWrite", "Sign in with Microsoft", "email sync"} {
			if !strings.Contains(table, want) {
				t.Errorf("the verification table lacks %q:\n%s", want, table)
			}
		}
		if strings.Contains(table, "Not granted") {
			t.Errorf("everything was granted, yet:\n%s", table)
		}
		if g := d.Demo.Tenant.Granted(clientID); !slices.Contains(g, "Mail.Read") || !slices.Contains(g, "Calendars.ReadWrite") {
			t.Errorf("the tenant granted %v", g)
		}
		tab.Screenshot("consent-verified")

		// A reload of the callback says the consent is recorded, not that
		// something failed.
		tab.Reload()
		if got := tab.Text("main, body"); !strings.Contains(got, "This consent was already recorded") || !strings.Contains(got, "Step 3") {
			t.Errorf("after a reload the page reads:\n%s", got)
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
