package consent_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/url"
	"strings"

	"github.com/m365kit/m365kit/consent"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/scopes"
)

func ExampleFlow_AdminConsentURL() {
	flow, err := consent.New(consent.Config{
		ClientID:    "00001111-aaaa-2222-bbbb-3333cccc4444",
		RedirectURL: "https://app.example.com/microsoft/consent",
		StateKey:    []byte("an example key of 32 bytes or more; use crypto/rand"),
	})
	if err != nil {
		log.Fatal(err)
	}
	u, err := flow.AdminConsentURL(consent.Request{
		Tenant:   "contoso.com",
		Choice:   scopes.MailboxAccess(), // "Grant access to Mailbox"
		ReturnTo: "/settings/microsoft",
	})
	if err != nil {
		log.Fatal(err)
	}
	parsed, _ := url.Parse(u)
	q := parsed.Query()
	fmt.Println(parsed.Scheme + "://" + parsed.Host + parsed.Path)
	fmt.Println("client_id:", q.Get("client_id"))
	fmt.Println("redirect_uri:", q.Get("redirect_uri"))
	fmt.Println("scope:", q.Get("scope"))
	fmt.Println("state signed:", strings.HasPrefix(q.Get("state"), "c1."))

	_, err = flow.AdminConsentURL(consent.Request{Tenant: "common", Features: []scopes.Feature{scopes.Mail}})
	fmt.Println(err)
	// Output:
	// https://login.microsoftonline.com/contoso.com/v2.0/adminconsent
	// client_id: 00001111-aaaa-2222-bbbb-3333cccc4444
	// redirect_uri: https://app.example.com/microsoft/consent
	// scope: openid profile email offline_access https://graph.microsoft.com/User.Read https://graph.microsoft.com/Mail.Read
	// state signed: true
	// consent: Request.Tenant "common" is refused: it admits personal Microsoft accounts, which cannot give admin consent; use "organizations" or the customer's tenant ID or domain
}

func ExampleDiagnose() {
	// An error body from Entra's token endpoint, as a sign-in library might
	// surface it.
	err := errors.New(`token request failed: {"error":"invalid_grant","error_description":"AADSTS50105: Your administrator has configured the application to block users unless they are specifically granted ('assigned') access to the application.","error_codes":[50105]}`)
	d, ok := consent.Diagnose(err)
	fmt.Println(ok, d.Code, d.Name)
	fmt.Println("Who:", d.Fixer)
	fmt.Println("Fix:", d.Fix)
	fmt.Println(d.Link)

	// A code the catalog does not know still gets Microsoft's lookup page.
	d, _ = consent.Diagnose(errors.New("AADSTS9999999: something new"))
	fmt.Println(d.Known, d.Link)
	// Output:
	// true 50105 EntitlementGrantsNotFound
	// Who: tenant admin
	// Fix: A tenant admin assigns the user (or a group with the user) under Enterprise applications > the app > Users and groups.
	// https://login.microsoftonline.com/error?code=50105
	// false https://login.microsoftonline.com/error?code=9999999
}

func ExampleVerify() {
	// A fake Microsoft 365: contoso.com granted the app calendar, Teams
	// and mail, except ChannelMessage.Send; Bob has no Exchange Online
	// mailbox, so neither his mail nor his calendar can be read.
	srv := graphtest.NewServer()
	defer srv.Close()
	const clientID = "00001111-aaaa-2222-bbbb-3333cccc4444"
	tenant := srv.AddTenant("contoso.com")
	bob := tenant.AddUser("bob@contoso.com", "Bob Kelly", graphtest.NoMailbox())
	granted := []string{"User.Read", "Calendars.ReadWrite", "OnlineMeetings.Read", "Team.ReadBasic.All",
		"Channel.ReadBasic.All", "Chat.ReadBasic", "ChatMessage.Send", "Mail.Read"}
	tenant.Grant(clientID, granted...)
	token := srv.IssueToken(bob, clientID, granted...)

	gc, err := graphclient.New(graphclient.StaticToken(token), graphclient.WithHTTPClient(srv.HTTPClient()))
	if err != nil {
		log.Fatal(err)
	}
	report := consent.Verify(context.Background(), gc, granted, scopes.Calendar, scopes.Teams, scopes.Mail)
	fmt.Print(report)
	fmt.Println("ready:", report.Ready())
	// Output:
	// FEATURE         READY  CHECK                     RESULT
	// Authentication  yes    GET me                    Bob Kelly (bob@contoso.com)
	// Calendar        no     GET me/calendars          404 MailboxNotEnabledForRESTAPI
	// Teams           no     consent                   missing ChannelMessage.Send
	// Email           no     GET me/mailFolders/inbox  404 MailboxNotEnabledForRESTAPI
	// Calendar: tenant admin fixes it: A tenant admin assigns the user a license that includes Exchange Online (or moves the mailbox to Exchange Online); mail and calendar then work without a new consent.
	// Teams: tenant admin fixes it: A tenant admin opens an admin-consent link that includes Teams and accepts; then the user signs in again.
	// Email: tenant admin fixes it: A tenant admin assigns the user a license that includes Exchange Online (or moves the mailbox to Exchange Online); mail and calendar then work without a new consent.
	// ready: false
}
