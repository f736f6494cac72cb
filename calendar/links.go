package calendar

import (
	"html"
	"net/url"
	"strings"
	"unicode"
)

// Provider names an online-meeting service.
type Provider string

// The providers FindMeetingLink recognises.
const (
	Teams            Provider = "teams"      // Microsoft Teams (work or school, GCC, GCC High, DoD)
	TeamsLive        Provider = "teams_live" // Microsoft Teams (free), teams.live.com
	Zoom             Provider = "zoom"
	GoogleMeet       Provider = "google_meet"
	Webex            Provider = "webex"
	GoToMeeting      Provider = "goto_meeting"
	GoToWebinar      Provider = "goto_webinar"
	BlueJeans        Provider = "bluejeans"
	Chime            Provider = "chime"
	Whereby          Provider = "whereby"
	RingCentral      Provider = "ringcentral"
	Jitsi            Provider = "jitsi"
	EightByEight     Provider = "8x8"
	ZohoMeeting      Provider = "zoho_meeting"
	SkypeForBusiness Provider = "skype_for_business" // also Lync and consumer Skype meet-now links
	SlackHuddle      Provider = "slack_huddle"
	Around           Provider = "around"
	Livestorm        Provider = "livestorm"
	Gong             Provider = "gong"
	Chorus           Provider = "chorus"
)

// Field names the event field a meeting link was found in.
type Field string

// The fields FindMeetingLink reads, in rank order.
const (
	FieldJoinURL          Field = "onlineMeeting.joinUrl"
	FieldOnlineMeetingURL Field = "onlineMeetingUrl" // deprecated by Graph; a fallback
	FieldLocations        Field = "locations"        // locations[].locationUri and displayName
	FieldLocation         Field = "location"
	FieldBody             Field = "body"
	FieldBodyPreview      Field = "bodyPreview" // when the body was not requested
	FieldSubject          Field = "subject"
)

// MeetingLink is an online meeting's join link and what its URL says about
// the meeting. Fields a provider's URL does not carry are empty. It is a
// plain value, safe to copy and share.
type MeetingLink struct {
	Provider Provider
	// URL is the canonical join URL: wrappers (SafeLinks, Proofpoint,
	// Mimecast, launcher pages) removed, tracking parameters dropped, the
	// same string for every shape of the same meeting's link.
	URL string
	// Field is the event field the link came from.
	Field Field

	// MeetingID is the provider's meeting ID: Zoom's and GoTo's numbers,
	// the Meet code (abc-defg-hij), the ID of a Teams /meet/ link, Webex's
	// MTID or personal-room name, a room name for Whereby or Jitsi.
	MeetingID string
	// Passcode is the password the URL carries (Zoom pwd, Teams p=,
	// BlueJeans passcode).
	Passcode string
	// TenantID, OrganizerID and ThreadID are a Teams meetup-join link's
	// tenant (Tid), organiser object ID (Oid) and chat thread
	// (19:meeting_…@thread.v2); MessageID is its message ("0").
	TenantID, OrganizerID, ThreadID, MessageID string
	// Site is the provider's account subdomain (Webex site, Zoom vanity
	// host, Slack team ID).
	Site string
}

// Limits that bound the work done on one event, whatever its body holds.
const (
	maxScanBytes   = 1 << 20 // of one field's text
	maxCandidates  = 512     // URL-like tokens per field
	maxUnwrapDepth = 6       // nested redirect wrappers
)

