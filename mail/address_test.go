package mail_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/mail"
)

func TestParseAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     mail.Address
	}{
		{"bare", "jane@contoso.com", mail.Address{Local: "jane", Domain: "contoso.com"}},
		{"case, tag and trailing dot", "Jane.Doe+CRM@Contoso.COM.", mail.Address{Local: "jane.doe", Tag: "crm", Domain: "contoso.com"}},
		{"display name", "Jane Doe <jane@contoso.com>", mail.Address{Local: "jane", Domain: "contoso.com"}},
		{"display name that is an address", `"ceo@bank.com" <x@evil.com>`, mail.Address{Local: "x", Domain: "evil.com"}},
		{"unquoted display name that is an address", `ceo@bank.com <x@evil.com>`, mail.Address{Local: "x", Domain: "evil.com"}},
		{"last angle brackets win", `"<ceo@bank.com>" <x@evil.com>`, mail.Address{Local: "x", Domain: "evil.com"}},
		{"angle brackets only", " <Jane@Contoso.com> ", mail.Address{Local: "jane", Domain: "contoso.com"}},
		{"mailto", "mailto:Jane@Contoso.com", mail.Address{Local: "jane", Domain: "contoso.com"}},
		{"exchange proxy address", "SMTP:jane@contoso.com", mail.Address{Local: "jane", Domain: "contoso.com"}},
		{"quoted local part", `"john doe"@contoso.com`, mail.Address{Local: "john doe", Domain: "contoso.com"}},
		{"subdomain", "a@EU.Mail.Contoso.com", mail.Address{Local: "a", Domain: "eu.mail.contoso.com"}},
		{"leading plus is not a tag", "+1555@sms.contoso.com", mail.Address{Local: "+1555", Domain: "sms.contoso.com"}},
		{"international domain", "jörg@bücher.de", mail.Address{Local: "jörg", Domain: "bücher.de"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := mail.ParseAddress(tt.in)
			if err != nil {
				t.Fatalf("ParseAddress(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseAddress(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseAddressErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, problem string }{
		{"", "is empty"},
		{"jane", "local@domain"},
		{"@contoso.com", "local@domain"},
		{"jane@", "local@domain"},
		{"jane@@contoso.com", "'@' in its local part"},
		{"ja ne@contoso.com", "' ' in its local part"},
		{"jane@conto so.com", "' ' in its domain"},
		{"Jane <jane@contoso.com", "without a closing '>'"},
		{"jane@-contoso.com", "starting or ending with '-'"},
		{"jane@contoso..com", "empty or over-long label"},
		{".jane@contoso.com", "misplaced '.'"},
		{"/O=EXCHANGELABS/OU=EXCHANGE ADMINISTRATIVE GROUP/CN=RECIPIENTS/CN=JANE", "local@domain"},
		{"jane@[10.0.0.1]", "'[' in its domain"},
		{"jane@contoso.com\xff", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			_, err := mail.ParseAddress(tt.in)
			if err == nil {
				t.Fatalf("ParseAddress(%q) = nil error, want one saying %q", tt.in, tt.problem)
			}
			if !errors.Is(err, graphclient.ErrInvalidInput) {
				t.Errorf("errors.Is(%v, ErrInvalidInput) = false", err)
			}
			var me *mail.Error
			if !errors.As(err, &me) || !strings.Contains(err.Error(), tt.problem) || !strings.HasPrefix(me.Input, "address ") {
				t.Errorf("ParseAddress(%q) error = %v, want an *mail.Error naming the address and saying %q", tt.in, err, tt.problem)
			}
		})
	}
}

func TestAddressIn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr, domain string
		want         bool
	}{
		{"a@contoso.com", "contoso.com", true},
		{"a@eu.contoso.com", "contoso.com", true},
		{"a@evilcontoso.com", "contoso.com", false},
		{"a@contoso.com.evil.net", "contoso.com", false},
		{"a@com", "contoso.com", false},
		{"a@EU.contoso.com", "Contoso.COM.", true},
	}
	for _, tt := range tests {
		a, err := mail.ParseAddress(tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.In(tt.domain); got != tt.want {
			t.Errorf("%q.In(%q) = %v, want %v", tt.addr, tt.domain, got, tt.want)
		}
	}
}

func TestAddressSet(t *testing.T) {
	t.Parallel()
	set, err := mail.NewAddressSet("acme.com", "Jane@Contoso.com", "@fabrikam.com", "*.tailspintoys.com", "CFO <cfo@woodgrove.com>")
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 5 {
		t.Errorf("Len = %d, want 5", set.Len())
	}
	tests := []struct {
		addr string
		want bool
	}{
		{"bob@acme.com", true},
		{"bob@sales.acme.com", true},
		{"bob@notacme.com", false},
		{"jane+deals@contoso.com", true},
		{"JANE@CONTOSO.COM", true},
		{"bob@contoso.com", false},
		{"x@fabrikam.com", true},
		{"x@eu.tailspintoys.com", true},
		{"cfo@woodgrove.com", true},
		{"ceo@woodgrove.com", false},
		{`"cfo@woodgrove.com" <x@evil.com>`, false},
	}
	for _, tt := range tests {
		a, err := mail.ParseAddress(tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := set.Match(a); got != tt.want {
			t.Errorf("Match(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}

	for _, bad := range []string{"", "not a domain", "jane@", "x@y@", "contoso..com"} {
		_, err := mail.NewAddressSet("acme.com", bad)
		var me *mail.Error
		if !errors.As(err, &me) || !strings.HasPrefix(me.Input, "entry ") || me.Op != "NewAddressSet" {
			t.Errorf("NewAddressSet(%q) error = %v, want an *mail.Error naming the entry", bad, err)
		}
	}
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"jane@contoso.com", "Jane.Doe+CRM@Contoso.COM.", `"ceo@bank.com" <x@evil.com>`, `"john doe"@contoso.com`,
		"mailto:a@b.c", "<>", "a@b", `"a@b"@c.d`, "jörg@bücher.de", "/O=EXCHANGELABS/OU=X/CN=Y", "a@b@c", `"".@x`,
		"<a@b.c> trailing", "a@xn--bcher-kva.de", "+@x.y", `".a"@x.y`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := mail.ParseAddress(s)
		if err != nil {
			if !errors.Is(err, graphclient.ErrInvalidInput) {
				t.Fatalf("ParseAddress(%q) error %v does not match ErrInvalidInput", s, err)
			}
			return
		}
		if a.Local == "" || a.Domain == "" || strings.ContainsAny(a.Domain, "@<> ") || !utf8.ValidString(a.Local) {
			t.Fatalf("ParseAddress(%q) = %+v: empty or malformed part", s, a)
		}
		if !a.In(a.Domain) {
			t.Fatalf("ParseAddress(%q) = %+v is not in its own domain", s, a)
		}
		// The normalised form reads back as itself (without the tag).
		b, err := mail.ParseAddress(a.String())
		if err != nil {
			t.Fatalf("ParseAddress(%q) = %q, which does not parse again: %v", s, a.String(), err)
		}
		if b.Local != a.Local || b.Domain != a.Domain || b.Tag != "" {
			t.Fatalf("ParseAddress(%q) = %+v, read back as %+v", s, a, b)
		}
	})
}
