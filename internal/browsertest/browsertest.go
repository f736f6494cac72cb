// Package browsertest runs the tests of the pages people see in a real
// browser: Debian's chromium, headless, driven with chromedp. The browser
// reaches a graphtest fake under the production host names
// (login.microsoftonline.com, graph.microsoft.com): chromium's host
// resolver maps them to the fake's loopback listener, and the fake's
// certificate is trusted by its public-key hash alone
// (--ignore-certificate-errors-spki-list), so no other certificate error is
// ignored.
//
// One browser serves a whole test (start it once, run subtests in it);
// each Tab is a fresh browser context with its own cookies.
//
// Without chromium the tests skip with one line saying what to install,
// except in CI (CI=true), where a missing browser fails the test.
//
// Screenshots: with M365KIT_SCREENSHOTS set to a directory, Tab.Screenshot
// writes PNG files there (the README's pictures are made this way, by
// .ci/screenshots); otherwise it does nothing.
//
// This package is for tests only: it links chromedp, which no SDK package
// may import.
package browsertest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/m365kit/m365kit/graphtest"
)

// ScreenshotsEnv names the environment variable holding the directory
// Tab.Screenshot writes to; unset, no screenshots are taken.
const ScreenshotsEnv = "M365KIT_SCREENSHOTS"

// installHint is what a machine without chromium needs.
const installHint = "apt-get install -y chromium"

// Browser is a headless chromium mapped onto one graphtest fake. Its
// methods are safe for concurrent use.
type Browser struct {
	ctx context.Context // the browser's context: cancel it to quit
}

// chromiumPath finds the browser: Debian's chromium, or a Chrome.
func chromiumPath() (string, bool) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// New starts a headless chromium in which login.microsoftonline.com and
// graph.microsoft.com are the fake srv. It quits when t ends. Without
// chromium it skips t (fails it in CI).
func New(t *testing.T, srv *graphtest.Server) *Browser {
	t.Helper()
	path, ok := chromiumPath()
	if !ok {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser tests: chromium is not installed; CI must install it (%s)", installHint)
		}
		t.Skipf("browser tests skipped: chromium is not installed (%s)", installHint)
	}
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	spki := sha256.Sum256(srv.Certificate().RawSubjectPublicKeyInfo)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		// The tests visit only their own pages; chromium's sandbox needs
		// user namespaces that CI containers (running as root) lack.
		chromedp.NoSandbox,
		chromedp.WindowSize(1000, 560),
		chromedp.Flag("host-resolver-rules", fmt.Sprintf("MAP %s %s, MAP %s %s, EXCLUDE localhost",
			graphtest.LoginHost, u.Host, graphtest.GraphHost, u.Host)),
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
		chromedp.Flag("lang", "en-GB"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(ctx); err != nil { // start the browser now
		cancel()
		cancelAlloc()
		t.Fatalf("browser tests: starting %s: %v", path, err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return &Browser{ctx: ctx}
}

// Tab opens a tab in a new browser context (no cookies, no history) for
// one test; it closes when t ends. Every action in it is bounded by 30
// seconds, so a page that never loads fails the test instead of hanging it.
func (b *Browser) Tab(t *testing.T) *Tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("browser tests: new tab: %v", err)
	}
	t.Cleanup(cancel)
	return &Tab{t: t, ctx: ctx}
}

// Tab is one browser tab. Its methods fail the test on error.
type Tab struct {
	t   *testing.T
	ctx context.Context
}

// Do runs chromedp actions in the tab, failing the test on error.
func (tb *Tab) Do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	run(tb, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, a := range actions {
			if _, err := a(ctx, t); err != nil {
				return err
			}
		}
		return nil
	}))
}

// run runs one action in the tab and returns its value, failing the test
// on error.
func run[T any](tb *Tab, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.t.Fatalf("browser: %v (at %s)", err, tb.Location())
	}
	return v
}

// Navigate loads rawURL and waits for the page's body.
func (tb *Tab) Navigate(rawURL string) {
	tb.t.Helper()
	tb.Do(chromedp.Navigate(rawURL), chromedp.WaitReady(chromedp.CSS("body")))
}

// Click clicks the element sel (a CSS selector) once it is visible.
func (tb *Tab) Click(sel string) {
	tb.t.Helper()
	tb.Do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// Follow clicks the element sel, a link or button that leaves the page,
// and waits for the page it ends on, through any redirects and
// self-submitting forms: a new document, loaded, holding an element that
// matches next (a CSS selector).
func (tb *Tab) Follow(sel, next string) {
	tb.t.Helper()
	tb.Do(chromedp.Evaluate[chromedp.Void]("window.browsertestLeft = true"))
	tb.Click(sel)
	tb.WaitPage(next)
}

// WaitPage waits until the tab shows a new, loaded document holding an
// element that matches next. While the browser navigates, the page
// cannot be asked, so it asks again every 20ms.
func (tb *Tab) WaitPage(next string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	cond := fmt.Sprintf("!window.browsertestLeft && document.readyState === 'complete' && document.querySelector(%q) !== null", next)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			tb.t.Fatalf("browser: no page with %s after 30s (at %s, last error %v); the page reads:\n%s", next, tb.Location(), err, tb.pageText())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// pageText returns the start of the page's visible text, for failures.
func (tb *Tab) pageText() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText.slice(0, 600) : ''"))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return s
}

// Type types text into the field sel.
func (tb *Tab) Type(sel, text string) {
	tb.t.Helper()
	tb.Do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), text))
}

// Text returns the visible text of the element sel.
func (tb *Tab) Text(sel string) string {
	tb.t.Helper()
	return run(tb, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
}

// Location returns the tab's URL.
func (tb *Tab) Location() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return s
}

// Reload reloads the page (a GET reload re-sends the same request) and
// waits for it.
func (tb *Tab) Reload() {
	tb.t.Helper()
	tb.Do(chromedp.Reload(), chromedp.WaitReady(chromedp.CSS("body")))
}

// Cookies returns the names of the cookies the tab holds for rawURL.
func (tb *Tab) Cookies(rawURL string) []string {
	tb.t.Helper()
	return run(tb, func(ctx context.Context, t *chromedp.Target) ([]string, error) {
		res, err := cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{rawURL}})
		if err != nil {
			return nil, err
		}
		var names []string
		for _, c := range res.Cookies {
			names = append(names, c.Name)
		}
		return names, nil
	})
}

// Screenshot writes the page, full length, to name.png in the directory
// M365KIT_SCREENSHOTS names, when it is set.
func (tb *Tab) Screenshot(name string) {
	tb.t.Helper()
	dir := os.Getenv(ScreenshotsEnv)
	if dir == "" {
		return
	}
	png := run(tb, chromedp.FullScreenshot(100))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	p := filepath.Join(dir, strings.TrimSuffix(name, ".png")+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot %s", p)
}

// Serve serves h on the loopback address for the test and returns its base
// URL, http://localhost:PORT; h is built by newHandler, which receives the
// base URL first (an example derives its redirect URI from it). The
// server closes when t ends.
func Serve(t *testing.T, newHandler func(base string) http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	srv := httptest.NewUnstartedServer(newHandler(base))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return base
}
