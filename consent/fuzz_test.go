package consent

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/scopes"
)

// FuzzState feeds arbitrary states to the verifier: nothing panics, every
// refusal is ErrInvalidState, and anything accepted carries a safe ReturnTo
// (only a state this Flow signed can be accepted).
func FuzzState(f *testing.F) {
	flow, err := New(Config{ClientID: testClientID, RedirectURL: testRedirect, StateKey: testKey})
	if err != nil {
		f.Fatal(err)
	}
	for _, req := range []Request{
		{Features: []scopes.Feature{scopes.Calendar}, ReturnTo: "/x"},
		{Scopes: []string{".default"}, Tenant: testTenantID},
	} {
		u, err := flow.AdminConsentURL(req)
		if err != nil {
			f.Fatal(err)
		}
		q, _ := url.Parse(u)
		st := q.Query().Get("state")
		f.Add(st)
		f.Add(st[:len(st)/2])
		f.Add(strings.Replace(st, ".", "..", 1))
	}
	f.Add("")
	f.Add(statePrefix)
	f.Add(statePrefix + ".")
	f.Add("c1.e30.")
	f.Fuzz(func(t *testing.T, state string) {
		v, err := flow.verify(state)
		if err != nil {
			if !errors.Is(err, ErrInvalidState) {
				t.Fatalf("refusal %v is not ErrInvalidState", err)
			}
			if v != nil {
				t.Fatal("refused state returned a value")
			}
			return
		}
		if checkReturnTo(v.returnTo) != nil || v.nonce == "" {
			t.Fatalf("accepted state with ReturnTo %q, nonce %q", v.returnTo, v.nonce)
		}
	})
}

// FuzzCallback feeds arbitrary callback queries to Complete: nothing
// panics, and the result is exactly one of a Grant or an error; a Grant
// always names a GUID tenant and a safe ReturnTo, and error text never
// carries control characters.
func FuzzCallback(f *testing.F) {
	flow, err := New(Config{ClientID: testClientID, RedirectURL: testRedirect, StateKey: testKey})
	if err != nil {
		f.Fatal(err)
	}
	u, err := flow.AdminConsentURL(Request{Choice: scopes.AllRecommended(), ReturnTo: "/home"})
	if err != nil {
		f.Fatal(err)
	}
	pu, _ := url.Parse(u)
	state := url.QueryEscape(pu.Query().Get("state"))
	f.Add("admin_consent=True&tenant=" + testTenantID + "&scope=openid+https://graph.microsoft.com/Mail.Read&state=" + state)
	f.Add("admin_consent=True&error=consent_required&error_description=AADSTS65004%3a+x%0d%0aTrace+ID%3a+0000aaaa-11bb-cccc-dd22-eeeeee333333&state=" + state)
	f.Add("error=permission_denied&error_description=The+admin+canceled+the+request&state=" + state)
	f.Add("state=" + state + "&tenant=%00&admin_consent=true")
	f.Add("state=%zz")
	f.Add(";;;&&&==")
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest(http.MethodGet, "https://app.example.com/cb", nil)
		r.URL.RawQuery = query
		g, err := flow.Complete(r)
		if (g == nil) == (err == nil) {
			t.Fatalf("Complete = %v, %v: want exactly one", g, err)
		}
		if err != nil {
			if strings.ContainsFunc(err.Error(), func(c rune) bool { return c < 0x20 || c == 0x7f }) {
				t.Fatalf("error text has control characters: %q", err)
			}
			_, _ = Diagnose(err)
			return
		}
		if !isGUID(g.TenantID) || checkReturnTo(g.ReturnTo) != nil || g.TenantVerified {
			t.Fatalf("grant %+v", g)
		}
	})
}

// FuzzDiagnose feeds arbitrary error text to Diagnose: nothing panics and
// a diagnosis always says something.
func FuzzDiagnose(f *testing.F) {
	f.Add(`{"error":"invalid_grant","error_codes":[70008]}`)
	f.Add("AADSTS65004: declined")
	f.Add("AADSTS99999999999999")
	f.Add("{")
	f.Fuzz(func(t *testing.T, text string) {
		d, ok := Diagnose(errors.New(text))
		if ok && (d.Meaning == "" || (d.Code != 0 && d.Link == "")) {
			t.Fatalf("empty diagnosis %+v", d)
		}
	})
}
