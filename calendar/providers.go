package calendar

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
)

// matchProvider recognises a join link and builds its canonical form.
func matchProvider(u *url.URL) (MeetingLink, bool) {
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	switch strings.ToLower(u.Scheme) {
	case "zoommtg", "zoomus":
		return zoomApp(u)
	case "http", "https":
	default:
		return MeetingLink{}, false
	}
	switch {
	case isTeamsHost(host):
		return teams(u, host, Teams)
	case host == "teams.live.com":
		return teams(u, host, TeamsLive)
	case hostIs(host, "zoom.us", "zoom.com", "zoomgov.com", "zoom.com.cn", "zoom-x.de"):
		return zoom(u, host)
	case host == "meet.google.com", host == "g.co":
		return googleMeet(u, host)
	case hostIs(host, "webex.com"):
		return webex(u, host)
	case hostIs(host, "gotomeeting.com", "goto.com", "gotomeet.me"):
		return gotoMeeting(u, host)
	case hostIs(host, "gotowebinar.com"):
		return gotoWebinar(u, host)
	case hostIs(host, "bluejeans.com"):
		return bluejeans(u, host)
	case hostIs(host, "chime.aws"):
		return chime(u, host)
	case hostIs(host, "whereby.com"):
		return whereby(u, host)
	case hostIs(host, "ringcentral.com"):
		return ringCentral(u, host)
	case host == "meet.jit.si", strings.HasPrefix(host, "jitsi."):
		return roomLink(Jitsi, host, u, 1)
	case hostIs(host, "8x8.vc"):
		return eightByEight(u, host)
	case strings.HasPrefix(host, "meeting.zoho."), strings.HasPrefix(host, "meet.zoho."), strings.HasPrefix(host, "meeting.zohopublic."):
		return zoho(u, host)
	case hostIs(host, "lync.com"), host == "join.skype.com", host == "join.microsoft.com":
		return skype(u, host)
	case host == "app.slack.com":
		return slackHuddle(u)
	case hostIs(host, "around.co"):
		return around(u)
	case host == "app.livestorm.co":
		return livestorm(u)
	case host == "join.gong.io":
		return gong(u)
	case host == "go.chorus.ai":
		return roomLink(Chorus, host, u, 1)
	}
	return MeetingLink{}, false
}

// hostIs reports whether host is one of domains or a subdomain of one.
func hostIs(host string, domains ...string) bool {
	for _, d := range domains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// pathSegments splits a decoded path into its non-empty segments.
func pathSegments(p string) []string {
	var out []string
	for s := range strings.SplitSeq(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// safeToken reports an ID or passcode made of URL-safe characters only.
func safeToken(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
			return false
		}
	}
	return true
}

// escapeAll percent-encodes every byte outside A-Z a-z 0-9 - _ . ~ with
// lower-case hex, the way Teams writes meetup-join links.
func escapeAll(s string) string {
	const hexdigits = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdigits[c>>4])
		b.WriteByte(hexdigits[c&15])
	}
	return b.String()
}

// --- Microsoft Teams ---

func isTeamsHost(h string) bool {
	switch h {
	case "teams.microsoft.com", "teams.microsoft.us", "gov.teams.microsoft.us", "dod.teams.microsoft.us",
		"teams.cloud.microsoft", "www.teams.microsoft.com":
		return true
	}
	return false
}

// teams handles meetup-join links and their launcher, v2, fragment and
// light-meetings forms, and /meet/<id>?p= links.
func teams(u *url.URL, host string, p Provider) (MeetingLink, bool) {
	return teamsDepth(u, host, p, 0)
}

func teamsDepth(u *url.URL, host string, p Provider, depth int) (MeetingLink, bool) {
	if depth > 3 {
		return MeetingLink{}, false
	}
	path := strings.ToLower(u.Path)
	// A route in the fragment: /_#/l/meetup-join/…, /v2/?meetingjoin=true#/l/meetup-join/…
	if strings.HasPrefix(u.Fragment, "/l/meetup-join/") || strings.HasPrefix(u.Fragment, "/meet/") {
		inner, err := url.Parse("https://" + host + u.EscapedFragment())
		if err != nil {
			return MeetingLink{}, false
		}
		return teamsDepth(inner, host, p, depth+1)
	}
	switch {
	case strings.HasPrefix(path, "/l/meetup-join/"):
		return teamsMeetupJoin(u, host, p)
	case strings.HasPrefix(path, "/meet/"):
		segs := pathSegments(u.Path)
		if len(segs) < 2 || !allDigits(segs[1]) {
			return MeetingLink{}, false
		}
		return teamsMeet(host, p, segs[1], u.Query().Get("p"))
	case path == "/dl/launcher/launcher.html" || path == "/dl/launcher/launcher":
		target := u.Query().Get("url")
		if target == "" {
			return MeetingLink{}, false
		}
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		inner, err := url.Parse("https://" + host + target)
		if err != nil {
			return MeetingLink{}, false
		}
		return teamsDepth(inner, host, p, depth+1)
	case strings.HasPrefix(path, "/light-meetings/launch"):
		return teamsLightMeeting(u, host, p)
	}
	return MeetingLink{}, false
}

