package graphtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"html"
	"net/http"
	"regexp"
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
