package mail

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Address is a normalised SMTP address: lower case, the plus-address tag
// split off, the domain without a trailing dot. Two Addresses name the same
// mailbox when their Local and Domain are equal; Tag does not matter.
type Address struct {
	// Local is the part before the @, without the tag: "jane" of
	// "Jane+crm@Contoso.com".
	Local string
	// Tag is the plus-address tag: "crm" of "jane+crm@contoso.com".
	Tag string
	// Domain is the part after the @: "contoso.com".
	Domain string
}

// String returns the address without its tag, "jane@contoso.com", quoting
// the local part when it needs it.
func (a Address) String() string {
	if a.Local == "" && a.Domain == "" {
		return ""
	}
	local := a.Local
	if needsQuote(local) {
		local = `"` + local + `"`
	}
	return local + "@" + a.Domain
}

// In reports whether the address's domain is domain or a subdomain of it:
// jane@eu.contoso.com is in "contoso.com" (or "Contoso.COM");
// jane@evilcontoso.com is not.
func (a Address) In(domain string) bool {
	return within(a.Domain, strings.TrimSuffix(domain, "."))
}

// ParseAddress parses an address the way a mail filter must: it accepts a
// bare address ("jane@contoso.com"), one in angle brackets, a full
// "Name <address>" form, and "mailto:" or "SMTP:" prefixes. The address is
// always the one in the last angle brackets; a display name that looks
// like an address proves nothing, so `"ceo@bank.com" <x@evil.com>` is
// x@evil.com. Case is folded and the plus-address tag split off.
//
// The error, an *Error matching graphclient.ErrInvalidInput, says what
// is wrong.
func ParseAddress(s string) (Address, error) {
	a, problem := parseAddress(s)
	if problem != "" {
		return Address{}, invalid("ParseAddress", "address "+quote(s), problem)
	}
	return a, nil
}

// parseAddress is ParseAddress without allocating an error: filters run it
// on every participant of every message.
func parseAddress(s string) (Address, string) {
	local, domain, problem := splitAddress(s)
	if problem != "" {
		return Address{}, problem
	}
	local, domain = strings.ToLower(local), strings.ToLower(domain)
	var tag string
	if i := strings.IndexByte(local, '+'); i > 0 {
		local, tag = local[:i], local[i+1:]
	}
	return Address{Local: local, Tag: tag, Domain: domain}, ""
}

// splitAddress finds and checks the address in s and returns its local
// part (unquoted) and its domain (without a trailing dot), both in their
// original case, without allocating.
func splitAddress(s string) (local, domain, problem string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "", "is empty"
	}
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			return "", "", "has '<' without a closing '>'"
		}
		s = strings.TrimSpace(s[i+1 : i+j])
	}
	for _, p := range [...]string{"mailto:", "smtp:"} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			s = s[len(p):]
		}
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", "", "is not of the form local@domain"
	}
	local, domain = s[:at], s[at+1:]
	if !utf8.ValidString(s) {
		return "", "", "is not valid UTF-8"
	}
	if len(local) >= 2 && local[0] == '"' && local[len(local)-1] == '"' {
		local = local[1 : len(local)-1]
		for _, r := range local {
			if r < ' ' || r == 0x7f || r == '"' || r == '\\' || r == '<' || r == '>' {
				return "", "", "has a character not allowed in a quoted local part"
			}
		}
		if local == "" {
			return "", "", "has an empty local part"
		}
	} else {
		for _, r := range local {
			if !atomRune(r) && r != '.' {
				return "", "", "has " + quoteRune(r) + " in its local part"
			}
		}
		if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
			return "", "", "has a misplaced '.' in its local part"
		}
	}
	domain, problem = checkDomain(domain)
	return local, domain, problem
}

// atomRune reports whether r may appear unquoted in a local part (RFC 5322
// atext, plus any non-ASCII letter as SMTPUTF8 allows).
func atomRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case r >= utf8.RuneSelf:
		return unicode.IsGraphic(r) && !unicode.IsSpace(r)
	}
	return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
}

// needsQuote reports whether local must be quoted to be read back.
func needsQuote(local string) bool {
	if local == "" || local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return true
	}
	for _, r := range local {
		if !atomRune(r) && r != '.' {
			return true
		}
	}
	return false
}

// normDomain lower-cases a domain, drops one trailing dot and checks its
// labels.
func normDomain(d string) (string, string) {
	d, problem := checkDomain(d)
	return strings.ToLower(d), problem
}

