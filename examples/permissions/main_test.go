package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/scopes"
)

func TestMarkdown(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), nil, &out, new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	if out.String() != scopes.Markdown() {
		t.Errorf("output is not scopes.Markdown():\n%s", out.String())
	}
	for _, p := range scopes.Catalog() {
		if !strings.Contains(out.String(), "`"+p.Name+"` | "+p.ID) {
			t.Errorf("the overview lacks %s (%s)", p.Name, p.ID)
		}
	}
}

func TestJSONForFeatures(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-format", "json", "-features", "mail"}, &out, new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	var o overview
	if err := json.Unmarshal(out.Bytes(), &o); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !slices.Equal(o.Scopes, scopes.For(scopes.Mail)) {
		t.Errorf("scopes = %v, want %v", o.Scopes, scopes.For(scopes.Mail))
	}
	if len(o.Features) != 2 || o.Features[0].Name != "signin" || o.Features[1].Name != "mail" {
		t.Errorf("features = %+v, want signin then mail", o.Features)
	}
	var names []string
	for _, p := range o.Permissions {
		if p.ID == "" || p.Description == "" {
			t.Errorf("permission %+v lacks its ID or description", p)
		}
		names = append(names, p.Name)
	}
	if !slices.Contains(names, "Mail.Read") || slices.Contains(names, "Calendars.ReadWrite") {
		t.Errorf("permissions = %v", names)
	}
	for _, n := range names {
		if strings.Contains(n, "Send") || strings.Contains(n, "Write") {
			t.Errorf("mail sync asks for %s", n)
		}
	}
}

func TestBadFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-format", "yaml"}, `-format "yaml"`},
		{[]string{"-features", "calender"}, "-features"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		err := run(t.Context(), tt.args, new(bytes.Buffer), new(bytes.Buffer))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run %v: err = %v, want one containing %q", tt.args, err, tt.want)
		}
	}
}
