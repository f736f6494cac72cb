package teams

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestSanitizeHTML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Hello World", "Hello World"},
		{"allowed tags", "<b>b</b><i>i</i><u>u</u><strong>s</strong><em>e</em><code>c</code>", "<b>b</b><i>i</i><u>u</u><strong>s</strong><em>e</em><code>c</code>"},
		{"blocks", "<h1>T</h1><h2>S</h2><h3>s</h3><p>p</p><pre>x</pre><blockquote>q</blockquote>", "<h1>T</h1><h2>S</h2><h3>s</h3><p>p</p><pre>x</pre><blockquote>q</blockquote>"},
		{"lists", "<ul><li>a</li></ul><ol><li>b</li></ol>", "<ul><li>a</li></ul><ol><li>b</li></ol>"},
		{"upper case", "<B>x</B><SPAN>y</SPAN>", "<b>x</b><span>y</span>"},
		{"attributes dropped", `<p class="x" style="color:red" onclick="evil()">t</p>`, "<p>t</p>"},
		{"br forms", "a<br>b<br/>c<BR />d</br>", "a<br>b<br>c<br>d"},
		{"script with content", "a<script>alert('x')</script>b", "ab"},
		{"script case and spaces", "a<SCRIPT type=x>1</script >b", "ab"},
		{"script unterminated", "a<script>alert(1)", "a"},
		{"style", "<style>p{}</style>ok", "ok"},
		{"iframe", `<iframe src="https://evil.example"></iframe>ok`, "ok"},
		{"img onerror", `"><img src=x onerror=alert(1)>`, "&#34;&gt;"},
		{"unknown tag keeps text", "<div><font color=red>hi</font></div>", "hi"},
		{"svg", `<svg onload=alert(1)><circle/></svg>x`, "x"},
		{"comment", "a<!-- <script>x</script> -->b", "ab"},
		{"doctype", "<!DOCTYPE html>x", "x"},
		{"processing instruction", "<?xml version=1?>x", "x"},
		{"stray lt", "1 < 2 and 3>2", "1 &lt; 2 and 3&gt;2"},
		{"lt then letter unterminated", "a <b", "a &lt;b"},
		{"unterminated quote", `<a href="https://x.example>t`, `&lt;a href=&#34;https://x.example&gt;t`},
		{"bare amp", "AT&T", "AT&amp;T"},
		{"entities kept as text", "&lt;script&gt;", "&lt;script&gt;"},
		{"numeric entity", "&#60;b&#62;", "&lt;b&gt;"},
		{"link http", `<a href="http://example.com/a?b=1&amp;c=2">x</a>`, `<a href="http://example.com/a?b=1&amp;c=2">x</a>`},
		{"link https single quotes", `<a href='https://example.com' target=_blank>x</a>`, `<a href="https://example.com">x</a>`},
		{"link unquoted", `<a href=https://example.com/>x</a>`, `<a href="https://example.com/">x</a>`},
		{"link mailto", `<a href="mailto:jane@example.com">mail</a>`, `<a href="mailto:jane@example.com">mail</a>`},
		{"link javascript", `<a href="javascript:alert(1)">x</a>`, "x"},
		{"link javascript mixed case", `<a href="JaVaScRiPt:alert(1)">x</a>`, "x"},
		{"link javascript entity", `<a href="&#106;avascript:alert(1)">x</a>`, "x"},
		{"link javascript tab", "<a href=\"java\tscript:alert(1)\">x</a>", "x"},
		{"link data", `<a href="data:text/html,<script>alert(1)</script>">x</a>`, "x"},
		{"link relative", `<a href="/settings">x</a>`, "x"},
		{"link protocol relative", `<a href="//evil.example">x</a>`, "x"},
		{"link no href", `<a name="top">x</a>`, "x"},
		{"link first href wins", `<a href="https://ok.example" href="javascript:x">x</a>`, `<a href="https://ok.example">x</a>`},
		{"link quote in href", `<a href='https://x.example/"onmouseover="a'>x</a>`, `<a href="https://x.example/&#34;onmouseover=&#34;a">x</a>`},
		{"teams markup dropped", `<at id="0">Everyone</at><attachment id="1"></attachment>`, "Everyone"},
		{"unclosed closed", "<b><i>x", "<b><i>x</i></b>"},
		{"misnested", "<b><i>x</b>y</i>", "<b><i>x</i></b>y"},
		{"stray close", "x</p></b>", "x"},
		{"weird names", "<a<b>x", "&lt;a<b>x</b>"},
		{"namespace", "<b:x>t</b:x>", "&lt;b:x&gt;t&lt;/b:x&gt;"},
		{"lt slash space", "a </ b", "a &lt;/ b"},
		{"unterminated tag makes the rest text", "<b>x</b> <a x='1 <b>y</b>", "<b>x</b> &lt;a x=&#39;1 &lt;b&gt;y&lt;/b&gt;"},
		{"unterminated comment makes the rest text", "a<!-- <b>y</b>", "a&lt;!-- &lt;b&gt;y&lt;/b&gt;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := SanitizeHTML(tt.in); got != tt.want {
				t.Errorf("SanitizeHTML(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestSanitizeHTMLLinear feeds inputs that made an earlier version
// quadratic (every '<' re-scanned to the end of the input; every stray
// close tag scanned the whole stack of open elements): 300 KB of each must
// take milliseconds, not minutes.
func TestSanitizeHTMLLinear(t *testing.T) {
	t.Parallel()
	const n = 100_000
	for name, in := range map[string]string{
		"unterminated tags":     strings.Repeat("<a ", n),
		"unterminated quotes":   strings.Repeat("<a x='", n/2),
		"unterminated comments": strings.Repeat("<!--", n),
		"stray closes":          strings.Repeat("<b>", n/2) + strings.Repeat("</i>", n/2),
	} {
		start := time.Now()
		out := SanitizeHTML(in)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: SanitizeHTML of %d bytes took %v", name, len(in), d)
		}
		if strings.Count(out, "<") > len(in)/3+1 {
			t.Errorf("%s: output has more tags than the input", name)
		}
	}
}

var (
	// outputTagRE matches every tag SanitizeHTML may produce.
	outputTagRE = regexp.MustCompile(`^(?:</?(?:b|i|u|strong|em|p|ul|ol|li|a|code|pre|blockquote|h1|h2|h3|span)>|<br>|<a href="(?i:https?://|mailto:)[^"<>]*">)$`)
	anyTagRE    = regexp.MustCompile(`<[^<>]*>?`)
)

// checkSanitized fails unless out holds only allow-listed tags, with
// nothing else starting with '<', and is stable under sanitizing again.
func checkSanitized(t *testing.T, in, out string) {
	t.Helper()
	for _, tag := range anyTagRE.FindAllString(out, -1) {
		if !outputTagRE.MatchString(tag) {
			t.Fatalf("SanitizeHTML(%q) = %q: tag %q is not allowed", in, out, tag)
		}
	}
	if strings.Count(out, "<") != len(anyTagRE.FindAllString(out, -1)) {
		t.Fatalf("SanitizeHTML(%q) = %q: a '<' outside a tag", in, out)
	}
	if again := SanitizeHTML(out); again != out {
		t.Fatalf("SanitizeHTML is not stable for %q:\n once %q\ntwice %q", in, out, again)
	}
}

func FuzzSanitizeHTML(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	for _, s := range []string{
		"<b><i>x</b></i>", `<a href=https://x.example/>y</a>`, `<a href="&#x6A;avascript:1">z</a>`,
		"<scr<script>ipt>alert(1)</script>", "<<b>>", "<!--", "<!-->x", "<p\x00>", "<a href='mailto:'>m</a>",
		"<a href=\"https://x.example\"><a href=\"javascript:1\">in</a>out</a>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkSanitized(t, in, SanitizeHTML(in))
	})
}
