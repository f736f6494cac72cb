package main

import (
	"errors"
	"net/http"
	"slices"

	"github.com/m365kit/m365kit/consent"
	"github.com/m365kit/m365kit/scopes"
)

// grantRow is one feature of the success page's table.
type grantRow struct {
	Title   string
	Scopes  []string
	Missing []string // the feature's permissions the grant lacks
}

// grantedView is the data of the success page.
type grantedView struct {
	Grant    *consent.Grant
	Rows     []grantRow
	Reloaded bool // the callback was loaded again after it succeeded
}

// grantedPage builds the success page: one row per feature the consent
// asked for, its permissions and whether the grant covers them; the page's
// "Verify now" button then checks them live (verifynow.go).
func grantedPage(g *consent.Grant, reloaded bool) grantedView {
	v := grantedView{Grant: g, Reloaded: reloaded}
	features := g.Features
	if len(features) == 0 {
		features = scopes.Features()
	}
	for _, f := range features {
		row := grantRow{Title: f.Title()}
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
