package teams

import (
	"html"
	"net/url"
	"strings"
)

// allowedTags are the elements SanitizeHTML keeps, without attributes
// (except href on a).
var allowedTags = map[string]bool{
	"b": true, "i": true, "u": true, "strong": true, "em": true,
	"p": true, "br": true, "ul": true, "ol": true, "li": true,
	"a": true, "code": true, "pre": true, "blockquote": true,
	"h1": true, "h2": true, "h3": true, "span": true,
}

// rawTextTags are elements whose content is not markup (or, for iframe and
// friends, not meant to be seen): SanitizeHTML drops them with their content.
var rawTextTags = map[string]bool{
	"script": true, "style": true, "textarea": true, "title": true,
	"xmp": true, "iframe": true, "noembed": true, "noframes": true,
	"noscript": true, "template": true, "plaintext": true,
}

// SanitizeHTML returns s reduced to the markup Teams messages need and
// nothing more: the elements b, i, u, strong, em, p, br, ul, ol, li, code,
// pre, blockquote, h1, h2, h3 and span without attributes, and a with an
// http, https or mailto href only. Other elements are dropped while their
// text is kept (script, style, iframe and similar are dropped with their
// content); comments and declarations are dropped; every other attribute
// is dropped; text is re-escaped so that a stray "<" or "&" stays text,
// and a tag, comment or quoted attribute left open at the end of s makes
// the rest of s text. The work is linear in len(s).
// Elements left open are closed, so the result is balanced. Teams' own
// markup (<at>, <attachment>) is dropped too: mentions and cards are added
// only through [MentionUser] and [Message].Cards.
//
// The result is stable: SanitizeHTML(SanitizeHTML(s)) == SanitizeHTML(s).
func SanitizeHTML(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	var open []string
	var depth map[string]int // open elements by name, so a stray close costs O(1)
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			writeText(&b, s[i:])
			break
		}
		writeText(&b, s[i:i+j])
		i += j
		t, n, ok := parseTag(s[i:])
		if !ok {
			if n < 0 {
				// The tag, comment or quoted value runs to the end of
				// the input: the rest is text. Stopping here keeps the
				// work linear (retrying at every later '<' would not).
				writeText(&b, s[i:])
				break
			}
			b.WriteString("&lt;")
			i++
			continue
		}
		i += n
		if t.name == "" { // comment or declaration
			continue
		}
		if !t.closing && rawTextTags[t.name] {
			i += skipRawText(s[i:], t.name)
			continue
		}
		if !allowedTags[t.name] {
			continue
		}
		switch {
		case t.name == "br":
			if !t.closing {
				b.WriteString("<br>")
			}
		case t.closing:
			if depth[t.name] == 0 {
				continue // nothing to close: drop
			}
			for {
				top := open[len(open)-1]
				open = open[:len(open)-1]
				depth[top]--
				b.WriteString("</" + top + ">")
				if top == t.name {
					break
				}
			}
		case t.name == "a":
			href, ok := safeHref(t.href)
			if !ok {
				continue // a link without a safe target is just its text
			}
			b.WriteString(`<a href="` + html.EscapeString(href) + `">`)
			open, depth = push(open, depth, "a")
		default:
			b.WriteString("<" + t.name + ">")
			open, depth = push(open, depth, t.name)
		}
	}
	for k := len(open) - 1; k >= 0; k-- {
		b.WriteString("</" + open[k] + ">")
	}
	return b.String()
}

// push records an open element.
func push(open []string, depth map[string]int, name string) ([]string, map[string]int) {
	if depth == nil {
		depth = make(map[string]int, len(allowedTags))
	}
	depth[name]++
	return append(open, name), depth
}

// writeText writes text content normalized: entities decoded, then
// everything that means something in HTML escaped again.
func writeText(b *strings.Builder, t string) {
	if t == "" {
		return
	}
	b.WriteString(html.EscapeString(html.UnescapeString(t)))
}

