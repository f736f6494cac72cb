package mail

import (
	"strings"
)

// A Filter decides which messages Sync keeps. It returns "" to keep m, or
// the reason it skips m (one of the Reason constants for the built-in
// filters). The reason is what callers count and report, so a custom
// filter should return a short stable word, not a sentence about m.
//
// A Filter must not modify m. The built-in filters are safe for concurrent
// use. A nil Filter keeps every message.
type Filter func(m *Message) (reason string)

// The reasons the built-in filters give for skipping a message.
const (
	ReasonInternal    = "internal"     // ExternalOnly: no participant outside the organisation
	ReasonNoDomains   = "no-domains"   // ExternalOnly: given no valid internal domain, it keeps nothing
	ReasonNotInvolved = "not-involved" // Involving: no participant the matcher knows
	ReasonDraft       = "draft"        // SkipDrafts
	ReasonCategory    = "category"     // SkipCategories
	ReasonAutomated   = "automated"    // SkipAutomated
	ReasonSensitive   = "sensitive"    // SkipSensitive
)

// Apply runs f on m: "" keeps m. A nil f keeps every message.
func (f Filter) Apply(m *Message) string {
	if f == nil {
		return ""
	}
	return f(m)
}

// All keeps a message only if every filter keeps it; the reason is that of
// the first filter that skips it. With no filters it keeps everything.
// Nil filters are ignored.
func All(filters ...Filter) Filter {
	fs := compact(filters)
	return func(m *Message) string {
		for _, f := range fs {
			if r := f(m); r != "" {
				return r
			}
		}
		return ""
	}
}

// Any keeps a message if at least one filter keeps it; when all skip it,
// the reason is that of the first. With no filters it keeps everything (it
// is then the same as a nil Filter). Nil filters keep everything, so Any
// with one keeps everything.
func Any(filters ...Filter) Filter {
	for _, f := range filters {
		if f == nil {
			return func(*Message) string { return "" }
		}
	}
	fs := compact(filters)
	return func(m *Message) string {
		first := ""
		for i, f := range fs {
			r := f(m)
			if r == "" {
				return ""
			}
			if i == 0 {
				first = r
			}
		}
		return first
	}
}

// Not keeps the messages f skips and skips, with reason, the messages f
// keeps. A nil f keeps everything, so Not(nil, reason) skips everything.
func Not(f Filter, reason string) Filter {
	if reason == "" {
		reason = "not"
	}
	return func(m *Message) string {
		if f.Apply(m) == "" {
			return reason
		}
		return ""
	}
}

func compact(filters []Filter) []Filter {
	fs := make([]Filter, 0, len(filters))
	for _, f := range filters {
		if f != nil {
			fs = append(fs, f)
		}
	}
	return fs
}

// participants calls yield with the address of each sender and recipient
// of m (from, sender, to, cc, bcc; not replyTo, which names no one who
// took part) until yield returns false. Empty addresses are left out.
func participants(m *Message, yield func(addr string) bool) {
	if a := m.From.EmailAddress.Address; a != "" && !yield(a) {
		return
	}
	if a := m.Sender.EmailAddress.Address; a != "" && !yield(a) {
		return
	}
	for _, list := range [...][]Recipient{m.ToRecipients, m.CcRecipients, m.BccRecipients} {
		for _, r := range list {
			if a := r.EmailAddress.Address; a != "" && !yield(a) {
				return
			}
		}
	}
}

// ExternalOnly keeps mail with at least one participant (sender or
// recipient) outside the organisation, whose domains are internalDomains
// ("contoso.com" also covers "eu.contoso.com"; "@contoso.com" and
// "*.contoso.com" are read the same). It skips the rest with
// ReasonInternal.
//
// Only the SMTP address counts, never the display name. Exchange legacy DN
// addresses ("/O=EXCHANGELABS/...") count as internal; other addresses that
// do not parse are ignored. Entries of internalDomains that are not domains
// are ignored too; check them first with NewAddressSet if they come from
// users. With no valid internal domain at all (a missing setting, say),
// it fails closed: it skips every message with ReasonNoDomains rather
// than count everyone as external and keep internal mail.
func ExternalOnly(internalDomains ...string) Filter {
	internal := &AddressSet{domains: map[string]struct{}{}}
	for _, d := range internalDomains {
		if n, problem := parseDomain(d); problem == "" {
			internal.domains[n] = struct{}{}
		}
	}
	if len(internal.domains) == 0 {
		return func(*Message) string { return ReasonNoDomains }
	}
	return func(m *Message) string {
		external := false
		participants(m, func(s string) bool {
			_, domain, problem := splitAddress(s)
			if problem != "" {
				return true // X500 (internal) or unusable
			}
			if !internal.hasDomain(domain) {
				external = true
				return false
			}
			return true
		})
		if external {
			return ""
		}
		return ReasonInternal
	}
}

