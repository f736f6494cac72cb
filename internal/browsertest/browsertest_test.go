package browsertest_test

import (
	"net/url"
	"os/exec"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/internal/browsertest"
)

// consentURL is the demo app's admin-consent URL for the calendar.
func consentURL(clientID, redirect string) string {
	q := url.Values{"client_id": {clientID}, "redirect_uri": {redirect}, "state": {"s-1"},
		"scope": {"https://graph.microsoft.com/Calendars.ReadWrite openid profile offline_access"}}
	return "https://" + graphtest.LoginHost + "/organizations/v2.0/adminconsent?" + q.Encode()
}

// TestAuthorityPages walks graphtest's pages in chromium, reaching the fake
// under its production host name: the administrator's sign-in page, a
// user who is not an administrator meeting "Need admin approval", a
// personal account and an unknown client meeting Entra's error pages.
func TestAuthorityPages(t *testing.T) {
	t.Parallel()
	srv := graphtest.New(t)
	demo := srv.AddDemoTenant()
	srv.PersonalTenant().AddUser("sam@outlook.com", "Sam Personal")
	b := browsertest.New(t, srv)
	raw := consentURL(demo.App.ClientID, demo.App.RedirectURIs[0])

	t.Run("non-admin", func(t *testing.T) {
		tab := b.Tab(t)
		tab.Navigate(raw)
		if got := tab.Text("h1"); got != "Sign in as an administrator" {
			t.Fatalf("h1 = %q", got)
		}
		tab.Screenshot("graphtest-signin")
		tab.Click(`input[value="adele@contoso.com"]`) // Adele, not an administrator
		tab.Follow("#signin-next", "#error")
		if got := tab.Text("h1"); got != "Need admin approval" {
			t.Fatalf("h1 = %q at %s", got, tab.Location())
		}
		if msg := tab.Text("#error"); !strings.HasPrefix(msg, "AADSTS90094:") {
			t.Errorf("error = %q", msg)
		}
		tab.Screenshot("graphtest-need-admin-approval")
	})
	t.Run("personal account", func(t *testing.T) {
		tab := b.Tab(t)
		tab.Navigate(raw)
		tab.Type("#login-other", "sam@outlook.com")
		tab.Follow("#signin-next", "#error")
		if msg := tab.Text("#error"); !strings.HasPrefix(msg, "AADSTS500200:") {
			t.Errorf("error = %q", msg)
		}
	})
	t.Run("unknown client", func(t *testing.T) {
		tab := b.Tab(t)
		tab.Navigate(consentURL("00000000-0000-0000-0000-000000000000", demo.App.RedirectURIs[0]))
		if got, msg := tab.Text("h1"), tab.Text("#error"); got != "Sign in" || !strings.HasPrefix(msg, "AADSTS700016:") {
			t.Errorf("h1 %q, error %q", got, msg)
		}
		tab.Screenshot("graphtest-error")
	})
}

// TestNotLinkedIntoSDK proves chromedp stays a test-only dependency: no
// package of the module but this one imports it, directly or not (test
// files aside).
func TestNotLinkedIntoSDK(t *testing.T) {
	t.Parallel()
	out, err := exec.CommandContext(t.Context(), "go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "github.com/m365kit/m365kit/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	n := 0
	for line := range strings.Lines(string(out)) {
		pkg, deps, _ := strings.Cut(strings.TrimSpace(line), " ")
		n++
		if pkg != "github.com/m365kit/m365kit/internal/browsertest" && strings.Contains(" "+deps+" ", " github.com/chromedp/chromedp ") {
			t.Errorf("%s links chromedp; only tests may", pkg)
		}
	}
	if n < 10 {
		t.Fatalf("go list named %d packages:\n%s", n, out)
	}
}
