package consent

import (
	"errors"
	"net/http"

	"github.com/m365kit/m365kit/graphclient"
)

// graphErrorsLink is Microsoft's page on Graph error responses.
const graphErrorsLink = "https://learn.microsoft.com/graph/errors"

// The Graph failures a feature check meets, in the order they are tried.
var (
	noMailbox = Diagnosis{
		GraphCode: "MailboxNotEnabledForRESTAPI", Name: "MailboxNotEnabledForRESTAPI", Fixer: TenantAdmin,
		Meaning: "The user has no Exchange Online mailbox (no Exchange license, a mailbox still on premises, or an inactive mailbox), so Graph cannot reach their mail or calendar.",
		Fix:     "A tenant admin assigns the user a license that includes Exchange Online (or moves the mailbox to Exchange Online); mail and calendar then work without a new consent.",
		Link:    graphErrorsLink, Known: true,
	}
	forbidden = Diagnosis{
		GraphCode: "Forbidden", Name: "Forbidden", Fixer: TenantAdmin,
		Meaning: "Graph refused the call (403): the user's token lacks a permission it needs, or the user lacks the license or access for it.",
		Fix:     "A tenant admin grants consent for the feature's permissions with the admin-consent link, then the user signs in again; if consent is complete, check the user's license.",
		Link:    graphErrorsLink, Known: true,
	}
	unauthorized = Diagnosis{
		GraphCode: "InvalidAuthenticationToken", Name: "InvalidAuthenticationToken", Fixer: EndUser,
		Meaning: "Graph did not accept the access token (401): it is missing, expired or revoked.",
		Fix:     "The app gets a fresh token; if refreshing fails, the user signs in again.",
		Link:    graphErrorsLink, Known: true,
	}
)

// diagnoseGraph explains a *graphclient.Error, if err holds one Verify's
// checks know.
func diagnoseGraph(err error) (Diagnosis, bool) {
	var ge *graphclient.Error
	if !errors.As(err, &ge) {
		return Diagnosis{}, false
	}
	switch {
	case ge.HasCode("MailboxNotEnabledForRESTAPI"):
		return noMailbox, true
	case ge.StatusCode == http.StatusUnauthorized:
		d := unauthorized
		if ge.Code != "" {
			d.GraphCode = ge.Code
		}
		return d, true
	case ge.StatusCode == http.StatusForbidden:
		d := forbidden
		if ge.Code != "" {
			d.GraphCode = ge.Code
		}
		return d, true
	}
	return Diagnosis{}, false
}