// FindMeetingLink returns the online-meeting link of ev and true, or false
// when none is found. It reads, in rank order, onlineMeeting.joinUrl, the
// deprecated onlineMeetingUrl, locations[] (locationUri, then displayName),
// location, the body (HTML stripped, entities decoded; bodyPreview when no
// body was fetched) and the subject, and returns the first join link found.
// Within one field links are taken in order; a later link to the same
// meeting that carries a passcode the first lacked wins. Before matching, it
// unwraps Outlook SafeLinks, Proofpoint URL Defense (v2 and v3), Mimecast
// and common tracking redirects (nesting bounded). Dial-in, meeting-options
// and help links are not join links.
//
// It does no I/O and is safe for concurrent use.
func FindMeetingLink(ev *Event) (MeetingLink, bool) {
	if ev == nil {
		return MeetingLink{}, false
	}
	if ev.OnlineMeeting != nil {
		if l, ok := findInText(ev.OnlineMeeting.JoinURL, FieldJoinURL); ok {
			return l, true
		}
	}
	if l, ok := findInText(ev.OnlineMeetingURL, FieldOnlineMeetingURL); ok {
		return l, true
	}
	for _, loc := range ev.Locations {
		if l, ok := findInText(loc.LocationURI, FieldLocations); ok {
			return l, true
		}
	}
	for _, loc := range ev.Locations {
		if l, ok := findInText(loc.DisplayName, FieldLocations); ok {
			return l, true
		}
	}
	if ev.Location != nil {
		if l, ok := findInText(ev.Location.LocationURI, FieldLocation); ok {
			return l, true
		}
		if l, ok := findInText(ev.Location.DisplayName, FieldLocation); ok {
			return l, true
		}
	}
	if ev.Body != nil && ev.Body.Content != "" {
		text := ev.Body.Content
		if !strings.EqualFold(ev.Body.ContentType, "text") {
			text = htmlToText(text)
		} else {
			text = html.UnescapeString(text)
		}
		if l, ok := findInText(text, FieldBody); ok {
			return l, true
		}
	} else if l, ok := findInText(html.UnescapeString(ev.BodyPreview), FieldBodyPreview); ok {
		return l, true
	}
	return findInText(html.UnescapeString(ev.Subject), FieldSubject)
}

// FindMeetingLinkInText returns the first meeting link in plain text (a
// chat message, an ICS description), labelled with src.
func FindMeetingLinkInText(text string, src Field) (MeetingLink, bool) {
	return findInText(text, src)
}

// findInText scans text for URL-like tokens and returns the first that is a
// join link, preferring a later link to the same meeting with a passcode.
func findInText(text string, src Field) (MeetingLink, bool) {
	if text == "" {
		return MeetingLink{}, false
	}
	if len(text) > maxScanBytes {
		text = text[:maxScanBytes]
	}
	// &nbsp; and other Unicode spaces end a URL as an ASCII space does
	// (strings.Map copies only when something changes).
	text = strings.Map(func(r rune) rune {
		if r > 0x7f && (unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff') {
			return ' '
		}
		return r
	}, text)
	var best MeetingLink
	found := false
	n := 0
	for tok := range candidates(text) {
		if n++; n > maxCandidates {
			break
		}
		l, ok := parseLink(tok)
		if !ok {
			continue
		}
		if !found {
			best, found = l, true
			if best.Passcode != "" || !wantsPasscode(best.Provider) {
				break
			}
			continue
		}
		if l.Provider == best.Provider && l.MeetingID == best.MeetingID && l.Passcode != "" {
			best = l
			break
		}
	}
	if found {
		best.Field = src
	}
	return best, found
}

func wantsPasscode(p Provider) bool {
	return p == Zoom || p == BlueJeans
}

// parseLink unwraps one candidate URL and matches it against the providers.
func parseLink(raw string) (MeetingLink, bool) {
	u, ok := parseCandidate(raw)
	if !ok {
		return MeetingLink{}, false
	}
	for range maxUnwrapDepth {
		next, ok := unwrapOnce(u)
		if !ok {
			break
		}
		u = next
	}
	return matchProvider(u)
}

// parseCandidate turns a token into a URL: trailing punctuation and encoded
// angle brackets trimmed, a bare known host given https://.
func parseCandidate(raw string) (*url.URL, bool) {
	raw = trimURL(raw)
	if raw == "" {
		return nil, false
	}
	lower := strings.ToLower(raw)
	switch {
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
	case strings.HasPrefix(lower, "msteams:"):
		// msteams:/l/meetup-join/… is the Teams desktop scheme.
		rest := strings.TrimLeft(raw[len("msteams:"):], "/")
		raw = "https://teams.microsoft.com/" + rest
	case strings.HasPrefix(lower, "zoommtg://"), strings.HasPrefix(lower, "zoomus://"):
	default:
		if strings.Contains(lower, "://") || strings.HasPrefix(lower, "mailto:") || strings.HasPrefix(lower, "tel:") {
			return nil, false
		}
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, false
	}
	return u, true
}

