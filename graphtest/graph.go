package graphtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
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

// graphVersions are the version segments every Graph route is served
// under.
var graphVersions = []string{"v1.0", "beta"}

// graphRoute registers h for pattern, a method and a path without the
// version ("GET /me/events/{id}"), on the Graph host under every version.
func (s *Server) graphRoute(pattern string, h http.HandlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	s.graphPaths = append(s.graphPaths, path)
	for _, v := range graphVersions {
		s.graph.HandleFunc(method+" /"+v+path, h)
	}
}

// serveGraphMux serves a Graph request through the route table, for a
// request on its own and for a $batch item alike. It echoes the client's
// client-request-id, as Graph does on every answer (writeGraphError copies
// it into innerError), and answers what no route serves with Graph's
// error envelope rather than the mux's plain text: 400 "Invalid version."
// for a version other than v1.0 or beta, 405 for a method the path does
// not take, 400 "Resource not found for the segment '…'." otherwise.
func (s *Server) serveGraphMux(w http.ResponseWriter, r *http.Request) {
	if id := r.Header.Get("client-request-id"); id != "" {
		w.Header().Set("client-request-id", id)
	}
	if _, pattern := s.graph.Handler(r); pattern != "" {
		s.graph.ServeHTTP(w, r)
		return
	}
	version, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if !slices.Contains(graphVersions, version) {
		writeGraphError(w, http.StatusBadRequest, "BadRequest", "Invalid version.")
		return
	}
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
		probe := &http.Request{Method: m, Host: r.Host, URL: r.URL}
		if _, pattern := s.graph.Handler(probe); pattern != "" {
			writeGraphError(w, http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
			return
		}
	}
	writeGraphError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+s.unknownSegment(rest)+"'.")
}

// unknownSegment returns the first segment of path (without the version)
// that no route has at its place, as Graph names it in its 400; the last
// segment when every one is known but the path as a whole is not a route.
func (s *Server) unknownSegment(path string) string {
	segs := strings.Split(path, "/")
	known := 0
	for _, route := range s.graphPaths {
		want := strings.Split(strings.TrimPrefix(route, "/"), "/")
		n := 0
		for n < len(segs) && n < len(want) && (segs[n] == want[n] || strings.HasPrefix(want[n], "{")) {
			n++
		}
		known = max(known, n)
	}
	if known < len(segs) {
		return segs[known]
	}
	return segs[len(segs)-1]
}

