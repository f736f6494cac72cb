package urlcheck

import (
	"strings"
	"testing"
)

func TestShown(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"https://graph.microsoft.com/v1.0/":                "https://graph.microsoft.com/v1.0/",
		"https://user:pw-secret@host.example/x?code=abc#f": "https://host.example/x",
		"https://user:pw-secret@/x":                        "https:///x",
		"https://user:pw-secret@[::1":                      "(not a URL)",
		"http://127.0.0.1:8080/cb?state=s":                 "http://127.0.0.1:8080/cb",
		"relative/path?client_secret=x":                    "relative/path",
		"mailto:someone@example.com":                       "mailto:",
		"https://login.microsoftonline.com/organizations/": "https://login.microsoftonline.com/organizations/",
	} {
		if got := Shown(raw); got != want {
			t.Errorf("Shown(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.8.9.1": true, "::1": true,
		"": false, "localhost.example.com": false, "10.0.0.1": false, "graph.microsoft.com": false, "0.0.0.0": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestLocalPath(t *testing.T) {
	t.Parallel()
	long := "/" + strings.Repeat("a", MaxLocalPath)
	for p, ok := range map[string]bool{
		"": true, "/": true, "/meetings?id=7#top": true, "/a/b%2Fc": true,
		"meetings": false, "//evil.example/x": false, "/\\evil.example": false, "/a\\b": false,
		"https://evil.example/": false, "/a\nb": false, "/a\x7fb": false, long: false, long[:MaxLocalPath]: true,
	} {
		if err := LocalPath(p); (err == nil) != ok {
			t.Errorf("LocalPath(%.40q) = %v, want ok %v", p, err, ok)
		}
	}
}
