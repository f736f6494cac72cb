package scopes_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/scopes"
)

// FuzzParseAndMissing feeds the two functions that read outside input: a
// feature name (from a flag, a form or stored settings) and a granted
// scope list (from a token response or the consent callback). A parsed
// feature is a defined one named by the input; what Missing reports is
// among what the features need, granting it leaves nothing missing, and
// granting more never makes more missing.
func FuzzParseAndMissing(f *testing.F) {
	for _, s := range []string{"calendar", " Calendar.Shared ", "MAIL", "teams.chatmessages", "signin", "", "calendar,mail",
		"openid profile offline_access https://graph.microsoft.com/Calendars.ReadWrite User.Read",
		"Mail.ReadWrite,Chat.ReadWrite,Team.ReadBasic.All Channel.ReadBasic.All ChannelMessage.Send",
		"HTTPS://GRAPH.MICROSOFT.COM/mail.read", "https://graph.microsoft.com/", "Calendars.Read.Shared\tUser.Read"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		feat, err := scopes.ParseFeature(s)
		if err == nil {
			if !feat.Valid() || !strings.EqualFold(string(feat), strings.TrimSpace(s)) {
				t.Errorf("ParseFeature(%q) = %q", s, feat)
			}
		} else {
			for _, fe := range scopes.Features() {
				if !strings.Contains(err.Error(), string(fe)) {
					t.Errorf("ParseFeature(%q) error does not list %q: %v", s, fe, err)
				}
			}
		}

		granted := strings.Split(s, ",")
		for _, fe := range scopes.Features() {
			need := scopes.Permissions(fe)
			missing := scopes.Missing(granted, fe)
			var names []string
			for _, p := range missing {
				if !slices.Contains(need, p) {
					t.Fatalf("Missing(%q, %s) reports %s, which %s does not need", granted, fe, p.Name, fe)
				}
				names = append(names, p.Name)
			}
			if more := scopes.Missing(append(slices.Clone(granted), names...), fe); len(more) != 0 {
				t.Fatalf("granting what Missing(%q, %s) reported still misses %v", granted, fe, more)
			}
			if len(granted) > 1 {
				fewer := scopes.Missing(granted[:len(granted)-1], fe)
				for _, p := range missing {
					if !slices.Contains(fewer, p) {
						t.Fatalf("granting %q made %s missing for %s", granted[len(granted)-1], p.Name, fe)
					}
				}
			}
		}
	})
}