// tag is a parsed start or end tag. name is lower case; empty for a
// comment or declaration.
type tag struct {
	name    string
	closing bool
	href    string // raw value of the first href attribute
	hasHref bool
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isNameByte(c byte) bool {
	return isASCIILetter(c) || c >= '0' && c <= '9' || c == '-'
}

// parseTag parses the tag at the start of s (s[0] == '<') and returns it
// with its length. ok is false when s does not start with a complete tag,
// comment or declaration: the "<" is then text. When ok is false because
// the tag runs to the end of s (no closing '>', quote or "-->"), n is -1.
func parseTag(s string) (t tag, n int, ok bool) {
	if strings.HasPrefix(s, "<!--") {
		end := strings.Index(s[4:], "-->")
		if end < 0 {
			return tag{}, -1, false
		}
		return tag{}, 4 + end + 3, true
	}
	if len(s) < 2 {
		return tag{}, 0, false
	}
	i := 1
	switch {
	case s[1] == '!' || s[1] == '?':
		end := strings.IndexByte(s, '>')
		if end < 0 {
			return tag{}, -1, false
		}
		return tag{}, end + 1, true
	case s[1] == '/':
		t.closing = true
		i = 2
	}
	if i >= len(s) || !isASCIILetter(s[i]) {
		return tag{}, 0, false
	}
	start := i
	for i < len(s) && isNameByte(s[i]) {
		i++
	}
	t.name = strings.ToLower(s[start:i])
	if i < len(s) && !isSpace(s[i]) && s[i] != '/' && s[i] != '>' {
		return tag{}, 0, false // "<a<b>" or "<b:x>": not a tag we recognise
	}
	// Attributes, up to the closing '>'.
	for {
		for i < len(s) && (isSpace(s[i]) || s[i] == '/') {
			i++
		}
		if i >= len(s) {
			return tag{}, -1, false
		}
		if s[i] == '>' {
			return t, i + 1, true
		}
		ns := i
		i++ // an attribute name may start with '='
		for i < len(s) && !isSpace(s[i]) && s[i] != '/' && s[i] != '>' && s[i] != '=' {
			i++
		}
		name := strings.ToLower(s[ns:i])
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		value := ""
		if i < len(s) && s[i] == '=' {
			i++
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			if i >= len(s) {
				return tag{}, -1, false
			}
			if q := s[i]; q == '"' || q == '\'' {
				end := strings.IndexByte(s[i+1:], q)
				if end < 0 {
					return tag{}, -1, false
				}
				value = s[i+1 : i+1+end]
				i += end + 2
			} else {
				vs := i
				for i < len(s) && !isSpace(s[i]) && s[i] != '>' {
					i++
				}
				value = s[vs:i]
			}
		}
		if name == "href" && !t.hasHref {
			t.href, t.hasHref = value, true
		}
	}
}

// skipRawText returns how many bytes of s to skip to get past the end tag
// </name> (matched ASCII case-insensitively), or len(s) if there is none.
func skipRawText(s, name string) int {
	for i := 0; i < len(s); i++ {
		if s[i] != '<' || i+1 >= len(s) || s[i+1] != '/' {
			continue
		}
		k := i + 2
		if k+len(name) > len(s) || !strings.EqualFold(s[k:k+len(name)], name) {
			continue
		}
		k += len(name)
		if k < len(s) && isNameByte(s[k]) {
			continue
		}
		end := strings.IndexByte(s[k:], '>')
		if end < 0 {
			return len(s)
		}
		return k + end + 1
	}
	return len(s)
}

// safeHref returns the decoded link target if it is an absolute http or
// https URL with a host, or a mailto URL, and has no control characters.
func safeHref(raw string) (string, bool) {
	v := strings.TrimSpace(html.UnescapeString(raw))
	if v == "" {
		return "", false
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return "", false
		}
	}
	u, err := url.Parse(v)
	if err != nil {
		return "", false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return "", false
		}
	case "mailto":
		if u.Opaque == "" && u.Path == "" {
			return "", false
		}
	default:
		return "", false
	}
	return v, true
}

// escapeText escapes plain text for an HTML body: markup characters become
// entities and line breaks become <br>.
func escapeText(s string) string {
	s = html.EscapeString(s)
	if strings.ContainsAny(s, "\r\n") {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
		s = strings.ReplaceAll(s, "\n", "<br>")
	}
	return s
}
