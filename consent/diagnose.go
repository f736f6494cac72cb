package consent

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// AADSTSCoder is implemented by errors that carry an Entra ID AADSTS code,
// such as *Error and *auth.Error. Diagnose finds it with errors.As.
type AADSTSCoder interface {
	// AADSTS returns the code (65004 for AADSTS65004), or 0 when there is
	// none.
	AADSTS() int
}

// Party is who can fix a problem.
type Party string

// The parties that fix problems.
const (
	// TenantAdmin is an administrator of the customer's tenant (Global,
	// Cloud Application or Application Administrator).
	TenantAdmin Party = "tenant admin"
	// EndUser is the person signing in.
	EndUser Party = "user"
	// Vendor is the vendor running the app: its app registration, its
	// configuration or its code.
	Vendor Party = "vendor"
)

// Diagnosis explains an error: what it means, who can fix it and how. It
// is a plain value, safe for concurrent use.
type Diagnosis struct {
	// Code is the AADSTS code (65004), or 0 for a Graph error.
	Code int
	// GraphCode is the Graph error code (MailboxNotEnabledForRESTAPI), or
	// empty for an AADSTS code.
	GraphCode string
	// Name is Microsoft's short name, such as "UserDeclinedConsent".
	Name string
	// Meaning says in a sentence what happened.
	Meaning string
	// Fixer is who can fix it.
	Fixer Party
	// Fix says in one or two sentences what to do.
	Fix string
	// Link is Microsoft's page about the error.
	Link string
	// Known is false for an AADSTS code this package has no entry for:
	// Meaning then points to Link, which has Microsoft's current text.
	Known bool
}

// String returns the diagnosis in one paragraph, such as
// "AADSTS65004 UserDeclinedConsent: … Who fixes it: tenant admin. Fix: …".
func (d Diagnosis) String() string {
	var b strings.Builder
	switch {
	case d.Code != 0:
		fmt.Fprintf(&b, "AADSTS%d", d.Code)
	case d.GraphCode != "":
		b.WriteString(d.GraphCode)
	}
	if d.Name != "" && d.Name != d.GraphCode {
		b.WriteString(" " + d.Name)
	}
	b.WriteString(": " + d.Meaning)
	if d.Fixer != "" {
		fmt.Fprintf(&b, " Who fixes it: %s.", d.Fixer)
	}
	if d.Fix != "" {
		b.WriteString(" Fix: " + d.Fix)
	}
	return b.String()
}

// lookupLink returns Microsoft's lookup page for an AADSTS code.
func lookupLink(code int) string {
	return "https://login.microsoftonline.com/error?code=" + strconv.Itoa(code)
}

// DiagnoseCode returns the diagnosis for an AADSTS code. For a code the catalog
// lacks it returns a Diagnosis with the code and Microsoft's lookup link,
// and false.
func DiagnoseCode(code int) (Diagnosis, bool) {
	for _, e := range catalog {
		if e.Code == code {
			d := e
			d.Link = lookupLink(code)
			d.Known = true
			return d, true
		}
	}
	return Diagnosis{
		Code:    code,
		Meaning: "This code is not in m365kit's catalog; Microsoft's lookup page has the current text.",
		Link:    lookupLink(code),
	}, false
}

// Diagnose explains err. It understands:
//
//   - *Error from Complete, and any error exposing an AADSTS code through
//     [AADSTSCoder] (auth's errors do), found with errors.As;
//   - ErrInvalidState;
//   - *graphclient.Error for the Graph failures Verify meets
//     (MailboxNotEnabledForRESTAPI, 401, 403);
//   - an error whose text is a raw Entra error body, JSON with
//     "error_codes" or any text containing "AADSTS" and a number.
//
// A code the catalog lacks still gives its number and Microsoft's lookup
// link. ok is false when err carries nothing to diagnose.
func Diagnose(err error) (Diagnosis, bool) {
	if err == nil {
		return Diagnosis{}, false
	}
	var coder AADSTSCoder
	if errors.As(err, &coder) {
		if code := coder.AADSTS(); code > 0 {
			d, _ := DiagnoseCode(code)
			return d, true
		}
	}
	if errors.Is(err, ErrDeclined) {
		d, _ := DiagnoseCode(65004)
		return d, true
	}
	if errors.Is(err, ErrInvalidState) {
		return invalidState, true
	}
	if d, ok := diagnoseGraph(err); ok {
		return d, true
	}
	if code := codeInText(err.Error()); code > 0 {
		d, _ := DiagnoseCode(code)
		return d, true
	}
	return Diagnosis{}, false
}

