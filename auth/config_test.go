package auth_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/scopes"
)

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	cred, err := auth.Secret("s3cret-value")
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := auth.Sealed(auth.NewMemoryStore(), key(1))
	good := func() auth.Config {
		return auth.Config{ClientID: "6731de76-14a6-49ae-97bc-6eba6914391e", Credential: cred,
			RedirectURL: "https://app.example.com/cb", Store: sealed, HTTPClient: http.DefaultClient}
	}
	tests := []struct {
		name string
		edit func(c *auth.Config)
		want string
	}{
		{"no client ID", func(c *auth.Config) { c.ClientID = " " }, "Config.ClientID"},
		{"no credential", func(c *auth.Config) { c.Credential = auth.Credential{} }, "Config.Credential"},
		{"relative redirect", func(c *auth.Config) { c.RedirectURL = "/cb" }, "Config.RedirectURL"},
		{"http redirect", func(c *auth.Config) { c.RedirectURL = "http://app.example.com/cb" }, "must use https"},
		{"no store", func(c *auth.Config) { c.Store = nil }, "Config.Store is nil"},
		{"plaintext store", func(c *auth.Config) { c.Store = auth.NewMemoryStore() }, "Config.Store is not sealed"},
		{"http authority", func(c *auth.Config) { c.Authority = "http://login.microsoftonline.com/organizations" }, "Config.Authority"},
		{"authority without tenant", func(c *auth.Config) { c.Authority = "https://login.microsoftonline.com" }, "Config.Authority"},
		{"common authority", func(c *auth.Config) { c.Authority = "https://login.microsoftonline.com/common" }, "admits personal accounts"},
		{"negative TTL", func(c *auth.Config) { c.SignInTTL = -1 }, "Config.SignInTTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := good()
			tt.edit(&c)
			_, err := auth.New(c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: err = %v, want one containing %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret-value") {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
	for name, edit := range map[string]func(c *auth.Config){
		"defaults":            func(c *auth.Config) { c.HTTPClient = nil },
		"plaintext opt-out":   func(c *auth.Config) { c.Store, c.AllowPlaintextStore = auth.NewMemoryStore(), true },
		"localhost over http": func(c *auth.Config) { c.RedirectURL = "http://localhost:8080/cb" },
		"single-tenant app": func(c *auth.Config) {
			c.Authority = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47"
		},
	} {
		c := good()
		edit(&c)
		if _, err := auth.New(c); err != nil {
			t.Errorf("%s: New: %v", name, err)
		}
	}
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	if _, err := auth.Secret(""); err == nil {
		t.Error("Secret(\"\") succeeded")
	}
	if _, err := auth.Assertion(nil); err == nil {
		t.Error("Assertion(nil) succeeded")
	}
	if _, err := auth.Assertion(func(context.Context) (string, error) { return "jwt", nil }); err != nil {
		t.Error(err)
	}
	if _, err := auth.CertificateFromPEM([]byte("not pem"), []byte("nor this")); err == nil {
		t.Error("CertificateFromPEM accepted garbage")
	}
}

func TestSignInURLRejectsBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name string
		req  auth.SignInRequest
		want string
	}{
		{"unknown feature", auth.SignInRequest{Features: []scopes.Feature{"files"}}, "unknown feature"},
		{"bad prompt", auth.SignInRequest{Prompt: "always"}, "Prompt"},
		{"select_account with hint", auth.SignInRequest{Prompt: "select_account", LoginHint: "a@b.c"}, "cannot be combined"},
		{"absolute ReturnTo", auth.SignInRequest{ReturnTo: "https://evil.example/"}, "ReturnTo"},
		{"protocol-relative ReturnTo", auth.SignInRequest{ReturnTo: "//evil.example/"}, "ReturnTo"},
		{"backslash ReturnTo", auth.SignInRequest{ReturnTo: "/\\evil.example/"}, "ReturnTo"},
		{"relative ReturnTo", auth.SignInRequest{ReturnTo: "meetings"}, "ReturnTo"},
		{"control character in ReturnTo", auth.SignInRequest{ReturnTo: "/\t/evil.example"}, "ReturnTo"},
		{"long ReturnTo", auth.SignInRequest{ReturnTo: "/" + strings.Repeat("a", 1024)}, "ReturnTo"},
	}
	for _, tt := range tests {
		if _, _, err := e.app.SignInURL(tt.req); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	_, p, err := e.app.SignInURL(auth.SignInRequest{ReturnTo: "/meetings?week=2"})
	if err != nil || p.ReturnTo != "/meetings?week=2" {
		t.Errorf("a path ReturnTo: Pending.ReturnTo %q, err %v", p.ReturnTo, err)
	}
}
