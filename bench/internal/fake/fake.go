// Package fake is a loopback-only fake of the two Microsoft Graph delta
// endpoints the benchmark walks: GET /v1.0/me/calendarView/delta and
// GET /v1.0/me/mailFolders('{id}')/messages/delta.
//
// Pages are deterministic: PageSize items a page, each event with a ~2 KB
// HTML body, five attendees and a Teams join URL, each message with a
// ~2 KB HTML body when $select asks for it (or when there is no $select,
// as Graph does). Pages are patched from pre-rendered templates into a
// pooled buffer, so the server's own CPU and memory stay small next to the
// clients'. A Server is safe for concurrent use.
package fake

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// PageSize is the number of items of every page but the last.
const PageSize = 100

// Token is the bearer token the server accepts.
const Token = "bench-static-token"

// idWidth is the width of the zero-padded item number patched into IDs.
const idWidth = 10

// idMark marks an ID slot in a template; it is idWidth bytes long.
const idMark = "#IDSLOT##!"

// template is the items of one full page with the offsets of their ID slots.
type template struct {
	data  []byte
	slots []slot
	ends  []int // end offset of item j in data (exclusive), for a short last page
}

type slot struct{ off, item int }

func newTemplate(items []string) *template {
	t := &template{}
	for j, it := range items {
		if j > 0 {
			t.data = append(t.data, ',')
		}
		base := len(t.data)
		for i := 0; ; {
			k := strings.Index(it[i:], idMark)
			if k < 0 {
				break
			}
			t.slots = append(t.slots, slot{off: base + i + k, item: j})
			i += k + len(idMark)
		}
		t.data = append(t.data, it...)
		t.ends = append(t.ends, len(t.data))
	}
	return t
}

// render appends the first count items of the template, numbered from
// first, to buf.
func (t *template) render(buf []byte, first, count int) []byte {
	start := len(buf)
	buf = append(buf, t.data[:t.ends[count-1]]...)
	for _, s := range t.slots {
		if s.item >= count {
			break
		}
		dst := buf[start+s.off : start+s.off+idWidth]
		n := strconv.AppendInt(make([]byte, 0, idWidth), int64(first+s.item), 10)
		for k := range dst {
			dst[k] = '0'
		}
		copy(dst[idWidth-len(n):], n)
	}
	return buf
}

// Pages serves the delta rounds of N events and N messages.
type Pages struct {
	N        int
	calendar *template
	mailBody *template
	mailLean *template
	pool     sync.Pool
	// Requests counts the pages served.
	Requests atomic.Int64
}

// NewPages builds the page templates for a round of n items.
func NewPages(n int) *Pages {
	p := &Pages{N: n}
	ev := make([]string, PageSize)
	mb := make([]string, PageSize)
	ml := make([]string, PageSize)
	for j := range PageSize {
		ev[j] = event(j)
		mb[j] = message(j, true)
		ml[j] = message(j, false)
	}
	p.calendar = newTemplate(ev)
	p.mailBody = newTemplate(mb)
	p.mailLean = newTemplate(ml)
	p.pool.New = func() any { return new([]byte) }
	return p
}

// skiptoken renders an opaque-looking token for page i (Graph's are long
// base64 strings). Like Graph's, it carries the round's state: here whether
// the first request selected the body, since later links have no $select.
func skiptoken(i int, withBody bool) string {
	flag := "L"
	if withBody {
		flag = "B"
	}
	return fmt.Sprintf("%08d%sR0usmcCM996atia_s-8kFBXbmzHWNMUzcWwHx0bLi4vf7cVr5tk2wJV1zK3Sff", i, flag)
}

func pageOf(token string) (page int, withBody bool, err error) {
	if len(token) < 9 || (token[8] != 'B' && token[8] != 'L') {
		return 0, false, fmt.Errorf("bad skiptoken %q", token)
	}
	page, err = strconv.Atoi(token[:8])
	return page, token[8] == 'B', err
}