// Involving keeps mail where at least one participant (sender or
// recipient) matches, such as a CRM contact or a customer's domain, and
// skips the rest with ReasonNotInvolved. A nil matcher matches no one.
func Involving(matcher Matcher) Filter {
	return func(m *Message) string {
		if matcher == nil {
			return ReasonNotInvolved
		}
		found := false
		participants(m, func(s string) bool {
			a, problem := parseAddress(s)
			if problem == "" && matcher.Match(a) {
				found = true
				return false
			}
			return true
		})
		if found {
			return ""
		}
		return ReasonNotInvolved
	}
}

// SkipDrafts skips drafts with ReasonDraft.
func SkipDrafts() Filter {
	return func(m *Message) string {
		if m.IsDraft {
			return ReasonDraft
		}
		return ""
	}
}

// SkipCategories skips, with ReasonCategory, mail the user filed under one
// of the given Outlook categories (compared case-insensitively), such as
// "Personal" or "Private".
func SkipCategories(categories ...string) Filter {
	cats := make([]string, 0, len(categories))
	for _, c := range categories {
		if c = strings.TrimSpace(c); c != "" {
			cats = append(cats, c)
		}
	}
	return func(m *Message) string {
		for _, have := range m.Categories {
			have = strings.TrimSpace(have)
			for _, c := range cats {
				if strings.EqualFold(have, c) {
					return ReasonCategory
				}
			}
		}
		return ""
	}
}

// SkipSensitive skips, with ReasonSensitive, mail marked personal, private
// or confidential. Sensitivity is known only when SyncRequest.
// Classification selected it; without it this filter keeps everything.
func SkipSensitive() Filter {
	return func(m *Message) string {
		switch m.Sensitivity() {
		case "personal", "private", "confidential":
			return ReasonSensitive
		}
		return ""
	}
}

// SkipAutomated skips machine-sent mail with ReasonAutomated:
//
//   - senders such as no-reply@, noreply-…@, donotreply@, mailer-daemon@,
//     postmaster@, bounce(s)@, notification(s)@, newsletter(s)@ (from or
//     sender, ignoring '.', '-' and '_' and any plus tag);
//   - when SyncRequest.Classification selected the message class:
//     non-delivery and read reports (REPORT.*), meeting responses
//     (IPM.Schedule.Meeting.Resp.*), automatic replies and recalls;
//   - when SyncRequest.Headers selected the headers: Auto-Submitted other
//     than "no", Precedence bulk, list, junk or auto_reply, List-Id,
//     List-Unsubscribe, X-Autoreply and X-Autorespond.
func SkipAutomated() Filter {
	return func(m *Message) string {
		if automatedSender(m.From.EmailAddress.Address) || automatedSender(m.Sender.EmailAddress.Address) ||
			automatedClass(m.MessageClass()) || automatedHeaders(m.InternetMessageHeaders) {
			return ReasonAutomated
		}
		return ""
	}
}

// automatedSender reports whether the local part of addr is a machine
// sender's.
func automatedSender(addr string) bool {
	if addr == "" {
		return false
	}
	local, _, problem := splitAddress(addr)
	if problem != "" {
		return false
	}
	// The local part folded to lower case, without '.', '-', '_' and the
	// plus tag, on the stack.
	var buf [64]byte
	n := 0
	for i := 0; i < len(local) && n < len(buf); i++ {
		c := local[i]
		if c == '+' && i > 0 {
			break
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != '.' && c != '-' && c != '_' {
			buf[n] = c
			n++
		}
	}
	l := string(buf[:n]) // does not escape: compared only
	if strings.HasPrefix(l, "noreply") || strings.HasPrefix(l, "donotreply") {
		return true
	}
	switch l {
	case "mailerdaemon", "postmaster", "bounce", "bounces", "notification", "notifications",
		"calendarnotification", "newsletter", "newsletters":
		return true
	}
	return false
}

// automatedClass reports whether class is the MAPI message class of
// machine-sent mail.
func automatedClass(class string) bool {
	if class == "" {
		return false
	}
	automatedClasses := [...]string{
		"report.",                       // delivery, non-delivery and read reports
		"ipm.schedule.meeting.resp.",    // meeting accepted / declined / tentative
		"ipm.note.rules.ooftemplate.",   // automatic replies (out of office)
		"ipm.note.rules.replytemplate.", // rule-generated replies
		"ipm.outlook.recall",            // message recall
		"ipm.recall.report",
	}
	for _, p := range automatedClasses {
		if len(class) >= len(p) && strings.EqualFold(class[:len(p)], p) {
			return true
		}
	}
	return false
}

func automatedHeaders(hs []InternetMessageHeader) bool {
	for _, h := range hs {
		v := strings.TrimSpace(h.Value)
		switch {
		case strings.EqualFold(h.Name, "Auto-Submitted"):
			if !strings.EqualFold(v, "no") {
				return true
			}
		case strings.EqualFold(h.Name, "Precedence"):
			for _, p := range [...]string{"bulk", "list", "junk", "auto_reply"} {
				if strings.EqualFold(v, p) {
					return true
				}
			}
		case strings.EqualFold(h.Name, "List-Id"), strings.EqualFold(h.Name, "List-Unsubscribe"),
			strings.EqualFold(h.Name, "X-Autoreply"), strings.EqualFold(h.Name, "X-Autorespond"):
			return true
		}
	}
	return false
}
