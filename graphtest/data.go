package graphtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tenantData is the Graph data of a tenant that is not a single user's:
// teams and chats. Its mutex guards it and every userData of the tenant.
type tenantData struct {
	mu    sync.Mutex
	teams []*Team
	chats []*Chat
	seq   int64 // last chat message ID handed out (epoch milliseconds)
}

// userData holds a user's Graph data: calendar, mailbox and delta state.
// It is guarded by the user's tenant's graph mutex.
type userData struct {
	u          *User
	calendarID string
	events     map[string]*Event // by ID, every instance and series master
	shared     []*calendarShare  // calendars of other users shared with this user
	folders    []*mailFolder
	messages   map[string]*Message
	rev        int64 // change counter: every change to an item takes the next value
	delta      deltaTokens
}

func newUserData(u *User) *userData {
	d := &userData{
		u:          u,
		calendarID: outlookID("AAMkAGI2"),
		events:     map[string]*Event{},
		messages:   map[string]*Message{},
		delta:      deltaTokens{states: map[string]*deltaState{}, rounds: map[string]*deltaPage{}},
	}
	d.folders = defaultFolders()
	return d
}

// lock locks the Graph data of u's tenant and returns the unlock function.
func (u *User) lock() func() {
	mu := &u.tenant.graph.mu
	mu.Lock()
	rev := u.data.rev
	return func() {
		changed := u.data.rev != rev
		mu.Unlock()
		if changed {
			u.tenant.srv.dataChanged(u) // change notifications (subscriptions.go)
		}
	}
}

// now reads the server clock.
func (u *User) now() time.Time { return u.tenant.srv.now().UTC() }

// nextRev returns the next change counter value of the user's data.
func (d *userData) nextRev() int64 { d.rev++; return d.rev }

// routesGraph registers the Graph routes of calendars, mail and Teams.
func (s *Server) routesGraph() {
	s.routesCalendar()
	s.routesMail()
	s.routesTeams()
}

// outlookID returns a fresh Exchange-style item ID: a prefix and URL-safe
// base64, as Graph's "AAMkAGI1AAAt9AHjAAA=".
func outlookID(prefix string) string {
	b, _ := hex.DecodeString(randomToken(32))
	return prefix + base64.URLEncoding.EncodeToString(b)
}

// changeKey returns a fresh change key.
func changeKey() string {
	b, _ := hex.DecodeString(randomToken(16))
	return base64.StdEncoding.EncodeToString(b)
}

// graphTime formats t as Graph's createdDateTime: UTC with seven
// fractional digits.
func graphTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// shortHash returns n hex digits of the SHA-256 of s.
func shortHash(s string, n int) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])[:n]
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

// metadata returns Graph's @odata.context for an entity set of the user.
func metadata(u *User, set string) string {
	return "https://graph.microsoft.com/v1.0/$metadata#users('" + u.ID + "')/" + set
}

var (
	tagRE   = regexp.MustCompile(`(?s)<(script|style|head)[^>]*>.*?</(script|style|head)>|<[^>]*>`)
	blankRE = regexp.MustCompile(`[ \t\r\f\v]+`)
	linesRE = regexp.MustCompile(`\n\s*\n+`)
)

// htmlToText renders HTML as plain text the way Outlook's text body looks:
// tags dropped, entities decoded, blank runs collapsed.
func htmlToText(s string) string {
	s = strings.NewReplacer("<br>", "\n", "<br/>", "\n", "<br />", "\n", "</p>", "\n", "</div>", "\n").Replace(s)
	s = tagRE.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	s = strings.ReplaceAll(s, "\u00a0", " ")
	s = blankRE.ReplaceAllString(s, " ")
	s = linesRE.ReplaceAllString(s, "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.TrimSpace(strings.Join(lines, "\r\n"))
}

// preview returns Graph's bodyPreview: the first 255 characters of the text.
func preview(bodyHTML string) string {
	t := strings.Join(strings.Fields(htmlToText(bodyHTML)), " ")
	if r := []rune(t); len(r) > 255 {
		return string(r[:255])
	}
	return t
}

// wrapHTML makes content a full HTML document as Exchange stores bodies.
func wrapHTML(content string) string {
	if content == "" || strings.HasPrefix(strings.ToLower(strings.TrimSpace(content)), "<html") {
		return content
	}
	return "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head><body>" + content + "</body></html>"
}

// itemBody is Graph's itemBody.
type itemBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

// renderBody returns the body in the format the request prefers and
// notes the preference as applied.
func renderBody(w http.ResponseWriter, r *http.Request, bodyHTML string) itemBody {
	if v, ok := preferences(r)["outlook.body-content-type"]; ok {
		appliedOnce(w, `outlook.body-content-type="`+strings.ToLower(v)+`"`)
		if strings.EqualFold(v, "text") {
			return itemBody{ContentType: "text", Content: htmlToText(bodyHTML)}
		}
	}
	return itemBody{ContentType: "html", Content: wrapHTML(bodyHTML)}
}

// appliedOnce adds a Preference-Applied value unless it is there already.
func appliedOnce(w http.ResponseWriter, v string) {
	if !slices.Contains(w.Header().Values("Preference-Applied"), v) {
		appliedPreference(w, v)
	}
}

// emailAddress is Graph's recipient.
type emailAddress struct {
	EmailAddress struct {
		Name    string `json:"name"`
		Address string `json:"address"`
	} `json:"emailAddress"`
}

func recipient(a Address) emailAddress {
	var e emailAddress
	e.EmailAddress.Name = a.Name
	e.EmailAddress.Address = a.Address
	return e
}

func recipients(as []Address) []emailAddress {
	out := make([]emailAddress, 0, len(as))
	for _, a := range as {
		out = append(out, recipient(a))
	}
	return out
}

// Address is an e-mail address with a display name, as Graph's
// emailAddress. It is a plain value.
type Address struct {
	Name    string
	Address string
}

// Of returns the address of a user of the fake.
func Of(u *User) Address { return Address{Name: u.DisplayName, Address: u.Mail} }

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

// route registers h for pattern, a "/v1.0/..." route, and for the same
// path under /beta/, which the fake answers alike.
func (s *Server) route(pattern string, anyOf []string, h graphHandler) {
	s.handleGraph(pattern, anyOf, h)
	method, path, _ := strings.Cut(pattern, " ")
	s.handleGraph(method+" "+strings.Replace(path, "/v1.0/", "/beta/", 1), anyOf, h)
}