func teamsMeet(host string, p Provider, id, pass string) (MeetingLink, bool) {
	if !allDigits(id) || (pass != "" && !safeToken(pass)) {
		return MeetingLink{}, false
	}
	canonical := "https://" + host + "/meet/" + id
	if pass != "" {
		canonical += "?p=" + pass
	}
	return MeetingLink{Provider: p, URL: canonical, MeetingID: id, Passcode: pass}, true
}

type teamsContext struct {
	Tid string `json:"Tid"`
	Oid string `json:"Oid"`
}

func teamsMeetupJoin(u *url.URL, host string, p Provider) (MeetingLink, bool) {
	rest := u.Path[len("/l/meetup-join/"):]
	segs := pathSegments(rest)
	if len(segs) == 0 || !strings.HasPrefix(segs[0], "19:") || !strings.Contains(segs[0], "@thread.") {
		return MeetingLink{}, false
	}
	thread := segs[0]
	msg := "0"
	if len(segs) > 1 && allDigits(segs[1]) {
		msg = segs[1]
	}
	var ctx teamsContext
	if c := u.Query().Get("context"); c != "" {
		// Best effort: a mangled context still leaves a usable thread link.
		_ = json.Unmarshal([]byte(c), &ctx)
	}
	return teamsThreadLink(host, p, thread, msg, ctx.Tid, ctx.Oid), true
}

func teamsThreadLink(host string, p Provider, thread, msg, tid, oid string) MeetingLink {
	if !safeToken(tid) {
		tid = ""
	}
	if !safeToken(oid) {
		oid = ""
	}
	canonical := "https://" + host + "/l/meetup-join/" + escapeAll(thread) + "/" + msg
	if tid != "" || oid != "" {
		ctx := "{"
		if tid != "" {
			ctx += `"Tid":"` + tid + `"`
		}
		if oid != "" {
			if tid != "" {
				ctx += ","
			}
			ctx += `"Oid":"` + oid + `"`
		}
		ctx += "}"
		canonical += "?context=" + escapeAll(ctx)
	}
	return MeetingLink{Provider: p, URL: canonical, TenantID: tid, OrganizerID: oid, ThreadID: thread, MessageID: msg}
}

