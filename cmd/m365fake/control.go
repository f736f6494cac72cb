package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/m365kit/m365kit/graphtest"
)

// control serves the control API (see the package doc).
type control struct {
	srv *graphtest.Server
	gen *graphtest.Generated // nil without -users
}

// controlUser is one user as GET /users lists it.
type controlUser struct {
	ID        string
	TenantID  string
	UPN       string
	AccountID string
	Admin     bool
}

func (c *control) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch r.Method + " " + r.URL.Path {
	case "GET /users":
		out := []controlUser{}
		for _, t := range c.srv.Tenants() {
			for _, u := range t.Users() {
				out = append(out, controlUser{ID: u.ID, TenantID: u.TenantID, UPN: u.UserPrincipalName, AccountID: u.AccountID(), Admin: u.Admin})
			}
		}
		reply(w, out)
	case "GET /requests":
		reqs := c.srv.Requests()
		if v := q.Get("since"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				http.Error(w, "m365fake: since must be a number of requests", http.StatusBadRequest)
				return
			}
			reqs = reqs[min(n, len(reqs)):]
		}
		for i := range reqs {
			reqs[i].Header.Del("Authorization")
			reqs[i].Header.Del("Cookie")
		}
		reply(w, reqs)
	case "GET /deliveries":
		reply(w, c.srv.Deliveries())
	case "POST /requests/reset":
		c.srv.ResetRequests()
		reply(w, struct{}{})
	case "POST /churn":
		n, err := strconv.Atoi(q.Get("n"))
		switch {
		case c.gen == nil:
			http.Error(w, "m365fake: churn needs generated users (-users)", http.StatusConflict)
		case err != nil || n < 1:
			http.Error(w, "m365fake: n must be a positive number of changes", http.StatusBadRequest)
		default:
			reply(w, c.gen.Churn(n))
		}
	case "POST /revoke":
		u := c.user(q.Get("user"))
		if u == nil {
			http.Error(w, "m365fake: no such user", http.StatusNotFound)
			return
		}
		c.srv.RevokeRefreshTokens(u)
		c.srv.ExpireTokens(u)
		reply(w, struct{}{})
	case "POST /expire-tokens":
		users := c.users(q.Get("user"), q.Get("tenant"))
		if users == nil {
			http.Error(w, "m365fake: no such user or tenant", http.StatusNotFound)
			return
		}
		for _, u := range users {
			c.srv.ExpireTokens(u)
		}
		reply(w, struct{}{})
	case "GET /state":
		c.state(w, q)
	case "POST /withdraw-consent":
		t := c.srv.Tenant(q.Get("tenant"))
		if t == nil {
			http.Error(w, "m365fake: no such tenant", http.StatusNotFound)
			return
		}
		t.Revoke(graphtest.DemoClientID, t.Granted(graphtest.DemoClientID)...)
		reply(w, struct{}{})
	case "POST /chaos":
		var cc graphtest.ChaosConfig
		var err error
		rate := func(k string) float64 {
			if v := q.Get(k); v != "" && err == nil {
				var f float64
				if f, err = strconv.ParseFloat(v, 64); err == nil && (f < 0 || f >= 1) {
					err = strconv.ErrRange
				}
				return f
			}
			return 0
		}
		cc.Throttle, cc.Unavailable, cc.Drop = rate("throttle"), rate("unavailable"), rate("drop")
		cc.RetryAfter = q.Get("retry_after")
		if v := q.Get("seed"); v != "" && err == nil {
			cc.Seed, err = strconv.ParseInt(v, 10, 64)
		}
		if err != nil || cc.Throttle+cc.Unavailable+cc.Drop >= 1 {
			http.Error(w, "m365fake: rates are numbers between 0 and 1 with a sum below 1; seed an integer", http.StatusBadRequest)
			return
		}
		c.srv.Chaos(cc)
		reply(w, struct{}{})
	default:
		http.Error(w, "m365fake: unknown control request", http.StatusNotFound)
	}
}

// users returns the user idOrUPN names, or every user of the tenant
// (ID or domain) tenant names; nil when neither names one.
func (c *control) users(idOrUPN, tenant string) []*graphtest.User {
	if idOrUPN != "" {
		if u := c.user(idOrUPN); u != nil {
			return []*graphtest.User{u}
		}
		return nil
	}
	if t := c.srv.Tenant(tenant); tenant != "" && t != nil {
		return t.Users()
	}
	return nil
}

// stateEvent and stateMessage are a user's items as GET /state lists them.
type stateEvent struct {
	ID, Subject string
	Start, End  time.Time
}

type stateMessage struct {
	ID, Subject string
	IsRead      bool
}

// state answers GET /state?user=UPN|ID&start=RFC3339&end=RFC3339&folder=F:
// the events of the user's calendar view of [start, end) (instances, no
// series masters, as calendarView lists them) and the messages of folder
// (default inbox), so a test can compare what it synced with the truth.
func (c *control) state(w http.ResponseWriter, q map[string][]string) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	u := c.user(get("user"))
	start, err1 := time.Parse(time.RFC3339, get("start"))
	end, err2 := time.Parse(time.RFC3339, get("end"))
	switch {
	case u == nil:
		http.Error(w, "m365fake: no such user", http.StatusNotFound)
		return
	case err1 != nil || err2 != nil || !end.After(start):
		http.Error(w, "m365fake: start and end must be RFC 3339 times, end after start", http.StatusBadRequest)
		return
	}
	folder := get("folder")
	if folder == "" {
		folder = "inbox"
	}
	out := struct {
		Events   []stateEvent
		Messages []stateMessage
	}{Events: []stateEvent{}, Messages: []stateMessage{}}
	for _, e := range u.Events() {
		if e.Type == "seriesMaster" {
			continue
		}
		in := e.Start.Before(end) && e.End.After(start)
		if e.End.Equal(e.Start) {
			in = !e.Start.Before(start) && e.Start.Before(end)
		}
		if in {
			out.Events = append(out.Events, stateEvent{ID: e.ID, Subject: e.Subject, Start: e.Start.UTC(), End: e.End.UTC()})
		}
	}
	for _, m := range u.Messages(folder) {
		out.Messages = append(out.Messages, stateMessage{ID: m.ID, Subject: m.Subject, IsRead: m.IsRead})
	}
	reply(w, out)
}

// user finds a user by object ID or user principal name in any tenant.
func (c *control) user(idOrUPN string) *graphtest.User {
	if idOrUPN == "" {
		return nil
	}
	for _, t := range c.srv.Tenants() {
		if u := t.User(idOrUPN); u != nil {
			return u
		}
	}
	return nil
}

// reply writes v as JSON.
func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
