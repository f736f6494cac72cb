package recording

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// urlInText finds the URLs a stand-in keeps: meeting join links in a body
// or a location are what a notetaker's rules read.
var urlInText = regexp.MustCompile(`https?://[^\s"'<>]+`)

// pseudonyms maps personal data to stand-ins: the same value always gets
// the same stand-in within a run, so equal things stay equal (an
// organiser who is also an attendee, a domain that is internal). The map
// lives only in memory; nothing of it is written. It is safe for
// concurrent use.
type pseudonyms struct {
	mu    sync.Mutex
	m     map[string]string // kind + "\x00" + original -> stand-in
	count map[string]int    // kind -> stand-ins made
	known []string          // originals that may appear in URLs and forms, longest first
	stand map[string]string // original -> stand-in, for known
}

func newPseudonyms() *pseudonyms {
	return &pseudonyms{m: map[string]string{}, count: map[string]int{}, stand: map[string]string{}}
}

// get returns the stand-in of orig of a kind.
func (p *pseudonyms) get(kind, orig string) string {
	if strings.TrimSpace(orig) == "" {
		return orig
	}
	if kind == "address" {
		return p.address(orig)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	key := kind + "\x00" + orig
	if s, ok := p.m[key]; ok {
		return s
	}
	p.count[kind]++
	n := p.count[kind]
	var s string
	switch kind {
	case "name":
		s = fmt.Sprintf("Person %d", n)
	case "subject":
		s = fmt.Sprintf("Subject %d", n)
	case "phone":
		s = fmt.Sprintf("+1 555 01%02d", n%100)
	case "domain":
		s = fmt.Sprintf("domain%d.example", n)
	case "local":
		s = fmt.Sprintf("person%d", n)
	default: // body, place: the text goes, the URLs in it stay
		s = fmt.Sprintf("%s %d", strings.ToUpper(kind[:1])+kind[1:], n)
		if urls := urlInText.FindAllString(orig, -1); len(urls) > 0 {
			s += " " + strings.Join(urls, " ")
		}
	}
	p.m[key] = s
	if kind == "name" && len(orig) >= 4 {
		p.remember(orig, s)
	}
	return s
}

// address maps an e-mail address: its local part and its domain each get
// a stand-in, so two people of one organisation still share a domain.
func (p *pseudonyms) address(orig string) string {
	local, domain, ok := strings.Cut(orig, "@")
	if !ok {
		return p.get("local", strings.ToLower(orig))
	}
	d := p.get("domain", strings.ToLower(domain))
	s := p.get("local", strings.ToLower(local)) + "@" + d
	p.mu.Lock()
	p.remember(orig, s)
	p.remember(strings.ToLower(orig), s)
	if len(domain) >= 4 {
		p.remember(strings.ToLower(domain), d)
	}
	p.mu.Unlock()
	return s
}

// remember notes an original that replaceKnown replaces; p.mu is held.
func (p *pseudonyms) remember(orig, s string) {
	if _, ok := p.stand[orig]; ok {
		return
	}
	p.stand[orig] = s
	p.known = append(p.known, orig)
	slices.SortFunc(p.known, func(a, b string) int { return len(b) - len(a) })
}

// replaceKnown replaces names and addresses already mapped wherever they
// appear in s (a URL, a form), as written and, when escaped is set,
// URL-escaped.
func (p *pseudonyms) replaceKnown(s string, escaped bool) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, orig := range p.known {
		s = strings.ReplaceAll(s, orig, p.stand[orig])
		if escaped {
			for _, e := range []string{url.QueryEscape(orig), url.PathEscape(orig)} {
				if e != orig {
					s = strings.ReplaceAll(s, e, url.QueryEscape(p.stand[orig]))
				}
			}
		}
	}
	return s
}

// personKeys are the fields of a person (a user, an emailAddress, a
// Teams identity) and the kind of each.
var personKeys = map[string]string{
	"displayName": "name", "givenName": "name", "surname": "name", "name": "name",
	"mail": "address", "userPrincipalName": "address", "address": "address",
	"mobilePhone": "phone", "businessPhones": "phone", "otherMails": "address",
}

// object maps the personal fields of one JSON object, which sits under
// key in its parent.
func (p *pseudonyms) object(m map[string]any, key string) {
	_, upn := m["userPrincipalName"]
	_, mail := m["mail"]
	person := upn || mail || key == "emailAddress" || key == "user" || key == "organizer" && m["emailAddress"] == nil
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		kind := ""
		switch {
		case k == "subject":
			kind = "subject"
		case k == "bodyPreview":
			kind = "body"
		case k == "content" && (key == "body" || key == "uniqueBody"):
			kind = "body"
		case k == "displayName" && (key == "location" || key == "locations"):
			kind = "place"
		case k == "internetMessageId" || k == "value" && key == "internetMessageHeaders":
			// Addresses and domains in them, as mapped elsewhere.
			if s, ok := v.(string); ok {
				m[k] = p.replaceKnown(s, false)
			}
			continue
		case person:
			kind = personKeys[k]
		}
		if kind != "" {
			m[k] = p.value(kind, v)
		}
	}
}

// value maps a string, or each string of an array.
func (p *pseudonyms) value(kind string, v any) any {
	switch v := v.(type) {
	case string:
		return p.get(kind, v)
	case []any:
		for i := range v {
			v[i] = p.value(kind, v[i])
		}
	}
	return v
}

// claimKinds are the personal claims of an ID token.
var claimKinds = map[string]string{
	"name": "name", "given_name": "name", "family_name": "name",
	"preferred_username": "address", "email": "address", "upn": "address", "unique_name": "address",
}

// claims maps the personal claims of an ID token.
func (p *pseudonyms) claims(c map[string]any) {
	for _, k := range slices.Sorted(maps.Keys(claimKinds)) {
		kind := claimKinds[k]
		if v, ok := c[k]; ok {
			c[k] = p.value(kind, v)
		}
	}
}