// AppendPage appends page i of the calendar ("calendar") or mail ("mail")
// round to buf; links start with base (".../v1.0/"). withBody says whether
// messages carry their body.
func (p *Pages) AppendPage(buf []byte, kind, base string, i int, withBody bool) []byte {
	pages := max(1, (p.N+PageSize-1)/PageSize)
	var t *template
	var link, ctx string
	switch kind {
	case "calendar":
		t, link, ctx = p.calendar, base+"me/calendarView/delta?", "Collection(event)"
	default:
		t, link, ctx = p.mailLean, base+"me/mailFolders('AQMkADAwATM0MGZmAS0yMmRiLTgyAGMALTAwAi0wMAoALgAAA5Wz')/messages/delta?", "Collection(message)"
		if withBody {
			t = p.mailBody
		}
	}
	buf = append(buf, `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#`...)
	buf = append(buf, ctx...)
	buf = append(buf, `",`...)
	if i+1 < pages {
		buf = append(buf, `"@odata.nextLink":"`...)
		buf = append(buf, link...)
		buf = append(buf, "$skiptoken="...)
		buf = append(buf, skiptoken(i+1, withBody)...)
	} else {
		buf = append(buf, `"@odata.deltaLink":"`...)
		buf = append(buf, link...)
		buf = append(buf, "$deltatoken="...)
		buf = append(buf, skiptoken(0, withBody)...)
	}
	buf = append(buf, `","value":[`...)
	if count := min(PageSize, p.N-i*PageSize); count > 0 {
		buf = t.render(buf, i*PageSize, count)
	}
	return append(buf, "]}"...)
}

