package mail_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/mail"
)

func TestStats(t *testing.T) {
	t.Parallel()
	var s mail.Stats
	s.Add(&mail.Page{Messages: make([]mail.Message, 2), Removed: []string{"r"},
		Skipped: []mail.Skipped{{ID: "1", Reason: "internal"}, {ID: "2", Reason: "draft"}, {ID: "3", Reason: "internal"}}})
	s.Add(&mail.Page{Reset: true, Messages: make([]mail.Message, 1)})
	want := mail.Stats{Kept: 3, Removed: 1, Resets: 1, Skipped: map[string]int{"internal": 2, "draft": 1}}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
	if s.Filtered() != 3 {
		t.Errorf("Filtered = %d, want 3", s.Filtered())
	}
}

func TestMessageHeader(t *testing.T) {
	t.Parallel()
	m := mail.Message{InternetMessageHeaders: []mail.InternetMessageHeader{{Name: "List-Id", Value: "<news.fabrikam.com>"}, {Name: "list-id", Value: "second"}}}
	if got := m.Header("LIST-ID"); got != "<news.fabrikam.com>" {
		t.Errorf("Header(LIST-ID) = %q, want the first value", got)
	}
	if got := m.Header("Precedence"); got != "" {
		t.Errorf("Header(Precedence) = %q, want empty", got)
	}
}
