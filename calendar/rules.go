package calendar

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Reason says why Rules.Match skipped an event. The values are short
// English phrases a UI can show as they are.
type Reason string

// The reasons Match gives.
const (
	ReasonNone             Reason = ""
	ReasonNoEvent          Reason = "no event"
	ReasonCancelled        Reason = "cancelled"
	ReasonDeclined         Reason = "declined"
	ReasonFree             Reason = "shown as free"
	ReasonAllDay           Reason = "all-day event"
	ReasonPrivate          Reason = "private"
	ReasonNoTenantDomains  Reason = "external-only needs the tenant's domains"
	ReasonInternal         Reason = "no external participant"
	ReasonTooFewAttendees  Reason = "too few attendees"
	ReasonTooManyAttendees Reason = "too many attendees"
	ReasonNotOrganizer     Reason = "not organised by the user"
	ReasonNoMeetingLink    Reason = "no meeting link"
)

// Rules decide which events a notetaker joins, the way a user sets it up
// ("only external meetings I organise, 2 to 20 people"). The zero value
// skips only cancelled events, events the user declined, and private or
// confidential events. A Rules value is safe for concurrent use.
type Rules struct {
	// SkipFree skips events shown as free.
	SkipFree bool
	// SkipAllDay skips all-day events.
	SkipAllDay bool
	// IncludePrivate lets private and confidential events through; by
	// default they are skipped, since their content is not the app's to
	// record.
	IncludePrivate bool
	// ExternalOnly keeps only events with at least one participant
	// (organiser or attendee) outside TenantDomains.
	ExternalOnly bool
	// TenantDomains are the tenant's domains ("contoso.com",
	// "contoso.onmicrosoft.com"); their subdomains count as internal too.
	// "@contoso.com" and "*.contoso.com" are read as "contoso.com", as
	// mail.ExternalOnly reads them.
	TenantDomains []string
	// MinAttendees and MaxAttendees bound the number of people in the
	// meeting: the organiser plus the attendees that are not rooms or
	// equipment. Zero means no bound.
	MinAttendees, MaxAttendees int
	// OrganizerOnly keeps only events the signed-in user organises.
	OrganizerOnly bool
	// RequireMeetingLink keeps only events FindMeetingLink finds a link in.
	RequireMeetingLink bool
}

// Decision is what [Rules.Match] decided about one event. It is a plain
// value, safe to copy and share.
type Decision struct {
	// Join reports whether the notetaker should join the event.
	Join bool
	// Reason says why not, when Join is false: the first rule that failed.
	Reason Reason
	// Link is the event's meeting link, as [FindMeetingLink] finds it,
	// whether the event is joined or not; the zero MeetingLink (URL "")
	// when the event has none.
	Link MeetingLink
}

// Match decides whether the notetaker should join ev and, when not, why
// (the first rule that failed, checked in the order of the Rules fields
// after cancelled and declined). The Decision carries the event's meeting
// link, so callers need not run FindMeetingLink again.
func (r Rules) Match(ev *Event) Decision {
	link, _ := FindMeetingLink(ev)
	join, reason := r.match(ev, link)
	return Decision{Join: join, Reason: reason, Link: link}
}

func (r Rules) match(ev *Event, link MeetingLink) (bool, Reason) {
	switch {
	case ev == nil:
		return false, ReasonNoEvent
	case ev.IsCancelled:
		return false, ReasonCancelled
	case ev.ResponseStatus != nil && ev.ResponseStatus.Response == ResponseDeclined:
		return false, ReasonDeclined
	case r.SkipFree && ev.ShowAs == ShowAsFree:
		return false, ReasonFree
	case r.SkipAllDay && ev.IsAllDay:
		return false, ReasonAllDay
	case !r.IncludePrivate && (ev.Sensitivity == Private || ev.Sensitivity == Confidential):
		return false, ReasonPrivate
	}
	if r.ExternalOnly {
		if len(r.TenantDomains) == 0 {
			return false, ReasonNoTenantDomains
		}
		if !r.hasExternal(ev) {
			return false, ReasonInternal
		}
	}
	if r.MinAttendees > 0 || r.MaxAttendees > 0 {
		n := Headcount(ev)
		if r.MinAttendees > 0 && n < r.MinAttendees {
			return false, ReasonTooFewAttendees
		}
		if r.MaxAttendees > 0 && n > r.MaxAttendees {
			return false, ReasonTooManyAttendees
		}
	}
	if r.OrganizerOnly && !ev.IsOrganizer {
		return false, ReasonNotOrganizer
	}
	if r.RequireMeetingLink {
		if link.URL == "" {
			return false, ReasonNoMeetingLink
		}
	}
	return true, ReasonNone
}

