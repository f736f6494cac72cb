package graphtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// accessToken is what the fake remembers about an access token it issued.
type accessToken struct {
	user     *User
	clientID string
	scopes   []string
	expires  time.Time
}

// IssueToken returns an access token for u, as if the client had redeemed a
// sign-in for scopes, without going through the authority. Tests of Graph
// areas use it with graphclient.StaticToken.
func (s *Server) IssueToken(u *User, clientID string, scopes ...string) string {
	tok := "eyJ0eXAiOiJKV1QiLCJncmFwaHRlc3QiOnRydWV9." + randomToken(24)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = &accessToken{user: u, clientID: clientID, scopes: append([]string(nil), scopes...), expires: s.now().Add(s.tokenLifetime)}
	return tok
}

// ExpireTokens makes every access token issued to u expired: the next Graph
// call with one gets 401 InvalidAuthenticationToken.
func (s *Server) ExpireTokens(u *User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.now().Add(-time.Minute)
	for _, t := range s.tokens {
		if t.user == u {
			t.expires = past
		}
	}
}

// graphHandler serves one Graph route for the user the bearer token names.
type graphHandler func(w http.ResponseWriter, r *http.Request, u *User)

// handleGraph registers h for pattern ("GET /v1.0/me/events/{id}") on the
// Graph host. The request must carry a bearer token the fake issued,
// unexpired; the token must hold at least one of anyOf (Graph's permission
// tables list alternatives, any of which is enough). With anyOf empty only
// a valid token is needed.
func (s *Server) handleGraph(pattern string, anyOf []string, h graphHandler) {
	s.graph.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		u, ok := s.authorize(w, r, anyOf)
		if !ok {
			return
		}
		h(w, r, u)
	})
}

// authorize checks the bearer token and scopes, writing Graph's error when
// they fail.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, anyOf []string) (*User, bool) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		writeGraphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return nil, false
	}
	s.mu.Lock()
	tok := s.tokens[raw]
	now := s.now()
	s.mu.Unlock()
	switch {
	case tok == nil:
		writeGraphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.")
		return nil, false
	case !now.Before(tok.expires):
		writeGraphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
		return nil, false
	}
	if len(anyOf) > 0 {
		found := false
		for _, want := range anyOf {
			if containsFold(tok.scopes, want) {
				found = true
				break
			}
		}
		if !found {
			code, msg := forbidden(r.URL.Path, anyOf)
			writeGraphError(w, http.StatusForbidden, code, msg)
			return nil, false
		}
	}
	return tok.user, true
}

// forbidden returns the code and message of the 403 Graph answers a token
// that lacks the permission a route needs. Each workload words it its own
// way: the directory (/me) says Authorization_RequestDenied, Outlook
// (calendars, events, mail) ErrorAccessDenied, Teams and the rest Forbidden
// with the permissions the API requires.
func forbidden(path string, anyOf []string) (code, message string) {
	p := strings.TrimPrefix(path, "/")
	if _, rest, ok := strings.Cut(p, "/"); ok {
		p = rest // without the version segment
	}
	switch {
	case p == "me":
		return "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
	case strings.HasPrefix(p, "me/calendar"), strings.HasPrefix(p, "me/events"),
		strings.HasPrefix(p, "me/mailFolders"), strings.HasPrefix(p, "me/messages"):
		return "ErrorAccessDenied", "Access is denied. Check credentials and try again."
	}
	return "Forbidden", "Missing scope permissions on the request. API requires one of '" + strings.Join(anyOf, ", ") + "'. Roles on the request ''."
}

// graphError is Graph's error envelope.
type graphError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			Date            string `json:"date"`
			RequestID       string `json:"request-id"`
			ClientRequestID string `json:"client-request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

// writeGraphError writes Graph's error envelope with a fresh request-id.
func writeGraphError(w http.ResponseWriter, status int, code, message string) {
	var e graphError
	e.Error.Code = code
	e.Error.Message = message
	now := clock(w)
	e.Error.InnerError.Date = now.Format("2006-01-02T15:04:05")
	e.Error.InnerError.RequestID = newID()
	e.Error.InnerError.ClientRequestID = w.Header().Get("client-request-id")
	w.Header().Set("request-id", e.Error.InnerError.RequestID)
	w.Header().Set("Date", now.Format(http.TimeFormat))
	writeJSON(w, status, e)
}

// clock returns the time to stamp on a response written to w: the server
// clock (WithClock) for the writers the server hands its handlers, else
// the wall clock. UTC.
func clock(w http.ResponseWriter) time.Time {
	if sw, ok := w.(*statusWriter); ok && sw.now != nil {
		return sw.now().UTC()
	}
	return time.Now().UTC()
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