// checkDomain drops one trailing dot from d and checks its labels, in any
// case.
func checkDomain(d string) (string, string) {
	d = strings.TrimSuffix(strings.TrimSpace(d), ".")
	if d == "" {
		return "", "has an empty domain"
	}
	if len(d) > 253 {
		return "", "has a domain longer than 253 bytes"
	}
	start := 0 // of the current label
	for i := 0; i <= len(d); i++ {
		if i < len(d) && d[i] != '.' {
			continue
		}
		label := d[start:i]
		start = i + 1
		if label == "" || len(label) > 63 {
			return "", "has an empty or over-long label in its domain"
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", "has a domain label starting or ending with '-'"
		}
		for j := 0; j < len(label); j++ {
			c := label[j]
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
				continue
			}
			if c < utf8.RuneSelf {
				return "", "has " + quoteRune(rune(c)) + " in its domain"
			}
			r, size := utf8.DecodeRuneInString(label[j:])
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
				return "", "has " + quoteRune(r) + " in its domain"
			}
			j += size - 1
		}
	}
	return d, ""
}

func quoteRune(r rune) string {
	if r == utf8.RuneError {
		return "an invalid character"
	}
	return "'" + string(r) + "'"
}

// within reports whether domain is parent or a subdomain of it, ignoring
// case.
func within(domain, parent string) bool {
	if len(domain) == len(parent) {
		return strings.EqualFold(domain, parent)
	}
	return len(parent) > 0 && len(domain) > len(parent) &&
		domain[len(domain)-len(parent)-1] == '.' && strings.EqualFold(domain[len(domain)-len(parent):], parent)
}

// A Matcher decides whether an address is one the caller cares about, such
// as a CRM contact or a customer's domain. Implementations must be safe for
// concurrent use if the Filter using them is.
type Matcher interface {
	Match(a Address) bool
}

// MatcherFunc turns a function into a Matcher.
type MatcherFunc func(a Address) bool

// Match calls f(a).
func (f MatcherFunc) Match(a Address) bool { return f(a) }

// AddressSet is a Matcher over a fixed set of addresses and domains. A
// domain entry matches its subdomains too; an address entry matches any
// plus-address tag and any case. It is safe for concurrent use.
type AddressSet struct {
	domains map[string]struct{}
	addrs   map[addrKey]struct{}
}

type addrKey struct{ local, domain string }

// NewAddressSet returns a set of the given entries. An entry is a domain
// ("acme.com", "@acme.com" or "*.acme.com") or an address in any form
// ParseAddress accepts. The error names the first bad entry.
func NewAddressSet(entries ...string) (*AddressSet, error) {
	s := &AddressSet{domains: map[string]struct{}{}, addrs: map[addrKey]struct{}{}}
	for _, e := range entries {
		t := strings.TrimSpace(e)
		if strings.ContainsAny(strings.TrimPrefix(t, "@"), "@<") {
			a, problem := parseAddress(t)
			if problem != "" {
				return nil, invalid("NewAddressSet", "entry "+quote(e), problem)
			}
			s.addrs[addrKey{a.Local, a.Domain}] = struct{}{}
			continue
		}
		d, problem := parseDomain(t)
		if problem != "" {
			return nil, invalid("NewAddressSet", "entry "+quote(e), problem)
		}
		s.domains[d] = struct{}{}
	}
	return s, nil
}

// parseDomain accepts "acme.com", "@acme.com" and "*.acme.com".
func parseDomain(s string) (string, string) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "@")
	s = strings.TrimPrefix(s, "*.")
	return normDomain(s)
}

// Match reports whether a is one of the set's addresses or in one of its
// domains.
func (s *AddressSet) Match(a Address) bool {
	if s == nil {
		return false
	}
	if _, ok := s.addrs[addrKey{a.Local, a.Domain}]; ok {
		return true
	}
	return s.hasDomain(a.Domain)
}

// hasDomain reports whether d or one of its parent domains is in the set.
// d may be in any case: an ASCII domain is folded on the stack.
func (s *AddressSet) hasDomain(d string) bool {
	if len(s.domains) == 0 {
		return false
	}
	var buf [256]byte
	if len(d) > len(buf) || !lowerASCII(buf[:0], d) {
		d = strings.ToLower(d)
	} else {
		b := buf[:len(d)]
		for { // map lookups with string(b) do not allocate
			if _, ok := s.domains[string(b)]; ok {
				return true
			}
			i := bytes.IndexByte(b, '.')
			if i < 0 {
				return false
			}
			b = b[i+1:]
		}
	}
	for {
		if _, ok := s.domains[d]; ok {
			return true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return false
		}
		d = d[i+1:]
	}
}

// lowerASCII writes the lower-case s into dst[:len(s)] and reports
// whether s was all ASCII. dst must have the capacity.
func lowerASCII(dst []byte, s string) bool {
	dst = dst[:len(s)]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return false
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst[i] = c
	}
	return true
}

// Len returns the number of entries in the set.
func (s *AddressSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.domains) + len(s.addrs)
}
