package teams

import (
	"strings"
	"testing"
	"time"
)

func BenchmarkBuildClipMessage(b *testing.B) {
	msg := ClipMessage(Clip{
		Title: "Pricing objection", URL: "https://app.example.com/clips/c_123", Duration: 95 * time.Second,
		Snippet: "If you can do annual billing we can sign this week.", Speaker: "Dana Lee",
		ThumbnailURL: "https://app.example.com/clips/c_123/thumb.png", SharedBy: "Robin Kline", Note: "Worth a listen.",
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := msg.Build(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSanitizeHTML(b *testing.B) {
	in := strings.Repeat(`<p class="x">Notes from <b>today</b> &amp; <a href="https://example.com/a?b=1">link</a><script>x()</script></p>`, 50)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		SanitizeHTML(in)
	}
}
