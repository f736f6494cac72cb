package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/examples/internal/programtest"
	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/m365test"
)

func TestShareToChannelAndChat(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	env := setup.Env{Getenv: programtest.NoEnv, Demo: d}

	var out bytes.Buffer
	err := runEnv(t.Context(), []string{"-channel", "engineering/releases", "-title", "Churn risk", "-url", "https://app.example.com/clips/9", "-note", "Listen from 0:40"}, &out, new(bytes.Buffer), env)
	if err != nil {
		t.Fatal(err)
	}
	var releases *graphtest.Channel
	for _, c := range d.Demo.Engineering.Channels() {
		if c.DisplayName == "Releases" {
			releases = c
		}
	}
	msgs := releases.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages in Engineering › Releases, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From.ID != d.Demo.Adele.ID || !strings.Contains(m.Content, "Listen from 0:40") || len(m.Attachments) != 1 ||
		!strings.Contains(m.Attachments[0].Content, "https://app.example.com/clips/9") || !strings.Contains(m.Attachments[0].Content, "Churn risk") {
		t.Errorf("posted message: %+v", m)
	}
	if !strings.Contains(out.String(), `shared "Churn risk" to Engineering › Releases as Adele Vance`) || !strings.Contains(out.String(), m.ID) {
		t.Errorf("output: %s", out.String())
	}

	out.Reset()
	if err := runEnv(t.Context(), []string{"-chat", "Launch crew"}, &out, new(bytes.Buffer), env); err != nil {
		t.Fatal(err)
	}
	if n := len(d.Demo.Chat.Messages()); n != 1 {
		t.Errorf("%d messages in the Launch crew chat, want 1", n)
	}
}

func TestShareErrors(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	env := setup.Env{Getenv: programtest.NoEnv, Demo: d}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-channel", "Engineering"}, `want "Team/Channel"`},
		{[]string{"-channel", "Marketing/General"}, `team named "Marketing"`},
		{[]string{"-channel", "Engineering/Random"}, `no channel named "Random"`},
		{[]string{"-chat", "Book club"}, `-chat "Book club"`},
		{[]string{"-channel", "Engineering/General", "-chat", "Launch crew"}, "pick one"},
		{[]string{"-url", "javascript:alert(1)"}, "teams:"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		err := runEnv(t.Context(), tt.args, new(bytes.Buffer), new(bytes.Buffer), env)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run %v: err = %v, want one containing %q", tt.args, err, tt.want)
		}
	}
	for _, c := range d.Demo.Engineering.Channels() {
		if n := len(c.Messages()); n != 0 {
			t.Errorf("a failed run posted %d messages to %s", n, c.DisplayName)
		}
	}
}