// route registers h for pattern as graphRoute does, for the user the
// bearer token names. The request must carry a bearer token the fake
// issued, unexpired; the token must hold at least one of anyOf (Graph's
// permission tables list alternatives, any of which is enough). With anyOf
// empty only a valid token is needed.
func (s *Server) route(pattern string, anyOf []string, h graphHandler) {
	s.graphRoute(pattern, func(w http.ResponseWriter, r *http.Request) {
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
		unauthorized(w, "Access token is empty.")
		return nil, false
	}
	s.mu.Lock()
	tok := s.tokens[raw]
	now := s.now()
	s.mu.Unlock()
	switch {
	case tok == nil:
		unauthorized(w, "IDX14100: JWT is not well formed.")
		return nil, false
	case !now.Before(tok.expires):
		unauthorized(w, "Lifetime validation failed, the token is expired.")
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

// graphChallenge is the WWW-Authenticate header of Graph's 401 answers: it
// names the authority to get a token from and Graph's application ID as
// the resource.
const graphChallenge = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`

// unauthorized writes Graph's 401 InvalidAuthenticationToken with its
// WWW-Authenticate challenge. The fake sends no claims challenge
// (error="insufficient_claims", claims="…"): Graph sends those only to
// clients that declared the CP1 capability, which the SDK does not.
func unauthorized(w http.ResponseWriter, message string) {
	w.Header().Set("WWW-Authenticate", graphChallenge)
	writeGraphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", message)
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

// tokenHas reports whether the request's token holds one of the scopes.
func (s *Server) tokenHas(r *http.Request, anyOf []string) bool {
	raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := s.tokens[raw]
	if tok == nil {
		return false
	}
	for _, want := range anyOf {
		if containsFold(tok.scopes, want) {
			return true
		}
	}
	return false
}

// clientIDOf returns the client ID of the request's token.
func (s *Server) clientIDOf(r *http.Request) string {
	raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok := s.tokens[raw]; tok != nil {
		return tok.clientID
	}
	return ""
}

// preferences parses every Prefer header into lower-case keys and unquoted
// values: outlook.timezone, outlook.body-content-type, odata.maxpagesize.
func preferences(r *http.Request) map[string]string {
	out := map[string]string{}
	for _, h := range r.Header.Values("Prefer") {
		for part := range strings.SplitSeq(h, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			k = strings.ToLower(strings.TrimSpace(k))
			if k == "" {
				continue
			}
			out[k] = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return out
}

// appliedPreference adds a Preference-Applied value to the response.
func appliedPreference(w http.ResponseWriter, v string) {
	w.Header().Add("Preference-Applied", v)
}

// pageSize returns the page size a request asks for with
// Prefer: odata.maxpagesize, or def.
func pageSize(r *http.Request, def int) int {
	if v, ok := preferences(r)["odata.maxpagesize"]; ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	return def
}

// selectFields parses $select into property names; nil when absent.
func selectFields(q url.Values) []string {
	v := q.Get("$select")
	if v == "" {
		return nil
	}
	var out []string
	for f := range strings.SplitSeq(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// checkSelect reports the first name in fields that obj (a rendered
// entity) does not have, comparing case-insensitively as Graph does.
func checkSelect(fields []string, known map[string]json.RawMessage) (string, bool) {
	for _, f := range fields {
		found := false
		for k := range known {
			if strings.EqualFold(k, f) {
				found = true
				break
			}
		}
		if !found {
			return f, false
		}
	}
	return "", true
}

// applySelect keeps only id, @odata.etag, @odata.type, expanded
// singleValueExtendedProperties and the selected properties of an entity.
// With no fields it returns the entity whole.
func applySelect(v any, fields []string) any {
	if len(fields) == 0 {
		return v
	}
	m := toMap(v)
	out := map[string]json.RawMessage{}
	for k, raw := range m {
		if k == "id" || strings.HasPrefix(k, "@odata.") || k == "singleValueExtendedProperties" {
			out[k] = raw
			continue
		}
		for _, f := range fields {
			if strings.EqualFold(k, f) {
				out[k] = raw
			}
		}
	}
	return out
}

// toMap renders v as a JSON object.
func toMap(v any) map[string]json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	return m
}

// graphURL returns the absolute Graph URL for the path of r with query q,
// as Graph writes nextLink and deltaLink URLs.
func graphURL(r *http.Request, q url.Values) string {
	u := url.URL{Scheme: "https", Host: GraphHost, Path: r.URL.Path, RawQuery: encodeQuery(q)}
	return u.String()
}

// encodeQuery encodes q keeping the $ of OData options readable.
func encodeQuery(q url.Values) string {
	return strings.ReplaceAll(q.Encode(), "%24", "$")
}

// collection is Graph's collection envelope.
type collection struct {
	Context   string `json:"@odata.context,omitempty"`
	NextLink  string `json:"@odata.nextLink,omitempty"`
	DeltaLink string `json:"@odata.deltaLink,omitempty"`
	Value     []any  `json:"value"`
}

// writePage writes items[skip:skip+top] with a nextLink (carrying $skip)
// when more remain. top comes from $top, else def.
func writePage(w http.ResponseWriter, r *http.Request, context string, items []any, def int) {
	q := r.URL.Query()
	top := def
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeGraphError(w, http.StatusBadRequest, "BadRequest", "Invalid value '"+v+"' for query option $top: it must be an integer between 1 and 1000.")
			return
		}
		top = n
	}
	skip := 0
	if v := q.Get("$skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeGraphError(w, http.StatusBadRequest, "BadRequest", "Invalid value '"+v+"' for query option $skip.")
			return
		}
		skip = n
	}
	out := collection{Context: context, Value: []any{}}
	if skip < len(items) {
		end := min(skip+top, len(items))
		out.Value = items[skip:end]
		if end < len(items) {
			q.Set("$skip", strconv.Itoa(end))
			q.Set("$top", strconv.Itoa(top))
			out.NextLink = graphURL(r, q)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// appliedOnce adds a Preference-Applied value unless it is there already.
func appliedOnce(w http.ResponseWriter, v string) {
	if !slices.Contains(w.Header().Values("Preference-Applied"), v) {
		appliedPreference(w, v)
	}
}

// mailboxGuard answers MailboxNotEnabledForRESTAPI for a user without a
// mailbox and reports whether the request may go on.
func mailboxGuard(w http.ResponseWriter, u *User) bool {
	if u.HasMailbox {
		return true
	}
	writeGraphError(w, http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
	return false
}

// badRequest writes Graph's 400 with code BadRequest.
func badRequest(w http.ResponseWriter, format string, args ...any) {
	writeGraphError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf(format, args...))
}

// nonNil returns s, or an empty slice for nil, so JSON shows [] not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// selectOrFail validates $select against properties and writes Graph's
// 400 for an unknown one.
// selectOrFail returns the $select fields of q, writing Graph's 400 when
// one is not a property of typ.
func selectOrFail(w http.ResponseWriter, q url.Values, properties map[string]json.RawMessage, typ string) ([]string, bool) {
	fields := selectFields(q)
	if bad, ok := checkSelect(fields, properties); !ok {
		badRequest(w, "Could not find a property named '%s' on type 'microsoft.graph.%s'.", bad, typ)
		return nil, false
	}
	return fields, true
}

// notFound writes Outlook's 404 for a missing item.
func notFound(w http.ResponseWriter) {
	writeGraphError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
}

// queryParam reads a query parameter by case-insensitive name, as Graph
// does for startDateTime and endDateTime.
// queryParam returns the first value of a query parameter, its name
// matched without regard to case, as Graph matches $top and $TOP.
func queryParam(q url.Values, name string) string {
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