// trimURL removes what text around a URL leaves on it: trailing
// punctuation, quotes, encoded or literal angle brackets, a closing
// parenthesis without an opening one. It is linear in len(s), however much
// punctuation trails.
func trimURL(s string) string {
	s = strings.TrimLeft(s, "([{<'\"*")
	opens, closes := -1, 0 // counted at the first trailing ')'
	for len(s) > 0 {
		n := len(s)
		switch {
		case n >= 3 && s[n-3] == '%' && encodedStop(s[n-2:]):
			s = s[:n-3]
			continue
		case n >= 4 && (strings.EqualFold(s[n-4:], "&gt;") || strings.EqualFold(s[n-4:], "&lt;")):
			s = s[:n-4]
			continue
		case n >= 6 && (strings.EqualFold(s[n-6:], "&quot;") || strings.EqualFold(s[n-6:], "&nbsp;")):
			s = s[:n-6]
			continue
		}
		switch s[n-1] {
		case '.', ',', ';', ':', '!', '?', '\'', '"', '*', '>', '<', ']', '}', '|', '\\':
			s = s[:n-1]
			continue
		case ')':
			if opens < 0 {
				opens, closes = strings.Count(s, "("), strings.Count(s, ")")
			}
			if opens < closes {
				s = s[:n-1]
				closes--
				continue
			}
		}
		break
	}
	return s
}

// encodedStop reports the hex of a percent-encoded character that cannot
// end a URL in text: > < space " '.
func encodedStop(hex string) bool {
	switch strings.ToLower(hex) {
	case "3e", "3c", "20", "22", "27":
		return true
	}
	return false
}

// candidates yields URL-like tokens of text in order: tokens with a scheme
// (the scheme's start onward) and bare tokens naming a known meeting host.
func candidates(text string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		i := 0
		for i < len(text) {
			for i < len(text) && isSeparator(text[i]) {
				i++
			}
			j := i
			for j < len(text) && !isSeparator(text[j]) {
				j++
			}
			if j > i {
				tok := text[i:j]
				for _, t := range splitSchemes(tok) {
					if looksLikeLink(t) && !yield(t) {
						return
					}
				}
			}
			i = j
		}
	}
}

// isSeparator reports bytes that never occur inside a URL in text. Non-ASCII
// spaces are left to url.Parse to reject.
func isSeparator(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\f', '\v', '<', '>', '"', '`':
		return true
	}
	return false
}

// splitSchemes splits "Join:https://a…https://b" into the parts that start
// at each scheme, so text glued to a URL or two glued URLs are separated.
// Schemes inside a query (a wrapped url=https%3A… or url=https://…) stay.
// It makes one pass over tok and returns at most maxCandidates parts.
func splitSchemes(tok string) []string {
	var out []string
	start := -1
	for i := 0; i < len(tok); i++ {
		switch tok[i] | 0x20 {
		case 'h', 'm', 'z':
		default:
			continue
		}
		if !schemeAt(tok[i:]) {
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		// A scheme after = ? & / % # or _ (Proofpoint v3) is a wrapped URL, not a new one.
		if strings.IndexByte("=?&/%#_", tok[i-1]) >= 0 {
			continue
		}
		out = append(out, tok[start:i])
		if len(out) == maxCandidates {
			return out
		}
		start = i
	}
	if start < 0 {
		return []string{tok}
	}
	return append(out, tok[start:])
}

// schemeAt reports whether s starts with a scheme a join link may have,
// in any case.
func schemeAt(s string) bool {
	for _, p := range [...]string{"https://", "http://", "msteams:", "zoommtg://", "zoomus://"} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return true
		}
	}
	return false
}

// looksLikeLink is a cheap filter before url.Parse.
func looksLikeLink(t string) bool {
	lower := strings.ToLower(t)
	if strings.Contains(lower, "://") || strings.HasPrefix(lower, "msteams:") {
		return true
	}
	// A bare host: "zoom.us/j/123", "meet.google.com/abc-defg-hij".
	slash := strings.IndexByte(lower, '/')
	if slash <= 0 {
		return false
	}
	host := strings.TrimLeft(lower[:slash], "([{'*")
	return bareHost(host)
}

