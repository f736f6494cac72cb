package main

import (
	"html/template"
	"net/http"
)

// guardPages are the pages of a refused or repeated request.
var guardPages = template.Must(template.Must(pages.Clone()).Parse(`
{{define "refused"}}{{template "top" "Request refused"}}
<h1>Request refused</h1>
<p>The request to sign out came from another website, so it was refused: a page elsewhere cannot sign you out.
You are still signed in.</p>
<p><a href="/">Continue to the app</a></p></body></html>{{end}}
{{define "again"}}{{template "top" "Sign in again"}}
<h1>This sign-in has already finished</h1>
<p>This address is where Microsoft returns after a sign-in; it cannot be opened again.</p>
<p><a class="button" href="/signin">Sign in with Microsoft</a></p></body></html>{{end}}
`))

// sameOrigin refuses a cross-site request (a form another site posts in
// the user's browser) with 403, by the browser's Sec-Fetch-Site and
// Origin headers (http.CrossOriginProtection). The callback is not
// wrapped: Microsoft posts it from its own site by design.
func sameOrigin(h http.Handler) http.Handler {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		renderGuard(w, http.StatusForbidden, "refused")
	}))
	return p.Handler(h)
}

// callbackAgain answers a GET of the callback address (a reload after the
// form post, a bookmark, the back button): home when signed in, else a
// page saying so, instead of 405.
func (s *server) callbackAgain(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.current(r); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	renderGuard(w, http.StatusBadRequest, "again")
}

func renderGuard(w http.ResponseWriter, status int, name string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = guardPages.ExecuteTemplate(w, name, nil)
}
