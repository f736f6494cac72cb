package mail_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/mail"
)

func rcpt(addr string) mail.Recipient {
	return mail.Recipient{EmailAddress: mail.EmailAddress{Address: addr}}
}

func named(name, addr string) mail.Recipient {
	return mail.Recipient{EmailAddress: mail.EmailAddress{Name: name, Address: addr}}
}

// msg returns a message from "from" to "to".
func msg(from string, to ...string) *mail.Message {
	m := &mail.Message{ID: "m", From: rcpt(from), Sender: rcpt(from)}
	for _, a := range to {
		m.ToRecipients = append(m.ToRecipients, rcpt(a))
	}
	return m
}

func with(m *mail.Message, f func(*mail.Message)) *mail.Message {
	f(m)
	return m
}

func TestBuiltInFilters(t *testing.T) {
	t.Parallel()
	crm, err := mail.NewAddressSet("fabrikam.com", "buyer@woodgrove.com")
	if err != nil {
		t.Fatal(err)
	}
	classification := func(class, sensitivity string) []mail.ExtendedProperty {
		// Graph echoes extended property ids in its own spelling.
		return []mail.ExtendedProperty{{ID: "String 0x1a", Value: class}, {ID: "Integer 0x36", Value: sensitivity}}
	}
	tests := []struct {
		name   string
		filter mail.Filter
		m      *mail.Message
		want   string
	}{
		{"external: customer on cc", mail.ExternalOnly("contoso.com"),
			with(msg("jane@contoso.com", "bob@contoso.com"), func(m *mail.Message) { m.CcRecipients = []mail.Recipient{rcpt("x@fabrikam.com")} }), ""},
		{"external: all internal", mail.ExternalOnly("contoso.com"), msg("jane@contoso.com", "bob@contoso.com"), mail.ReasonInternal},
		{"external: no internal domains fails closed", mail.ExternalOnly(), msg("jane@contoso.com", "kim@fabrikam.com"), mail.ReasonNoDomains},
		{"external: only invalid internal domains fails closed", mail.ExternalOnly("contoso,com", ""), msg("jane@contoso.com", "kim@fabrikam.com"), mail.ReasonNoDomains},
		{"external: subdomain is internal", mail.ExternalOnly("contoso.com"), msg("jane@eu.contoso.com", "Bob@CONTOSO.com"), mail.ReasonInternal},
		{"external: look-alike domain is external", mail.ExternalOnly("contoso.com"), msg("jane@contoso.com", "bob@evilcontoso.com"), ""},
		{"external: several internal domains", mail.ExternalOnly("contoso.com", "@contoso.onmicrosoft.com"), msg("jane@contoso.onmicrosoft.com", "bob@contoso.com"), mail.ReasonInternal},
		{"external: display name cannot make it internal", mail.ExternalOnly("contoso.com"),
			&mail.Message{From: named("ceo@contoso.com", "x@evil.com"), ToRecipients: []mail.Recipient{rcpt("bob@contoso.com")}}, ""},
		{"external: address with a display-name trick", mail.ExternalOnly("contoso.com"),
			&mail.Message{From: rcpt(`"ceo@contoso.com" <x@evil.com>`), ToRecipients: []mail.Recipient{rcpt("bob@contoso.com")}}, ""},
		{"external: exchange legacy DN is internal", mail.ExternalOnly("contoso.com"),
			msg("/O=EXCHANGELABS/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=JANE", "bob@contoso.com"), mail.ReasonInternal},
		{"external: bcc counts", mail.ExternalOnly("contoso.com"),
			with(msg("jane@contoso.com"), func(m *mail.Message) { m.BccRecipients = []mail.Recipient{rcpt("a@fabrikam.com")} }), ""},
		{"external: reply-to is not a participant", mail.ExternalOnly("contoso.com"),
			with(msg("jane@contoso.com", "bob@contoso.com"), func(m *mail.Message) { m.ReplyTo = []mail.Recipient{rcpt("a@fabrikam.com")} }), mail.ReasonInternal},
		{"external: non-ASCII domain in another case", mail.ExternalOnly("bücher.de"), msg("jörg@BÜCHER.de", "anna@Verlag.Bücher.de"), mail.ReasonInternal},
		{"external: no participants", mail.ExternalOnly("contoso.com"), &mail.Message{}, mail.ReasonInternal},

		{"involving: crm domain", mail.Involving(crm), msg("jane@contoso.com", "someone@sales.fabrikam.com"), ""},
		{"involving: crm contact with tag", mail.Involving(crm), msg("Buyer+po@Woodgrove.com", "jane@contoso.com"), ""},
		{"involving: unknown", mail.Involving(crm), msg("jane@contoso.com", "other@woodgrove.com"), mail.ReasonNotInvolved},
		{"involving: matcher func", mail.Involving(mail.MatcherFunc(func(a mail.Address) bool { return a.Local == "bob" })), msg("jane@contoso.com", "bob@x.org"), ""},
		{"involving: nil matcher", mail.Involving(nil), msg("jane@contoso.com"), mail.ReasonNotInvolved},

		{"drafts", mail.SkipDrafts(), with(msg("jane@contoso.com"), func(m *mail.Message) { m.IsDraft = true }), mail.ReasonDraft},
		{"not a draft", mail.SkipDrafts(), msg("jane@contoso.com"), ""},

		{"category", mail.SkipCategories("Personal", "Private"), with(msg("a@b.c"), func(m *mail.Message) { m.Categories = []string{"Blue", "private"} }), mail.ReasonCategory},
		{"other category", mail.SkipCategories("Personal"), with(msg("a@b.c"), func(m *mail.Message) { m.Categories = []string{"Personal project"} }), ""},

		{"automated: no-reply", mail.SkipAutomated(), msg("No-Reply@accounts.contoso.com", "jane@contoso.com"), mail.ReasonAutomated},
		{"automated: noreply prefix", mail.SkipAutomated(), msg("noreply-dmarc-support@google.com"), mail.ReasonAutomated},
		{"automated: do_not_reply", mail.SkipAutomated(), msg("do_not_reply@bank.com"), mail.ReasonAutomated},
		{"automated: mailer-daemon", mail.SkipAutomated(), msg("MAILER-DAEMON@mx.contoso.com"), mail.ReasonAutomated},
		{"automated: sender differs from from", mail.SkipAutomated(),
			&mail.Message{From: rcpt("jane@contoso.com"), Sender: rcpt("bounces+123@mailer.contoso.com")}, mail.ReasonAutomated},
		{"automated: person", mail.SkipAutomated(), msg("norbert@contoso.com"), ""},
		{"automated: meeting response", mail.SkipAutomated(),
			with(msg("bob@fabrikam.com"), func(m *mail.Message) {
				m.SingleValueExtendedProperties = classification("IPM.Schedule.Meeting.Resp.Pos", "0")
			}), mail.ReasonAutomated},
		{"automated: NDR", mail.SkipAutomated(),
			with(msg("x@contoso.com"), func(m *mail.Message) { m.SingleValueExtendedProperties = classification("REPORT.IPM.Note.NDR", "0") }), mail.ReasonAutomated},
		{"automated: meeting request is not", mail.SkipAutomated(),
			with(msg("bob@fabrikam.com"), func(m *mail.Message) {
				m.SingleValueExtendedProperties = classification("IPM.Schedule.Meeting.Request", "0")
			}), ""},
		{"automated: bulk precedence", mail.SkipAutomated(),
			with(msg("news@fabrikam.com"), func(m *mail.Message) {
				m.InternetMessageHeaders = []mail.InternetMessageHeader{{Name: "precedence", Value: " Bulk "}}
			}), mail.ReasonAutomated},
		{"automated: list-unsubscribe", mail.SkipAutomated(),
			with(msg("news@fabrikam.com"), func(m *mail.Message) {
				m.InternetMessageHeaders = []mail.InternetMessageHeader{{Name: "List-Unsubscribe", Value: "<mailto:u@fabrikam.com>"}}
			}), mail.ReasonAutomated},
		{"automated: auto-submitted no", mail.SkipAutomated(),
			with(msg("bob@fabrikam.com"), func(m *mail.Message) {
				m.InternetMessageHeaders = []mail.InternetMessageHeader{{Name: "Auto-Submitted", Value: "no"}}
			}), ""},
		{"automated: auto-submitted", mail.SkipAutomated(),
			with(msg("bob@fabrikam.com"), func(m *mail.Message) {
				m.InternetMessageHeaders = []mail.InternetMessageHeader{{Name: "Auto-Submitted", Value: "auto-replied"}}
			}), mail.ReasonAutomated},

		{"sensitive: private", mail.SkipSensitive(),
			with(msg("bob@fabrikam.com"), func(m *mail.Message) { m.SingleValueExtendedProperties = classification("IPM.Note", "2") }), mail.ReasonSensitive},
		{"sensitive: normal", mail.SkipSensitive(),
			with(msg("bob@fabrikam.com"), func(m *mail.Message) { m.SingleValueExtendedProperties = classification("IPM.Note", "0") }), ""},
		{"sensitive: not selected", mail.SkipSensitive(), msg("bob@fabrikam.com"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.filter(tt.m); got != tt.want {
				t.Errorf("filter = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCombinators(t *testing.T) {
	t.Parallel()
	keep := mail.Filter(func(*mail.Message) string { return "" })
	skipA := mail.Filter(func(*mail.Message) string { return "a" })
	skipB := mail.Filter(func(*mail.Message) string { return "b" })
	tests := []struct {
		name string
		f    mail.Filter
		want string
	}{
		{"all of none keeps", mail.All(), ""},
		{"all keeps when all keep", mail.All(keep, nil, keep), ""},
		{"all gives the first skip reason", mail.All(keep, skipB, skipA), "b"},
		{"any of none keeps", mail.Any(), ""},
		{"any keeps when one keeps", mail.Any(skipA, keep), ""},
		{"any gives the first reason when all skip", mail.Any(skipA, skipB), "a"},
		{"any with nil keeps", mail.Any(skipA, nil), ""},
		{"not skips what f keeps", mail.Not(keep, "excluded"), "excluded"},
		{"not keeps what f skips", mail.Not(skipA, "excluded"), ""},
		{"not without a reason", mail.Not(keep, ""), "not"},
		{"nested", mail.All(mail.Any(skipA, keep), mail.Not(skipB, "x")), ""},
		{"nil filter keeps", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.f.Apply(&mail.Message{}); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBoolAcceptsDocsQuirk(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{`{"isRead": true}`, true}, {`{"isRead": false}`, false}, {`{"isRead": "true"}`, true},
		{`{"isRead": "False"}`, false}, {`{"isRead": null}`, false}, {`{}`, false},
	}
	for _, tt := range tests {
		var m mail.Message
		if err := json.Unmarshal([]byte(tt.in), &m); err != nil {
			t.Fatalf("Unmarshal(%s): %v", tt.in, err)
		}
		if bool(m.IsRead) != tt.want {
			t.Errorf("Unmarshal(%s).IsRead = %v, want %v", tt.in, m.IsRead, tt.want)
		}
	}
	for _, bad := range []string{`{"isRead": "yes"}`, `{"isRead": 1}`} {
		var m mail.Message
		if err := json.Unmarshal([]byte(bad), &m); err == nil {
			t.Errorf("Unmarshal(%s) = nil error, want one", bad)
		}
	}
	// It marshals as a plain boolean.
	b, err := json.Marshal(mail.Message{ID: "x", IsRead: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`{"id":"x","isRead":true}`, string(b)); diff != "" {
		t.Errorf("Marshal (-want +got):\n%s", diff)
	}
}

func FuzzFilters(f *testing.F) {
	f.Add("jane@contoso.com", "x@fabrikam.com", "Personal", "IPM.Note", "2", "Precedence", "bulk")
	f.Add(`"ceo@contoso.com" <x@evil.com>`, "no-reply@x.y", "", "REPORT.IPM.Note.NDR", "x", "", "")
	f.Add("/O=EXCHANGELABS/OU=X", "", "private", "", "", "List-Id", "")
	all := mail.All(
		mail.SkipDrafts(), mail.SkipCategories("Personal", "Private"), mail.SkipAutomated(), mail.SkipSensitive(),
		mail.Any(mail.ExternalOnly("contoso.com"), mail.Involving(mail.MatcherFunc(func(a mail.Address) bool { return a.In("fabrikam.com") }))),
	)
	reasons := []string{"", mail.ReasonInternal, mail.ReasonNotInvolved, mail.ReasonDraft, mail.ReasonCategory, mail.ReasonAutomated, mail.ReasonSensitive}
	f.Fuzz(func(t *testing.T, from, to, category, class, sensitivity, header, value string) {
		m := &mail.Message{
			From: rcpt(from), Sender: named(to, from), ToRecipients: []mail.Recipient{rcpt(to)},
			Categories:                    []string{category},
			SingleValueExtendedProperties: []mail.ExtendedProperty{{ID: "String 0x001A", Value: class}, {ID: "Integer 0x0036", Value: sensitivity}, {ID: class, Value: to}},
			InternetMessageHeaders:        []mail.InternetMessageHeader{{Name: header, Value: value}},
		}
		if r := all(m); !slices.Contains(reasons, r) {
			t.Fatalf("filter gave unknown reason %q", r)
		}
		_ = m.Sensitivity()
		_ = m.MessageClass()
	})
}
