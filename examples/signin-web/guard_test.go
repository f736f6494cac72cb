package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/m365test"
)

// A sign-out posted by another site is refused and leaves the session; one
// from the app's own page signs out.
func TestCrossSiteSignOutRefused(t *testing.T) {
	t.Parallel()
	b := newBrowser(t, m365test.New(t))
	if code, page := b.signIn("adele@contoso.com"); code != http.StatusOK || !strings.Contains(page, "Hello, Adele Vance") {
		t.Fatalf("sign-in: %d\n%s", code, page)
	}
	signOut := func(site string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, b.ts.URL+"/signout", strings.NewReader(url.Values{}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", site)
		return b.do(req)
	}
	if code, page := signOut("cross-site"); code != http.StatusForbidden || !strings.Contains(page, "Request refused") {
		t.Errorf("cross-site sign-out: %d\n%s", code, page)
	}
	if _, page := b.get("/"); !strings.Contains(page, "Hello, Adele Vance") {
		t.Fatalf("the refused sign-out signed Adele out:\n%s", page)
	}
	if code, page := signOut("same-origin"); code != http.StatusOK || !strings.Contains(page, "Sign in with Microsoft") {
		t.Errorf("same-origin sign-out: %d\n%s", code, page)
	}
}

// The callback's address opened with GET (a reload after the form post, a
// bookmark) goes home when signed in and explains itself otherwise, where
// it used to answer 405; the form posted again after success goes home.
func TestCallbackAgain(t *testing.T) {
	t.Parallel()
	b := newBrowser(t, m365test.New(t))
	if code, page := b.get("/auth/callback"); code != http.StatusBadRequest || !strings.Contains(page, "This sign-in has already finished") {
		t.Errorf("GET of the callback, signed out: %d\n%s", code, page)
	}
	if code, page := b.signIn("adele@contoso.com"); code != http.StatusOK || !strings.Contains(page, "Hello, Adele Vance") {
		t.Fatalf("sign-in: %d\n%s", code, page)
	}
	if code, page := b.get("/auth/callback"); code != http.StatusOK || !strings.Contains(page, "Hello, Adele Vance") {
		t.Errorf("GET of the callback, signed in: %d\n%s", code, page)
	}
	if code, page := b.post("/auth/callback", url.Values{"code": {"0.Aused"}, "state": {"old"}}); code != http.StatusOK || !strings.Contains(page, "Hello, Adele Vance") {
		t.Errorf("the callback posted again: %d\n%s", code, page)
	}
}
