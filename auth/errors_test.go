package auth

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func callErr(status int, body string) error {
	return msalerrors.CallErr{
		Resp: &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader(body))},
		Err:  errors.New("http call(https://login.microsoftonline.com/organizations/oauth2/v2.0/token)(POST) error: reply status code was 400"),
	}
}

func TestClassifyDocumentedErrorBody(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("testdata/token-error-invalid-scope.json")
	if err != nil {
		t.Fatal(err)
	}
	e := classify("token", "oid.tid", callErr(400, string(body)), []string{"Mail.Read"}, nil)
	want := &Error{
		Op: "token", AccountID: "oid.tid", Code: "invalid_scope", Codes: []int{70011}, StatusCode: 400,
		Description:   "AADSTS70011: The provided value for the input parameter 'scope' is not valid. The scope https://foo.microsoft.com/mail.read is not valid.",
		CorrelationID: "aaaa0000-bb11-2222-33cc-444444dddddd", TraceID: "0000aaaa-11bb-cccc-dd22-eeeeee333333",
		Timestamp: time.Date(2016, 1, 9, 2, 2, 12, 0, time.UTC),
	}
	if diff := cmp.Diff(want, e, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Err" }, cmp.Ignore()), cmpopts.IgnoreUnexported(Error{})); diff != "" {
		t.Errorf("classify (-want +got):\n%s", diff)
	}
	for _, kind := range []error{ErrTransient, ErrReauthRequired, ErrConsentRequired, ErrNotSignedIn} {
		if errors.Is(e, kind) {
			t.Errorf("invalid_scope matches %v; it is the app's configuration", kind)
		}
	}
	if got := e.Error(); got != "auth: token for oid.tid: invalid_scope (AADSTS70011) correlation-id aaaa0000-bb11-2222-33cc-444444dddddd" {
		t.Errorf("Error() = %q", got)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		err     error
		want    error
		aadsts  int
		missing []string
	}{
		{"revoked", callErr(400, `{"error":"invalid_grant","suberror":"bad_token","error_codes":[50173]}`), ErrReauthRequired, 50173, nil},
		{"inactivity", callErr(400, `{"error":"invalid_grant","error_codes":[700082]}`), ErrReauthRequired, 700082, nil},
		{"MFA", callErr(400, `{"error":"interaction_required","error_codes":[50076],"claims":"{}"}`), ErrReauthRequired, 50076, nil},
		{"consent via suberror", callErr(400, `{"error":"invalid_grant","suberror":"consent_required","error_codes":[65001]}`), ErrConsentRequired, 65001, []string{"Mail.Read"}},
		{"consent via error", callErr(400, `{"error":"consent_required","error_description":"AADSTS65001: no consent"}`), ErrConsentRequired, 65001, []string{"Mail.Read"}},
		{"unavailable", callErr(503, `{"error":"temporarily_unavailable","error_codes":[]}`), ErrTransient, 0, nil},
		{"5xx without body", callErr(502, ``), ErrTransient, 0, nil},
		{"network", errors.New("dial tcp: connection refused"), ErrTransient, 0, nil},
		{"no refresh token", errors.New("no token found"), ErrNotSignedIn, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := classify("token", "a.b", tt.err, []string{"User.Read", "Mail.Read"}, []string{"https://graph.microsoft.com/User.Read"})
			if !errors.Is(e, tt.want) || e.AADSTS() != tt.aadsts {
				t.Errorf("classify = %v (AADSTS %d), want %v AADSTS %d", e, e.AADSTS(), tt.want, tt.aadsts)
			}
			var names []string
			for _, p := range e.Missing {
				names = append(names, p.Name)
			}
			if diff := cmp.Diff(tt.missing, names); diff != "" {
				t.Errorf("Missing (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, body string
		want         bool
	}{
		{http.MethodGet, "", true},
		{http.MethodPost, "grant_type=refresh_token&refresh_token=x&client_id=c", true},
		{http.MethodPost, "grant_type=authorization_code&code=x&code_verifier=v", false},
		{http.MethodPost, "grant_type=client_credentials", false},
		{http.MethodPost, "%zz", false},
		{http.MethodPut, "grant_type=refresh_token", false},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, "https://login.microsoftonline.com/organizations/oauth2/v2.0/token", strings.NewReader(tt.body))
		if tt.body == "" {
			req.Body = http.NoBody
		}
		orig := req.Body
		out, got, err := retryable(req)
		if err != nil || got != tt.want {
			t.Errorf("retryable(%s %q) = %v, %v; want %v", tt.method, tt.body, got, err, tt.want)
		}
		if req.Body != orig {
			t.Errorf("retryable(%s %q) changed the request it was given", tt.method, tt.body)
		}
		if tt.method == http.MethodPost {
			b, _ := io.ReadAll(out.Body)
			if !bytes.Equal(b, []byte(tt.body)) {
				t.Errorf("body of the request to send = %q, want %q", b, tt.body)
			}
		}
	}
}