// teamsLightMeeting decodes the coords parameter of the light-meetings
// page: base64 JSON naming either the conversation (thread, tenant,
// organiser) or a meeting code and passcode.
func teamsLightMeeting(u *url.URL, host string, p Provider) (MeetingLink, bool) {
	coords := strings.TrimRight(u.Query().Get("coords"), "=")
	if coords == "" {
		return MeetingLink{}, false
	}
	raw, err := base64.RawStdEncoding.DecodeString(coords)
	if err != nil {
		if raw, err = base64.RawURLEncoding.DecodeString(coords); err != nil {
			return MeetingLink{}, false
		}
	}
	var c struct {
		ConversationID string `json:"conversationId"`
		TenantID       string `json:"tenantId"`
		OrganizerID    string `json:"organizerId"`
		MessageID      string `json:"messageId"`
		MeetingCode    string `json:"meetingCode"`
		Passcode       string `json:"passcode"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return MeetingLink{}, false
	}
	switch {
	case strings.HasPrefix(c.ConversationID, "19:"):
		msg := c.MessageID
		if !allDigits(msg) {
			msg = "0"
		}
		// Meetup-join links live on the business host even when the
		// light-meetings page was served from teams.live.com.
		h := host
		if p == TeamsLive {
			h, p = "teams.microsoft.com", Teams
		}
		return teamsThreadLink(h, p, c.ConversationID, msg, c.TenantID, c.OrganizerID), true
	case c.MeetingCode != "":
		return teamsMeet(host, p, c.MeetingCode, c.Passcode)
	}
	return MeetingLink{}, false
}

// --- Zoom ---

func zoom(u *url.URL, host string) (MeetingLink, bool) {
	segs := pathSegments(u.Path)
	if len(segs) < 2 {
		return MeetingLink{}, false
	}
	base := "zoom.us"
	site := strings.TrimSuffix(host, ".zoom.us")
	switch {
	case hostIs(host, "zoomgov.com"):
		base, site = "zoomgov.com", strings.TrimSuffix(host, ".zoomgov.com")
	case hostIs(host, "zoom.com.cn"):
		base, site = "zoom.com.cn", strings.TrimSuffix(host, ".zoom.com.cn")
	case hostIs(host, "zoom-x.de"):
		base, site = "zoom-x.de", strings.TrimSuffix(host, ".zoom-x.de")
	case hostIs(host, "zoom.com"):
		site = strings.TrimSuffix(host, ".zoom.com")
	}
	if site == host || site == "www" || site == "app" {
		site = ""
	}
	q := u.Query()
	var id, kind string
	switch strings.ToLower(segs[0]) {
	case "j", "s", "join":
		id, kind = segs[1], "j"
	case "w":
		id, kind = segs[1], "w"
	case "wc":
		// /wc/join/<id>, /wc/<id>/join, /wc/<id>/start
		if strings.EqualFold(segs[1], "join") && len(segs) > 2 {
			id = segs[2]
		} else {
			id = segs[1]
		}
		kind = "j"
	case "my":
		name := strings.ToLower(segs[1])
		if !safeToken(name) {
			return MeetingLink{}, false
		}
		h := base
		if site != "" {
			h = site + "." + base
		}
		return MeetingLink{Provider: Zoom, URL: "https://" + h + "/my/" + name, MeetingID: name, Site: site}, true
	default:
		return MeetingLink{}, false
	}
	if !allDigits(id) || len(id) < 9 || len(id) > 13 {
		return MeetingLink{}, false
	}
	return zoomLink(base, site, kind, id, q.Get("pwd"), q.Get("tk"))
}

func zoomLink(base, site, kind, id, pwd, tk string) (MeetingLink, bool) {
	canonical := "https://" + base + "/" + kind + "/" + id
	var params []string
	if pwd != "" && safeToken(pwd) {
		params = append(params, "pwd="+pwd)
	} else {
		pwd = ""
	}
	if tk != "" && safeToken(tk) {
		params = append(params, "tk="+tk)
	}
	if len(params) > 0 {
		canonical += "?" + strings.Join(params, "&")
	}
	return MeetingLink{Provider: Zoom, URL: canonical, MeetingID: id, Passcode: pwd, Site: site}, true
}

// zoomApp handles zoommtg://zoom.us/join?action=join&confno=…&pwd=….
func zoomApp(u *url.URL) (MeetingLink, bool) {
	q := u.Query()
	id := q.Get("confno")
	if !allDigits(id) || len(id) < 9 || len(id) > 13 {
		return MeetingLink{}, false
	}
	base := "zoom.us"
	if hostIs(strings.ToLower(u.Hostname()), "zoomgov.com") {
		base = "zoomgov.com"
	}
	return zoomLink(base, "", "j", id, q.Get("pwd"), q.Get("tk"))
}

// --- Google Meet ---

func googleMeet(u *url.URL, host string) (MeetingLink, bool) {
	segs := pathSegments(u.Path)
	if host == "g.co" {
		if len(segs) != 2 || segs[0] != "meet" {
			return MeetingLink{}, false
		}
		segs = segs[1:]
	}
	if len(segs) > 0 && segs[0] == "_meet" {
		segs = segs[1:]
	}
	if len(segs) == 2 && segs[0] == "lookup" && safeToken(segs[1]) {
		return MeetingLink{Provider: GoogleMeet, URL: "https://meet.google.com/lookup/" + segs[1], MeetingID: segs[1]}, true
	}
	if len(segs) != 1 {
		return MeetingLink{}, false
	}
	code := strings.ToLower(segs[0])
	letters := strings.ReplaceAll(code, "-", "")
	if len(letters) != 10 || !allLower(letters) {
		return MeetingLink{}, false
	}
	if code != letters && code != letters[:3]+"-"+letters[3:7]+"-"+letters[7:] {
		return MeetingLink{}, false
	}
	code = letters[:3] + "-" + letters[3:7] + "-" + letters[7:]
	return MeetingLink{Provider: GoogleMeet, URL: "https://meet.google.com/" + code, MeetingID: code}, true
}

func allLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return s != ""
}

// --- Webex ---

func webex(u *url.URL, host string) (MeetingLink, bool) {
	segs := pathSegments(u.Path)
	site := strings.TrimSuffix(strings.TrimSuffix(host, ".webex.com"), ".my")
	if site == host || site == "www" || site == "web" || site == "signin" {
		site = ""
	}
	if i := strings.IndexByte(site, '.'); i >= 0 {
		site = site[:i]
	}
	q := u.Query()
	mtid := q.Get("MTID")
	if mtid == "" {
		mtid = q.Get("mtid")
	}
	last := ""
	if len(segs) > 0 {
		last = strings.ToLower(segs[len(segs)-1])
	}
	switch {
	case last == "j.php" || last == "e.php" || (len(segs) > 0 && (segs[0] == "wbxmjs" || segs[0] == "webappng")):
		if !safeToken(mtid) {
			return MeetingLink{}, false
		}
		path := "/" + strings.Join(segs, "/")
		if segs[0] == "wbxmjs" || segs[0] == "webappng" {
			s := site
			if s == "" {
				s = q.Get("siteurl")
			}
			if !safeToken(s) {
				return MeetingLink{}, false
			}
			path = "/" + s + "/j.php"
			if site == "" {
				site = s
			}
		}
		return MeetingLink{Provider: Webex, URL: "https://" + host + path + "?MTID=" + mtid, MeetingID: mtid, Site: site}, true
	case len(segs) >= 2 && (strings.EqualFold(segs[len(segs)-2], "meet") || strings.EqualFold(segs[len(segs)-2], "join")):
		room := strings.ToLower(segs[len(segs)-1])
		if !safeToken(room) {
			return MeetingLink{}, false
		}
		return MeetingLink{Provider: Webex, URL: "https://" + host + "/meet/" + room, MeetingID: room, Site: site}, true
	}
	return MeetingLink{}, false
}

// --- GoTo ---

func gotoMeeting(u *url.URL, host string) (MeetingLink, bool) {
	segs := pathSegments(u.Path)
	q := u.Query()
	switch {
	case hostIs(host, "gotomeet.me"):
		if len(segs) != 1 || !safeToken(segs[0]) {
			return MeetingLink{}, false
		}
		name := strings.ToLower(segs[0])
		return MeetingLink{Provider: GoToMeeting, URL: "https://gotomeet.me/" + name, MeetingID: name}, true
	case host == "meet.goto.com":
		if len(segs) == 0 {
			return MeetingLink{}, false
		}
		id := segs[0]
		if strings.EqualFold(id, "join") && len(segs) > 1 {
			id = segs[1]
		}
		if !safeToken(id) || reservedRoom(strings.ToLower(id)) {
			return MeetingLink{}, false
		}
		if !allDigits(id) {
			id = strings.ToLower(id)
		}
		return MeetingLink{Provider: GoToMeeting, URL: "https://meet.goto.com/" + id, MeetingID: id}, true
	case hostIs(host, "gotomeeting.com"):
		id := ""
		if len(segs) >= 2 && strings.EqualFold(segs[0], "join") {
			id = segs[1]
		} else if m := firstNonEmpty(q.Get("meetingId"), q.Get("meetingid")); m != "" {
			id = m
		}
		if !allDigits(id) {
			return MeetingLink{}, false
		}
		return MeetingLink{Provider: GoToMeeting, URL: "https://meet.goto.com/" + id, MeetingID: id}, true
	}
	return MeetingLink{}, false
}

func gotoWebinar(u *url.URL, host string) (MeetingLink, bool) {
	segs := pathSegments(u.Path)
	if len(segs) < 2 || !strings.EqualFold(segs[0], "join") || !allDigits(segs[1]) {
		return MeetingLink{}, false
	}
	path := "/join/" + segs[1]
	if len(segs) > 2 && allDigits(segs[2]) {
		path += "/" + segs[2]
	}
	return MeetingLink{Provider: GoToWebinar, URL: "https://global.gotowebinar.com" + path, MeetingID: segs[1]}, true
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// --- others ---

func bluejeans(u *url.URL, host string) (MeetingLink, bool) {
	segs := pathSegments(u.Path)
	site := strings.TrimSuffix(host, ".bluejeans.com")
	if site == host || site == "www" {
		site = ""
	}
	if site == "primetime" && len(segs) == 3 && segs[0] == "a2m" && segs[1] == "live-event" && safeToken(segs[2]) {
		return MeetingLink{Provider: BlueJeans, URL: "https://primetime.bluejeans.com/a2m/live-event/" + segs[2], MeetingID: segs[2]}, true
	}
	if len(segs) == 0 || !allDigits(segs[0]) {
		return MeetingLink{}, false
	}
	l := MeetingLink{Provider: BlueJeans, URL: "https://bluejeans.com/" + segs[0], MeetingID: segs[0], Site: site}
	if len(segs) > 1 && allDigits(segs[1]) {
		l.Passcode = segs[1]
		l.URL += "/" + segs[1]
	}
	return l, true
}

func chime(u *url.URL, host string) (MeetingLink, bool) {
	segs := pathSegments(u.Path)
	id := ""
	switch {
	case host == "chime.aws" && len(segs) == 1:
		id = segs[0]
	case host == "app.chime.aws" && len(segs) >= 1 && segs[0] == "meetings":
		id = u.Query().Get("pin")
		if id == "" && len(segs) > 1 {
			id = segs[1]
		}
	}
	if !allDigits(id) {
		return MeetingLink{}, false
	}
	return MeetingLink{Provider: Chime, URL: "https://chime.aws/" + id, MeetingID: id}, true
}

// reservedRoom lists first path segments of provider sites that are pages,
// not rooms.
func reservedRoom(s string) bool {
	switch s {
	case "install", "user", "information", "org", "login", "signin", "signup", "pricing", "blog", "terms", "privacy",
		"embed", "static", "libs", "help", "support", "download", "downloads", "about", "contact", "features",
		"api", "app", "settings", "dashboard", "external_api.js", "images", "css", "js", "sounds":
		return true
	}
	return false
}

// roomLink handles https://host/<room> links (Jitsi, Chorus).
func roomLink(p Provider, host string, u *url.URL, n int) (MeetingLink, bool) {
	segs := pathSegments(u.Path)
	if len(segs) != n || !safeToken(segs[0]) || reservedRoom(strings.ToLower(segs[0])) {
		return MeetingLink{}, false
	}
	return MeetingLink{Provider: p, URL: "https://" + host + "/" + segs[0], MeetingID: segs[0]}, true
}

func whereby(u *url.URL, host string) (MeetingLink, bool) {
	segs := pathSegments(u.Path)
	if len(segs) != 1 || !safeToken(segs[0]) || reservedRoom(strings.ToLower(segs[0])) {
		return MeetingLink{}, false
	}
	room := strings.ToLower(segs[0])
	site := strings.TrimSuffix(host, ".whereby.com")
	if site == host || site == "www" {
		site = ""
	}
	return MeetingLink{Provider: Whereby, URL: "https://" + host + "/" + room, MeetingID: room, Site: site}, true
}

func ringCentral(u *url.URL, host string) (MeetingLink, bool) {
	segs := pathSegments(u.Path)
	var id, path string
	switch {
	case host == "meetings.ringcentral.com" && len(segs) == 2 && segs[0] == "j" && allDigits(segs[1]):
		id, path = segs[1], "/j/"+segs[1]
	case host == "meetings.ringcentral.com" && len(segs) == 2 && segs[0] == "my" && safeToken(segs[1]):
		id, path = strings.ToLower(segs[1]), "/my/"+strings.ToLower(segs[1])
	case host == "v.ringcentral.com" && len(segs) == 2 && segs[0] == "join" && allDigits(segs[1]):
		id, path = segs[1], "/join/"+segs[1]
	case host == "video.ringcentral.com" && len(segs) == 1 && allDigits(segs[0]):
		id, path = segs[0], "/"+segs[0]
	case host == "video.ringcentral.com" && len(segs) == 2 && segs[0] == "join" && allDigits(segs[1]):
		id, path = segs[1], "/join/"+segs[1]
	default:
		return MeetingLink{}, false
	}
	l := MeetingLink{Provider: RingCentral, URL: "https://" + host + path, MeetingID: id}
	if pwd := u.Query().Get("pwd"); pwd != "" && safeToken(pwd) {
		l.Passcode = pwd
		l.URL += "?pwd=" + pwd
	}
	return l, true
}

func eightByEight(u *url.URL, host string) (MeetingLink, bool) {
	segs := pathSegments(u.Path)
	if len(segs) == 0 || len(segs) > 2 {
		return MeetingLink{}, false
	}
	for _, s := range segs {
		if !safeToken(s) || reservedRoom(strings.ToLower(s)) {
			return MeetingLink{}, false
		}
	}
	l := MeetingLink{Provider: EightByEight, URL: "https://8x8.vc/" + strings.Join(segs, "/"), MeetingID: segs[len(segs)-1]}
	if len(segs) == 2 {
		l.Site = segs[0]
	}
	return l, true
}

func zoho(u *url.URL, host string) (MeetingLink, bool) {
	segs := pathSegments(u.Path)
	if key := u.Query().Get("key"); key != "" {
		if !allDigits(key) || len(segs) == 0 || !strings.EqualFold(segs[len(segs)-1], "join") {
			return MeetingLink{}, false
		}
		return MeetingLink{Provider: ZohoMeeting, URL: "https://" + host + "/meeting/join?key=" + key, MeetingID: key}, true
	}
	if strings.HasPrefix(host, "meet.zoho.") && len(segs) == 1 && safeToken(segs[0]) && strings.Contains(segs[0], "-") {
		code := strings.ToLower(segs[0])
		return MeetingLink{Provider: ZohoMeeting, URL: "https://" + host + "/" + code, MeetingID: code}, true
	}
	return MeetingLink{}, false
}

func skype(u *url.URL, host string) (MeetingLink, bool) {
	segs := pathSegments(u.Path)
	switch {
	case host == "join.skype.com" && len(segs) == 1 && safeToken(segs[0]):
		return MeetingLink{Provider: SkypeForBusiness, URL: "https://join.skype.com/" + segs[0], MeetingID: segs[0]}, true
	case host == "join.microsoft.com" && len(segs) == 3 && segs[0] == "meet" && safeToken(segs[2]):
		return MeetingLink{Provider: SkypeForBusiness, URL: "https://join.microsoft.com/meet/" + strings.ToLower(segs[1]) + "/" + segs[2], MeetingID: segs[2]}, true
	case hostIs(host, "lync.com") && strings.HasPrefix(host, "meet") && len(segs) == 3 && safeToken(segs[2]):
		return MeetingLink{Provider: SkypeForBusiness, URL: "https://" + host + "/" + strings.ToLower(segs[0]) + "/" + strings.ToLower(segs[1]) + "/" + segs[2], MeetingID: segs[2], Site: strings.ToLower(segs[0])}, true
	}
	return MeetingLink{}, false
}

func slackHuddle(u *url.URL) (MeetingLink, bool) {
	segs := pathSegments(u.Path)
	if len(segs) < 3 || segs[0] != "huddle" || !safeToken(segs[1]) || !safeToken(segs[2]) {
		return MeetingLink{}, false
	}
	return MeetingLink{Provider: SlackHuddle, URL: "https://app.slack.com/huddle/" + segs[1] + "/" + segs[2], MeetingID: segs[2], Site: segs[1]}, true
}

func around(u *url.URL) (MeetingLink, bool) {
	segs := pathSegments(u.Path)
	if len(segs) != 2 || segs[0] != "r" || !safeToken(segs[1]) {
		return MeetingLink{}, false
	}
	room := strings.ToLower(segs[1])
	return MeetingLink{Provider: Around, URL: "https://around.co/r/" + room, MeetingID: room}, true
}

func livestorm(u *url.URL) (MeetingLink, bool) {
	segs := pathSegments(u.Path)
	if len(segs) < 2 || segs[0] != "p" || !safeToken(segs[1]) {
		return MeetingLink{}, false
	}
	l := MeetingLink{Provider: Livestorm, URL: "https://app.livestorm.co/p/" + segs[1] + "/live", MeetingID: segs[1]}
	if s := u.Query().Get("s"); s != "" && safeToken(s) {
		l.URL += "?s=" + s
	}
	return l, true
}

func gong(u *url.URL) (MeetingLink, bool) {
	segs := pathSegments(u.Path)
	if len(segs) != 2 || !safeToken(segs[0]) || !safeToken(segs[1]) {
		return MeetingLink{}, false
	}
	id := strings.ToLower(segs[0] + "/" + segs[1])
	l := MeetingLink{Provider: Gong, URL: "https://join.gong.io/" + id, MeetingID: id, Site: strings.ToLower(segs[0])}
	if tkn := u.Query().Get("tkn"); tkn != "" && safeToken(tkn) {
		l.URL += "?tkn=" + tkn
	}
	return l, true
}
