package main

import (
	"errors"
	"net/http"
	"slices"

	"github.com/m365kit/m365kit/consent"
	"github.com/m365kit/m365kit/scopes"
)

// checks are step 3 of the administrator's guide, per feature: what to
// look at once consent is granted.
var checks = map[scopes.Feature]string{
	scopes.SignIn:   `Users see "Sign in with Microsoft" on the login page and can sign in (or register).`,
	scopes.Calendar: "Users see their Outlook calendars and events; the notetaker lists the meetings it will join.",
	scopes.Teams:    "Users can share a clip to a Teams channel or chat and receive Teams notifications.",
	scopes.Mail:     "Once a user turns on email sync in their profile, their recent emails appear (read-only).",
}

// verifyRow is one feature of the verification table.
type verifyRow struct {
	Title   string
	Scopes  []string
	Missing []string // the feature's permissions the grant lacks
	Check   string
}

// grantedView is the data of the success page.
type grantedView struct {
	Grant    *consent.Grant
	Rows     []verifyRow
	Reloaded bool // the callback was loaded again after it succeeded
}

// grantedPage builds the success page: one row per feature the consent
// asked for, its permissions, whether the grant covers them, and how to
// check it works (guide step 3).
func grantedPage(g *consent.Grant, reloaded bool) grantedView {
	v := grantedView{Grant: g, Reloaded: reloaded}
	features := g.Features
	if len(features) == 0 {
		features = scopes.Features()
	}
	for _, f := range features {
		row := verifyRow{Title: f.Title(), Check: checks[f]}
		for _, p := range scopes.Permissions(f) {
			if p.Feature != f {
				continue
			}
			row.Scopes = append(row.Scopes, p.Name)
			if slices.ContainsFunc(g.Missing, func(m scopes.Permission) bool { return m.Name == p.Name }) {
				row.Missing = append(row.Missing, p.Name)
			}
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

// reloaded returns the grant of a callback loaded again after it
// succeeded in this server (a reload, the back button): the binding
// cookie is gone, so the handler reports ErrInvalidState, but the state is
// one this server completed. Otherwise it returns nil. Whoever holds the
// URL sees only what it carries already (the tenant, the scopes); nothing
// is granted or changed.
func (s *server) reloaded(r *http.Request, err error) *consent.Grant {
	if !errors.Is(err, consent.ErrInvalidState) {
		return nil
	}
	g, cerr := s.flow.Complete(r)
	if cerr != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.completed[g.Nonce]
}

// required says when each feature's permissions are needed, as the
// permission overview of the administrator's guide does.
var required = map[scopes.Feature]string{
	scopes.SignIn:   "Always",
	scopes.Calendar: "For calendar sync and the automatic notetaker",
	scopes.Teams:    "For sharing to Teams",
	scopes.Mail:     "For email sync",
}