// Headcount returns the number of people in a meeting: the organiser plus
// the attendees that are not resources (rooms, equipment), each address
// once, and each attendee without an address.
func Headcount(ev *Event) int {
	if ev == nil {
		return 0
	}
	seen := make(map[string]bool, len(ev.Attendees)+1)
	add := func(addr string) {
		a := strings.ToLower(strings.TrimSpace(addr))
		if a != "" {
			seen[a] = true
		}
	}
	if ev.Organizer != nil {
		add(ev.Organizer.EmailAddress.Address)
	}
	anonymous := 0
	for _, a := range ev.Attendees {
		if a.Type == Resource {
			continue
		}
		if a.EmailAddress.Address == "" {
			anonymous++
			continue
		}
		add(a.EmailAddress.Address)
	}
	return len(seen) + anonymous
}

// hasExternal reports a participant whose address is outside the tenant.
func (r Rules) hasExternal(ev *Event) bool {
	if ev.Organizer != nil && r.external(ev.Organizer.EmailAddress.Address) {
		return true
	}
	for _, a := range ev.Attendees {
		if a.Type != Resource && r.external(a.EmailAddress.Address) {
			return true
		}
	}
	return false
}

// external reports an address whose domain is not a tenant domain or a
// subdomain of one. An address without a domain is not external.
func (r Rules) external(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || at == len(addr)-1 {
		return false
	}
	domain := strings.TrimSuffix(strings.ToLower(addr[at+1:]), ".")
	for _, d := range r.TenantDomains {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		d = strings.TrimPrefix(strings.TrimPrefix(d, "@"), "*.")
		if d != "" && (domain == d || strings.HasSuffix(domain, "."+d)) {
			return false
		}
	}
	return true
}

// DedupKey returns a key that is the same for one meeting however many
// users of a tenant see it, so that one bot joins it once. Events with a
// meeting link are keyed by the meeting the link names (a Teams chat
// thread, a provider's meeting ID within its site, else the canonical join
// URL), the passcode the link carries, and the start time (separate
// invitations to the same Teams or Zoom meeting share it; a recurring
// meeting's occurrences do not; a rescheduled meeting gets a new key).
// Events without a link are keyed by iCalUId and start, and events with
// neither by their ID (which is per mailbox and cannot be deduplicated).
//
// The rule a product can rely on: events that share a key join the same
// meeting the same way, so the bot may take the link, passcode included,
// from any one of them. Copies of one meeting whose passcodes differ (a
// wrong one, or none, as anyone who can send the user an invitation can
// arrange) get different keys, never one key with whichever passcode came
// first; compare [MeetingLink.MeetingID] to see that they name one
// meeting, and prefer the organiser's copy ([Event.IsOrganizer]) when
// choosing between them.
//
// The key is a hex SHA-256, so join URLs and passcodes do not leak into
// logs or databases through it. It returns "" for nil.
func DedupKey(ev *Event) string {
	if ev == nil {
		return ""
	}
	start := ev.Start.Time.UTC().Format(time.RFC3339)
	var material string
	switch l, ok := FindMeetingLink(ev); {
	case ok && l.ThreadID != "":
		// A Teams meeting is its chat thread, whatever context the link kept.
		material = "teams\x00" + l.ThreadID + "/" + l.MessageID + "\x00" + start
	case ok && l.MeetingID != "":
		// The passcode is part of the key: see the rule above. Room
		// names are per site (two Webex sites, Whereby subdomains or
		// 8x8 tenants may each have a "sales" room); Zoom's and BlueJeans'
		// numeric IDs are global and their Site is only a vanity host.
		site := l.Site
		if l.Provider == Zoom || l.Provider == BlueJeans {
			site = ""
		}
		material = "meeting\x00" + string(l.Provider) + "\x00" + site + "\x00" + l.MeetingID + "\x00" + l.Passcode + "\x00" + start
	case ok:
		material = "link\x00" + l.URL + "\x00" + start
	case ev.ICalUID != "":
		material = "ical\x00" + ev.ICalUID + "\x00" + start
	default:
		material = "id\x00" + ev.ID + "\x00" + start
	}
	sum := sha256.Sum256([]byte(material))
	return hex.EncodeToString(sum[:])
}