// codeInText finds an AADSTS code in an Entra error body (JSON with
// error_codes) or in any text mentioning AADSTSnnnn.
func codeInText(s string) int {
	if i, j := strings.IndexByte(s, '{'), strings.LastIndexByte(s, '}'); i >= 0 && j > i {
		var body struct {
			ErrorCodes       []int  `json:"error_codes"`
			ErrorDescription string `json:"error_description"`
		}
		if json.Unmarshal([]byte(s[i:j+1]), &body) == nil {
			for _, c := range body.ErrorCodes {
				if c > 0 {
					return c
				}
			}
			if m := reAADSTS.FindStringSubmatch(body.ErrorDescription); m != nil {
				if c, err := strconv.Atoi(m[1]); err == nil && c > 0 {
					return c
				}
			}
		}
	}
	if m := reAADSTS.FindStringSubmatch(s); m != nil {
		if c, err := strconv.Atoi(m[1]); err == nil && c > 0 {
			return c
		}
	}
	return 0
}

var invalidState = Diagnosis{
	Name:    "InvalidState",
	Meaning: "The consent callback's state is missing, expired or not signed by this app, so the result cannot be trusted.",
	Fixer:   EndUser,
	Fix:     "Start the consent again from the app to get a fresh link and finish it before the link expires (15 minutes by default); the vendor checks that every backend shares the same state key.",
	Known:   true,
}

// Fixes shared by several codes.
const (
	fixSignInAgain   = "The user signs in again interactively; the app then stores the new tokens."
	fixOrganizations = "Use the /organizations authority or the customer's tenant ID instead of /common or /consumers."
	fixClientSecret  = "The vendor creates a new client secret (copy the secret's value, not its ID) and deploys it; prefer a certificate credential."
	fixMFA           = "The user signs in again interactively and completes multifactor authentication; the app passes any claims challenge on to the authorize request."
	fixMisconfigured = "The vendor adds the permission to the app registration's API permissions, then a tenant admin grants consent again."
)

