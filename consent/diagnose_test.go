package consent

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/m365kit/m365kit/graphclient"
)

// TestCatalogCoversTroubleshootingTable checks every code of the
// troubleshooting table (entra-facts.md section 5): who fixes it, and that
// the entry says something.
func TestCatalogCoversTroubleshootingTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code  int
		fixer Party
		name  string // Microsoft's short name where the reference gives one
	}{
		{65001, TenantAdmin, "DelegationDoesNotExist"},
		{65004, TenantAdmin, "UserDeclinedConsent"},
		{90094, TenantAdmin, "AdminConsentRequired"},
		{90095, TenantAdmin, "AdminConsentRequiredRequestAccess"},
		{50020, EndUser, "UserUnauthorized"},
		{500208, EndUser, ""},
		{700016, TenantAdmin, "UnauthorizedClient_DoesNotMatchRequest"},
		{500011, Vendor, "InvalidResourceServicePrincipalNotFound"},
		{50011, Vendor, "InvalidReplyTo"},
		{500113, Vendor, ""},
		{50105, TenantAdmin, "EntitlementGrantsNotFound"},
		{53003, TenantAdmin, "BlockedByConditionalAccess"},
		{530003, EndUser, ""},
		{50076, EndUser, "UserStrongAuthClientAuthNRequired"},
		{50079, EndUser, "UserStrongAuthEnrollmentRequired"},
		{7000218, Vendor, ""},
		{7000215, Vendor, ""},
		{7000222, Vendor, "InvalidClientSecretExpiredKeysProvided"},
		{700054, Vendor, ""},
		{9002313, Vendor, "InvalidRequest"},
		{50194, Vendor, ""},
		{90099, TenantAdmin, ""},
		{70011, Vendor, "InvalidScope"},
		{50126, EndUser, "InvalidUserNameOrPassword"},
		{135010, EndUser, "KeyNotFound"},
		{16000, EndUser, "InteractionRequired"},
		{240001, TenantAdmin, "BulkAADJTokenUnauthorized"},
		{50173, EndUser, "FreshTokenNeeded"},
		{700082, EndUser, "ExpiredOrRevokedGrantInactiveToken"},
		{70008, EndUser, "ExpiredOrRevokedGrant"},
		{70043, EndUser, "BadTokenDueToSignInFrequency"},
		{54005, Vendor, ""},
		{501481, Vendor, ""},
		{700005, Vendor, "InvalidGrantRedeemAgainstWrongTenant"},
		{9001023, Vendor, ""},
		{90130, Vendor, "NonConvergedAppV2GlobalEndpointNotSupported"},
		{90124, Vendor, "V1ResourceV2GlobalEndpointNotSupported"},
		{9002332, Vendor, ""},
		{650056, Vendor, ""},
		{650057, Vendor, ""},
		{50058, EndUser, "UserInformationNotProvided"},
		{90002, TenantAdmin, "InvalidTenantName"},
	}
	if len(tests) != len(catalog) {
		t.Errorf("table has %d codes, catalog %d: keep them in step", len(tests), len(catalog))
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			t.Parallel()
			// Through Diagnose, as a caller meets it: an error text.
			d, ok := Diagnose(fmt.Errorf("sign-in failed: AADSTS%d: something", tt.code))
			if !ok || !d.Known {
				t.Fatalf("AADSTS%d: Diagnose = %+v, %v; want a catalog entry", tt.code, d, ok)
			}
			if d.Code != tt.code || d.Fixer != tt.fixer || d.Name != tt.name {
				t.Errorf("AADSTS%d: code %d, fixer %q, name %q; want fixer %q, name %q", tt.code, d.Code, d.Fixer, d.Name, tt.fixer, tt.name)
			}
			if d.Meaning == "" || d.Fix == "" || !strings.HasSuffix(d.Fix, ".") {
				t.Errorf("AADSTS%d: meaning %q, fix %q; want both, fix as sentences", tt.code, d.Meaning, d.Fix)
			}
			if want := fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", tt.code); d.Link != want {
				t.Errorf("AADSTS%d: link %q, want %q", tt.code, d.Link, want)
			}
		})
	}
}

func TestCatalogHasNoDuplicates(t *testing.T) {
	t.Parallel()
	seen := map[int]bool{}
	for _, d := range catalog {
		if seen[d.Code] {
			t.Errorf("AADSTS%d is in the catalog twice", d.Code)
		}
		seen[d.Code] = true
	}
}

// coded is an error that exposes an AADSTS code, as auth's errors do.
type coded struct{ code int }