// ServeHTTP serves the two delta endpoints under /v1.0/.
func (p *Pages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, `{"error":{"code":"BadRequest","message":"GET only"}}`, http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+Token {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"code":"InvalidAuthenticationToken","message":"Access token is empty."}}`))
		return
	}
	// Kiota-generated clients call the function as delta().
	path := strings.TrimSuffix(r.URL.Path, "()")
	q := r.URL.Query()
	var kind string
	switch {
	case path == "/v1.0/me/calendarView/delta":
		kind = "calendar"
		if q.Get("$skiptoken") == "" && q.Get("$deltatoken") == "" && (q.Get("startDateTime") == "" || q.Get("endDateTime") == "") {
			http.Error(w, `{"error":{"code":"ErrorInvalidParameter","message":"startDateTime and endDateTime are required"}}`, http.StatusBadRequest)
			return
		}
	case strings.HasPrefix(path, "/v1.0/me/mailFolders") && strings.HasSuffix(path, "/messages/delta"):
		kind = "mail"
	default:
		http.NotFound(w, r)
		return
	}
	page := 0
	sel := q.Get("$select")
	withBody := sel == "" || strings.Contains(","+sel+",", ",body,")
	if s := q.Get("$skiptoken"); s != "" {
		var err error
		if page, withBody, err = pageOf(s); err != nil {
			http.Error(w, `{"error":{"code":"BadRequest","message":"bad skiptoken"}}`, http.StatusBadRequest)
			return
		}
	}
	bp := p.pool.Get().(*[]byte)
	buf := p.AppendPage((*bp)[:0], kind, "https://"+r.Host+"/v1.0/", page, withBody)
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
	if strings.Contains(r.Header.Get("Prefer"), "odata.maxpagesize") {
		w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(PageSize))
	}
	_, _ = w.Write(buf)
	*bp = buf
	p.pool.Put(bp)
	p.Requests.Add(1)
}

// Server is the fake on a loopback TLS listener.
type Server struct {
	*Pages
	srv *httptest.Server
	// URL is the server's base URL, "https://127.0.0.1:port/v1.0/".
	URL string
	// CAPEM is the self-signed certificate clients must trust. It is valid
	// for 127.0.0.1, localhost and graph.microsoft.com.
	CAPEM []byte
}

// Start serves a round of n items on 127.0.0.1 over TLS (HTTP/2 offered).
func Start(n int) (*Server, error) {
	cert, pemBytes, err := selfSigned()
	if err != nil {
		return nil, err
	}
	pages := NewPages(n)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := httptest.NewUnstartedServer(pages)
	srv.Listener.Close()
	srv.Listener = ln
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	return &Server{Pages: pages, srv: srv, URL: srv.URL + "/v1.0/", CAPEM: pemBytes}, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "m365kit bench fake graph"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost", "graph.microsoft.com"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pemBytes, nil
}

// str renders s as a JSON string the way Graph does (HTML left unescaped).
func str(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

var people = [...][2]string{
	{"Adele Vance", "AdeleV@contoso.com"}, {"Alex Wilber", "AlexW@contoso.com"}, {"Megan Bowen", "MeganB@contoso.com"},
	{"Lee Gu", "LeeG@fabrikam.com"}, {"Nestor Wilke", "NestorW@fabrikam.com"}, {"Patti Fernandez", "PattiF@contoso.com"},
	{"Isaiah Langer", "IsaiahL@northwind.com"}, {"Lynne Robbins", "LynneR@contoso.com"}, {"Diego Siciliani", "DiegoS@woodgrove.com"},
}

var subjects = [...]string{
	"Pipeline review with Fabrikam", "Quarterly pricing review for the 2026 renewal", "Weekly sync: platform team",
	"Customer onboarding: Northwind", "Design review: notetaker consent flow", "1:1 Adele / Megan", "Incident retro #4821",
}

// htmlBody is a ~2 KB Outlook HTML body with a Teams invitation to
// joinURL.
func htmlBody(j int, joinURL string) string {
	var b strings.Builder
	b.WriteString(`<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><meta name="Generator" content="Microsoft Exchange Server"></head><body>`)
	b.WriteString(`<div style="font-family:Calibri,Arial,Helvetica,sans-serif; font-size:12pt; color:rgb(0,0,0)">Hi all,<br><br>`)
	b.WriteString(`Agenda for ` + subjects[j%len(subjects)] + `: pricing, timeline, open risks, next steps. Please review the deck shared in the channel before we meet and bring your numbers for the forecast.`)
	b.WriteString(`<ul><li>Pricing: volume discount tiers and the renewal date</li><li>Timeline: pilot in December, rollout in Q1</li><li>Risks: data residency review, SSO configuration</li></ul></div>`)
	b.WriteString(`<div style="width:100%"><span style="white-space:nowrap; color:#5F5F5F; opacity:.36">________________________________________________________________________________</span></div>`)
	b.WriteString(`<div class="me-email-text" lang="en-US" style="color:#242424; font-family:'Segoe UI','Helvetica Neue',Helvetica,Arial,sans-serif"><div style="margin-top:24px; margin-bottom:20px"><span style="font-size:24px; color:#252424">Microsoft Teams meeting</span></div>`)
	b.WriteString(`<div style="margin-bottom:20px"><div style="margin-top:0px; margin-bottom:0px; font-weight:bold"><span style="font-size:14px; color:#252424">Join on your computer, mobile app or room device</span></div>`)
	b.WriteString(`<a href="` + joinURL + `" target="_blank" rel="noreferrer noopener" style="font-size:14px; font-family:'Segoe UI Semibold','Segoe UI','Helvetica Neue',Helvetica,Arial,sans-serif; text-decoration:underline; color:#6264a7">Click here to join the meeting</a></div>`)
	b.WriteString(`<div style="margin-bottom:20px; margin-top:20px"><div style="margin-bottom:4px"><span style="font-size:14px; color:#252424">Meeting ID: <span style="font-size:16px; color:#252424">259 882 031 ` + strconv.Itoa(100+j) + `</span></span><br><span style="font-size:14px; color:#252424">Passcode: </span><span style="font-size:16px; color:#252424">Ab3Cd4</span></div>`)
	b.WriteString(`<div style="font-size:14px"><a href="https://www.microsoft.com/en-us/microsoft-teams/download-app" style="font-size:14px; text-decoration:underline; color:#6264a7">Download Teams</a> | <a href="https://www.microsoft.com/microsoft-teams/join-a-meeting" style="font-size:14px; text-decoration:underline; color:#6264a7">Join on the web</a></div></div>`)
	b.WriteString(`<div style="margin-bottom:24px; margin-top:20px"><a href="https://aka.ms/JoinTeamsMeeting" style="font-size:14px; text-decoration:underline; color:#6264a7">Learn more</a> | <a href="https://teams.microsoft.com/meetingOptions/" style="font-size:14px; text-decoration:underline; color:#6264a7">Meeting options</a></div></div></body></html>`)
	return b.String()
}

func joinURL() string {
	return "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NzIyNzhlMGEtM2YyZC00ZmY0LTlhNzUt" + idMark +
		"%40thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%2c%22Oid%22%3a%22bc55b173-cff6-457d-b7a1-64bda7d7581a%22%7d"
}

func emailAddress(p [2]string) string {
	return `{"name":` + str(p[0]) + `,"address":` + str(p[1]) + `}`
}

// event renders the event at position j of a page.
func event(j int) string {
	day := 1 + j%30
	hour := 8 + j%9
	start := fmt.Sprintf("2026-11-%02dT%02d:00:00.0000000", day, hour)
	end := fmt.Sprintf("2026-11-%02dT%02d:30:00.0000000", day, hour+1)
	join := joinURL()
	body := htmlBody(j, join)
	org := people[j%len(people)]
	var att strings.Builder
	for k := range 5 {
		p := people[(j+k+1)%len(people)]
		typ, resp := "required", "accepted"
		switch k {
		case 3:
			typ, resp = "optional", "tentativelyAccepted"
		case 4:
			typ, resp = "optional", "none"
		}
		if k > 0 {
			att.WriteByte(',')
		}
		t := "2026-10-30T10:37:00Z"
		if resp == "none" {
			t = "0001-01-01T00:00:00Z"
		}
		att.WriteString(`{"type":"` + typ + `","status":{"response":"` + resp + `","time":"` + t + `"},"emailAddress":` + emailAddress(p) + `}`)
	}
	preview := "Hi all, Agenda for " + subjects[j%len(subjects)] + ": pricing, timeline, open risks, next steps.\r\n________________________________________________________________________________\r\nMicrosoft Teams meeting\r\nJoin on your computer, mobile app or room device\r\nClick here to join the meeting"
	return `{"@odata.type":"#microsoft.graph.event","@odata.etag":"W/\"ZlnW4RIAV06KYYwlrfNZvQAALfZeRQ==\"",` +
		`"id":"AAMkAGI1AGRhZjRjLWQ2ZDctNDc5Zi04NGFjLTRlYzUwNWZmYzA4NABGAAAAAADbP2ZOXOuKSZZzH_` + idMark + `=",` +
		`"createdDateTime":"2026-10-30T03:00:50.7579581Z","lastModifiedDateTime":"2026-10-30T03:00:51.245372Z",` +
		`"changeKey":"ZlnW4RIAV06KYYwlrfNZvQAALfZeRQ==","categories":["Customer"],"transactionId":null,` +
		`"originalStartTimeZone":"Pacific Standard Time","originalEndTimeZone":"Pacific Standard Time",` +
		`"iCalUId":"040000008200E00074C5B7101A82E00800000000DA2B357D94B5D20100000000000000001000000` + idMark + `",` +
		`"reminderMinutesBeforeStart":15,"isReminderOn":true,"hasAttachments":false,"subject":` + str(subjects[j%len(subjects)]) + `,` +
		`"bodyPreview":` + str(preview) + `,"importance":"normal","sensitivity":"normal","isAllDay":false,"isCancelled":false,` +
		`"isOrganizer":false,"responseRequested":true,"seriesMasterId":null,"showAs":"busy","type":"singleInstance",` +
		`"webLink":"https://outlook.office365.com/owa/?itemid=AAMkAGI1AGRhZjRjLWQ2ZDctNDc5Zi04NGFj` + idMark + `%3D&exvsurl=1&path=/calendar/item",` +
		`"onlineMeetingUrl":null,"isOnlineMeeting":true,"onlineMeetingProvider":"teamsForBusiness","allowNewTimeProposals":true,` +
		`"occurrenceId":null,"isDraft":false,"hideAttendees":false,` +
		`"responseStatus":{"response":"accepted","time":"2026-10-30T10:37:00Z"},` +
		`"body":{"contentType":"html","content":` + str(body) + `},` +
		`"start":{"dateTime":"` + start + `","timeZone":"UTC"},"end":{"dateTime":"` + end + `","timeZone":"UTC"},` +
		`"location":{"displayName":"Microsoft Teams Meeting","locationType":"default","uniqueId":"Microsoft Teams Meeting","uniqueIdType":"private"},` +
		`"locations":[{"displayName":"Microsoft Teams Meeting","locationType":"default","uniqueIdType":"unknown"}],"recurrence":null,` +
		`"attendees":[` + att.String() + `],` +
		`"organizer":{"emailAddress":` + emailAddress(org) + `},` +
		`"onlineMeeting":{"joinUrl":` + str(join) + `}}`
}

// message renders the message at position j of a page.
func message(j int, withBody bool) string {
	from := people[j%len(people)]
	var to strings.Builder
	for k := range 3 {
		if k > 0 {
			to.WriteByte(',')
		}
		to.WriteString(`{"emailAddress":` + emailAddress(people[(j+k+1)%len(people)]) + `}`)
	}
	body := ""
	if withBody {
		body = `,"body":{"contentType":"html","content":` + str(htmlBody(j, joinURL())) + `}`
	}
	return `{"@odata.type":"#microsoft.graph.message","@odata.etag":"W/\"CQAAABYAAAARn2vdzPFjSbaPPxzjlzOTAAASsKZz\"",` +
		`"id":"AAMkAGI1AGRhZjRjLWQ2ZDctNDc5Zi04NGFjLTRlYzUwNWZmYzA4NABGAAAAAADbP2ZOXOuKSZZzH_BwCXTM_` + idMark + `=",` +
		`"internetMessageId":"<MWHPR6E1BE060` + idMark + `@MWHPR1120.namprd22.prod.outlook.com>",` +
		`"conversationId":"AAQkADOUpag6yWs` + strconv.Itoa(j%17) + `=",` +
		`"subject":` + str("RE: "+subjects[j%len(subjects)]) + `,` +
		`"from":{"emailAddress":` + emailAddress(from) + `},"sender":{"emailAddress":` + emailAddress(from) + `},` +
		`"toRecipients":[` + to.String() + `],"ccRecipients":[{"emailAddress":` + emailAddress(people[(j+5)%len(people)]) + `}],"bccRecipients":[],"replyTo":[],` +
		`"receivedDateTime":"2026-11-` + fmt.Sprintf("%02d", 1+j%25) + `T09:15:08Z","sentDateTime":"2026-11-` + fmt.Sprintf("%02d", 1+j%25) + `T09:15:06Z",` +
		`"bodyPreview":"Hi Adele, following up on our call: attached is the revised quote with the volume discount we discussed. Let me know if the terms work for your team and we can send the contract for signature this week.",` +
		`"hasAttachments":` + strconv.FormatBool(j%4 == 0) + `,"importance":"normal","categories":[],"isDraft":false,"isRead":` + strconv.FormatBool(j%2 == 0) + `,` +
		`"parentFolderId":"AQMkADAwATM0MGZmAS0yMmRiLTgyAGMALTAwAi0wMAoALgAAA5Wz",` +
		`"webLink":"https://outlook.office365.com/owa/?ItemID=AAMkAGI1AGRhZjRj` + idMark + `%3D&exvsurl=1&viewmodel=ReadMessageItem"` +
		body + `}`
}