// catalog is the troubleshooting table: every code a login or consent is
// likely to meet. Meanings follow Microsoft's AADSTS reference; fixes are
// written for a multi-tenant app with delegated permissions.
var catalog = []Diagnosis{
	{Code: 65001, Name: "DelegationDoesNotExist", Fixer: TenantAdmin,
		Meaning: "Nobody has consented to the app for these permissions in this tenant (or the consent was revoked).",
		Fix:     "A tenant admin opens the app's admin-consent link and accepts; if user consent is allowed, the user can consent at sign-in instead."},
	{Code: 65004, Name: "UserDeclinedConsent", Fixer: TenantAdmin,
		Meaning: "The administrator or user declined (or cancelled) the consent prompt.",
		Fix:     "Open the consent link again and accept; the permission overview explains why each permission is needed."},
	{Code: 90094, Name: "AdminConsentRequired", Fixer: TenantAdmin,
		Meaning: "The app asks for permissions that only an administrator can grant for the tenant.",
		Fix:     "An admin allowed to grant tenant-wide consent opens the admin-consent link, or grants consent on the app's Permissions page under Enterprise applications."},
	{Code: 90095, Name: "AdminConsentRequiredRequestAccess", Fixer: TenantAdmin,
		Meaning: "The tenant uses the admin consent workflow: the user was told to request approval for the app.",
		Fix:     "An admin approves the pending request under Enterprise applications > Admin consent requests, or grants consent with the admin-consent link."},
	{Code: 50020, Name: "UserUnauthorized", Fixer: EndUser,
		Meaning: "The account does not exist in the tenant it signed in to: the wrong tenant, or a personal or external account that was never added as a guest.",
		Fix:     "Sign in with your work or school account of the right organization; if you belong to another tenant, its admin invites you as a guest."},
	{Code: 500208, Fixer: EndUser,
		Meaning: "The account type does not fit the app: typically a personal Microsoft account on an app for work or school accounts.",
		Fix:     "Sign in with a work or school account; personal Microsoft accounts are not supported."},
	{Code: 700016, Name: "UnauthorizedClient_DoesNotMatchRequest", Fixer: TenantAdmin,
		Meaning: "The app was not found in the tenant: nobody has consented to it there yet, or the request names the wrong client ID, tenant or cloud.",
		Fix:     "A tenant admin grants admin consent, which creates the app's service principal in the tenant; if that does not help, the vendor checks its client ID and cloud."},
	{Code: 500011, Name: "InvalidResourceServicePrincipalNotFound", Fixer: Vendor,
		Meaning: "The resource the app asked a token for does not exist in the tenant.",
		Fix:     "The vendor checks the scope's resource (Graph scopes are https://graph.microsoft.com/Name) and that the request went to the right tenant."},
	{Code: 50011, Name: "InvalidReplyTo", Fixer: Vendor,
		Meaning: "The redirect URI in the request does not match one registered on the app.",
		Fix:     "The vendor registers the exact redirect URI (scheme, host, path and case) on the app registration, or fixes the configured one."},
	{Code: 500113, Fixer: Vendor,
		Meaning: "The app registration has no redirect URI.",
		Fix:     "The vendor adds the callback URL as a Web redirect URI on the app registration."},
	{Code: 50105, Name: "EntitlementGrantsNotFound", Fixer: TenantAdmin,
		Meaning: "The tenant requires users to be assigned to the app, and this user is not.",
		Fix:     "A tenant admin assigns the user (or a group with the user) under Enterprise applications > the app > Users and groups."},
	{Code: 53003, Name: "BlockedByConditionalAccess", Fixer: TenantAdmin,
		Meaning: "A Conditional Access policy of the tenant blocked the sign-in.",
		Fix:     "A tenant admin finds the sign-in in the sign-in logs, sees which policy applied, and adjusts it or tells the user what it requires."},
	{Code: 530003, Fixer: EndUser,
		Meaning: "Conditional Access requires a managed or compliant device, and this device is not.",
		Fix:     "Sign in from a managed, compliant device; otherwise a tenant admin adjusts the Conditional Access policy."},
	{Code: 50076, Name: "UserStrongAuthClientAuthNRequired", Fixer: EndUser,
		Meaning: "Multifactor authentication is required (Conditional Access, per-user MFA or a new location).",
		Fix:     fixMFA},
	{Code: 50079, Name: "UserStrongAuthEnrollmentRequired", Fixer: EndUser,
		Meaning: "The user must register for multifactor authentication before signing in.",
		Fix:     "The user registers security info for multifactor authentication, then signs in again interactively."},
	{Code: 7000218, Fixer: Vendor,
		Meaning: "The token request carried neither client_secret nor client_assertion.",
		Fix:     "The vendor configures the app's client secret or certificate; a confidential web app must send its credential."},
	{Code: 7000215, Fixer: Vendor,
		Meaning: "The client secret sent is not valid for the app.",
		Fix:     fixClientSecret},
	{Code: 7000222, Name: "InvalidClientSecretExpiredKeysProvided", Fixer: Vendor,
		Meaning: "The app's client secret has expired.",
		Fix:     fixClientSecret},
	{Code: 700054, Fixer: Vendor,
		Meaning: "The app asked the authorize endpoint for an ID token, which its registration does not allow.",
		Fix:     "The vendor requests response_type=code only (m365kit does), or enables ID tokens on the app registration."},
	{Code: 9002313, Name: "InvalidRequest", Fixer: Vendor,
		Meaning: "The request to Entra was malformed.",
		Fix:     "The vendor captures the failing request and fixes how it is built; this is a bug, not a tenant problem."},
	{Code: 50194, Fixer: Vendor,
		Meaning: "The app is not registered as multi-tenant, and such apps cannot use the shared /common endpoint.",
		Fix:     "The vendor sets the app registration's supported accounts to any organizational directory (signInAudience AzureADMultipleOrgs), or signs in through a tenant-specific authority."},
	{Code: 90099, Fixer: TenantAdmin,
		Meaning: "A partner's delegated admin (GDAP/DAP) tried to use an app that is not authorized in the customer tenant.",
		Fix:     "The partner pre-consents the app in the customer tenant (Partner Center), or a customer admin grants consent."},
	{Code: 70011, Name: "InvalidScope", Fixer: Vendor,
		Meaning: "A requested scope is not valid.",
		Fix:     "The vendor fixes the scope string; a token request may name scopes of one resource only."},
	{Code: 50126, Name: "InvalidUserNameOrPassword", Fixer: EndUser,
		Meaning: "The user entered a wrong user name or password.",
		Fix:     "Enter the right credentials; some of these in the logs are normal."},
	{Code: 135010, Name: "KeyNotFound", Fixer: EndUser,
		Meaning: "A device key (Windows Hello or the device's primary refresh token) was not found.",
		Fix:     "Sign in again on the device or re-register it; if it persists, a tenant admin checks the device's state."},
	{Code: 16000, Name: "InteractionRequired", Fixer: EndUser,
		Meaning: "The account does not exist in the tenant and cannot use the app there, or a personal account has no directory.",
		Fix:     "Pick your work or school account of the right organization, or have its admin add you as a guest."},
	{Code: 240001, Name: "BulkAADJTokenUnauthorized", Fixer: TenantAdmin,
		Meaning: "The user is not allowed to register devices in Entra ID.",
		Fix:     "A tenant admin checks the device-registration policy; this is rare for a web sign-in."},
	{Code: 50173, Name: "FreshTokenNeeded", Fixer: EndUser,
		Meaning: "The grant was revoked (an admin or the user revoked the sessions), so the refresh token no longer works.",
		Fix:     fixSignInAgain},
	{Code: 700082, Name: "ExpiredOrRevokedGrantInactiveToken", Fixer: EndUser,
		Meaning: "The refresh token expired after a long period without use.",
		Fix:     fixSignInAgain + " This is an expected part of a token's life."},
	{Code: 70008, Name: "ExpiredOrRevokedGrant", Fixer: EndUser,
		Meaning: "The refresh token expired through inactivity.",
		Fix:     fixSignInAgain + " This is an expected part of a token's life."},
	{Code: 70043, Name: "BadTokenDueToSignInFrequency", Fixer: EndUser,
		Meaning: "Conditional Access sign-in frequency made the refresh token invalid.",
		Fix:     fixSignInAgain},
	{Code: 54005, Fixer: Vendor,
		Meaning: "The authorization code was already redeemed.",
		Fix:     "The vendor never retries a code redemption and starts a fresh sign-in instead."},
	{Code: 501481, Fixer: Vendor,
		Meaning: "The PKCE code_verifier does not match the code_challenge of the authorize request.",
		Fix:     "The vendor keeps each sign-in's verifier with that sign-in's state (a lost or mixed-up session causes this)."},
	{Code: 700005, Name: "InvalidGrantRedeemAgainstWrongTenant", Fixer: Vendor,
		Meaning: "The authorization code was redeemed at another tenant than the one that issued it.",
		Fix:     "The vendor redeems the code at the same authority (/organizations or the tenant) the sign-in used."},
	{Code: 9001023, Fixer: Vendor,
		Meaning: "The grant type is not supported over /common or /consumers.",
		Fix:     fixOrganizations},
	{Code: 90130, Name: "NonConvergedAppV2GlobalEndpointNotSupported", Fixer: Vendor,
		Meaning: "The app is not supported over /common or /consumers.",
		Fix:     fixOrganizations},
	{Code: 90124, Name: "V1ResourceV2GlobalEndpointNotSupported", Fixer: Vendor,
		Meaning: "The resource is not supported over /common or /consumers.",
		Fix:     fixOrganizations},
	{Code: 9002332, Fixer: Vendor,
		Meaning: "The app is for Entra ID (work or school) users only, so /consumers cannot serve it.",
		Fix:     "Use the /organizations authority or the customer's tenant ID."},
	{Code: 650056, Fixer: Vendor,
		Meaning: "The app registration does not list the requested permission, or the tenant has not consented to it.",
		Fix:     fixMisconfigured},
	{Code: 650057, Fixer: Vendor,
		Meaning: "The app asked for a resource that its registration's requested permissions do not list.",
		Fix:     fixMisconfigured},
	{Code: 50058, Name: "UserInformationNotProvided", Fixer: EndUser,
		Meaning: "No user is signed in (typical for a silent request with prompt=none).",
		Fix:     "The app falls back to an interactive sign-in and the user signs in."},
	{Code: 90002, Name: "InvalidTenantName", Fixer: TenantAdmin,
		Meaning: "The tenant was not found: a mistyped tenant ID or domain, or a tenant of another cloud.",
		Fix:     "Check the tenant ID or verified domain given for the organization; the vendor checks it uses the cloud the tenant lives in."},
}