func (c *coded) Error() string { return "auth: invalid_grant" }
func (c *coded) AADSTS() int   { return c.code }

func TestDiagnoseSources(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("testdata/token-error.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantOK   bool
	}{
		{"nil", nil, 0, false},
		{"unrelated", errors.New("dial tcp: connection refused"), 0, false},
		{"consent error", &Error{Code: "consent_required", Codes: []int{65004}}, 65004, true},
		{"wrapped consent error", fmt.Errorf("onboarding: %w", &Error{Code: "access_denied", Codes: []int{90094}}), 90094, true},
		{"declined without code", &Error{Code: "permission_denied"}, 65004, true},
		{"AADSTSCoder", fmt.Errorf("refresh: %w", &coded{700082}), 700082, true},
		{"AADSTSCoder without code falls back to text", &coded{0}, 0, false},
		{"raw JSON body", errors.New(string(body)), 70011, true},
		{"JSON body inside text", fmt.Errorf("token endpoint said %s", body), 70011, true},
		{"JSON body without error_codes", errors.New(`{"error":"invalid_grant","error_description":"AADSTS50173: The provided grant has expired"}`), 50173, true},
		{"plain text", errors.New("AADSTS50105: Your administrator has configured the application to block users"), 50105, true},
		{"unknown code", errors.New("AADSTS12345: something new"), 12345, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, ok := Diagnose(tt.err)
			if ok != tt.wantOK || d.Code != tt.wantCode {
				t.Fatalf("Diagnose = code %d, %v; want %d, %v", d.Code, ok, tt.wantCode, tt.wantOK)
			}
		})
	}
}

func TestDiagnoseUnknownCode(t *testing.T) {
	t.Parallel()
	d, ok := Diagnose(errors.New("AADSTS12345"))
	if !ok {
		t.Fatal("unknown code not diagnosed")
	}
	want := Diagnosis{
		Code:    12345,
		Meaning: "This code is not in m365kit's catalog; Microsoft's lookup page has the current text.",
		Link:    "https://login.microsoftonline.com/error?code=12345",
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Error(diff)
	}
	if _, known := DiagnoseCode(12345); known {
		t.Error("DiagnoseCode(12345) says known")
	}
}

func TestDiagnoseInvalidState(t *testing.T) {
	t.Parallel()
	d, ok := Diagnose(fmt.Errorf("%w: expired", ErrInvalidState))
	if !ok || d.Name != "InvalidState" || d.Fixer != EndUser {
		t.Fatalf("Diagnose(ErrInvalidState) = %+v, %v", d, ok)
	}
}

func TestDiagnoseGraph(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		err       error
		wantCode  string
		wantFixer Party
		wantOK    bool
	}{
		{"no mailbox", &graphclient.Error{StatusCode: 404, Code: "MailboxNotEnabledForRESTAPI"}, "MailboxNotEnabledForRESTAPI", TenantAdmin, true},
		{"no mailbox nested", &graphclient.Error{StatusCode: 404, Code: "ResourceNotFound", InnerCodes: []string{"MailboxNotEnabledForRESTAPI"}}, "MailboxNotEnabledForRESTAPI", TenantAdmin, true},
		{"forbidden", fmt.Errorf("probe: %w", &graphclient.Error{StatusCode: 403, Code: "Forbidden"}), "Forbidden", TenantAdmin, true},
		{"access denied", &graphclient.Error{StatusCode: 403, Code: "ErrorAccessDenied"}, "ErrorAccessDenied", TenantAdmin, true},
		{"expired token", &graphclient.Error{StatusCode: 401, Code: "InvalidAuthenticationToken"}, "InvalidAuthenticationToken", EndUser, true},
		{"not found", &graphclient.Error{StatusCode: 404, Code: "ErrorItemNotFound"}, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, ok := Diagnose(tt.err)
			if ok != tt.wantOK || d.GraphCode != tt.wantCode || d.Fixer != tt.wantFixer {
				t.Fatalf("Diagnose = %+v, %v; want %s by %q", d, ok, tt.wantCode, tt.wantFixer)
			}
			if ok && d.Fix == "" {
				t.Error("no fix")
			}
		})
	}
}

func TestDiagnosisString(t *testing.T) {
	t.Parallel()
	d, _ := DiagnoseCode(65004)
	want := "AADSTS65004 UserDeclinedConsent: The administrator or user declined (or cancelled) the consent prompt. " +
		"Who fixes it: tenant admin. Fix: Open the consent link again and accept; the permission overview explains why each permission is needed."
	if got := d.String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
}