// bareHost reports the hosts recognised without a scheme.
func bareHost(h string) bool {
	for _, suffix := range [...]string{
		"zoom.us", "zoom.com", "zoomgov.com", "meet.google.com", "teams.microsoft.com", "teams.live.com",
		"webex.com", "gotomeeting.com", "meet.goto.com", "gotomeet.me", "bluejeans.com", "chime.aws",
		"whereby.com", "meet.jit.si", "8x8.vc", "ringcentral.com", "around.co", "join.gong.io", "go.chorus.ai",
	} {
		if h == suffix || strings.HasSuffix(h, "."+suffix) {
			return true
		}
	}
	return false
}

// htmlToText strips tags from an HTML body, keeping href values (as words
// of their own) and text, dropping style and script content, and decoding
// entities.
func htmlToText(s string) string {
	var b strings.Builder
	b.Grow(len(s) / 2)
	i := 0
	for i < len(s) {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i : i+lt])
		i += lt
		if strings.HasPrefix(s[i:], "<!--") {
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				break
			}
			i += 4 + end + 3
			b.WriteByte(' ')
			continue
		}
		gt := strings.IndexByte(s[i:], '>')
		if gt < 0 {
			b.WriteString(s[i:])
			break
		}
		tag := s[i+1 : i+gt]
		i += gt + 1
		b.WriteByte(' ')
		lowerTag := asciiLower(tag) // same byte offsets as tag
		if name, ok := rawTextTag(lowerTag); ok {
			end := indexCloseTag(s[i:], name)
			if end < 0 {
				break
			}
			i += end
			continue
		}
		if href, ok := attr(tag, lowerTag, "href"); ok {
			b.WriteString(href)
			b.WriteByte(' ')
		}
	}
	return html.UnescapeString(b.String())
}

// attr returns the value of the attribute name in a tag's text.
func attr(tag, lowerTag, name string) (string, bool) {
	from := 0
	for {
		k := strings.Index(lowerTag[from:], name)
		if k < 0 {
			return "", false
		}
		k += from
		from = k + len(name)
		if k > 0 && !isSpaceByte(lowerTag[k-1]) {
			continue
		}
		j := k + len(name)
		for j < len(tag) && isSpaceByte(tag[j]) {
			j++
		}
		if j >= len(tag) || tag[j] != '=' {
			continue
		}
		j++
		for j < len(tag) && isSpaceByte(tag[j]) {
			j++
		}
		if j >= len(tag) {
			return "", false
		}
		if q := tag[j]; q == '"' || q == '\'' {
			end := strings.IndexByte(tag[j+1:], q)
			if end < 0 {
				return tag[j+1:], true
			}
			return tag[j+1 : j+1+end], true
		}
		end := j
		for end < len(tag) && !isSpaceByte(tag[end]) {
			end++
		}
		return tag[j:end], true
	}
}

// asciiLower lower-cases the ASCII letters of s only, so that byte offsets
// into the result are offsets into s (strings.ToLower may change the
// length: "Ⱥ" is two bytes, its lower case three).
func asciiLower(s string) string {
	i := 0
	for i < len(s) && !(s[i] >= 'A' && s[i] <= 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if c := b[i]; c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// rawTextTag reports tags whose content is not text (style, script).
func rawTextTag(lowerTag string) (string, bool) {
	for _, name := range [...]string{"style", "script"} {
		if strings.HasPrefix(lowerTag, name) && (len(lowerTag) == len(name) || isSpaceByte(lowerTag[len(name)])) {
			return name, true
		}
	}
	return "", false
}

// indexCloseTag finds "</name" in s, ignoring case.
func indexCloseTag(s, name string) int {
	from := 0
	for {
		k := strings.Index(s[from:], "</")
		if k < 0 {
			return -1
		}
		k += from
		if len(s)-k-2 >= len(name) && strings.EqualFold(s[k+2:k+2+len(name)], name) {
			return k
		}
		from = k + 2
	}
}
