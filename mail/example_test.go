package mail_test

import (
	"context"
	"fmt"
	"log"
	"maps"
	"slices"
	"time"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/mail"
)

// exampleMailbox starts a fake Microsoft 365 with one user whose inbox
// holds a customer thread, an internal note and a notification, and
// returns a Service reading it.
func exampleMailbox() (*graphtest.Server, *mail.Service) {
	srv := graphtest.NewServer()
	user := srv.AddTenant("contoso.com").AddUser("adele@contoso.com", "Adele Vance")
	at := func(h int) time.Time { return time.Date(2026, 3, 2, h, 0, 0, 0, time.UTC) }
	adele := graphtest.Address{Name: "Adele Vance", Address: "adele@contoso.com"}
	pat := graphtest.Address{Name: "Pat", Address: "pat@fabrikam.com"}
	user.AddMessage(graphtest.Message{Subject: "Pricing for 2026", From: pat, To: []graphtest.Address{adele}, Received: at(9)})
	user.AddMessage(graphtest.Message{Subject: "Lunch?", From: graphtest.Address{Address: "megan@contoso.com"}, To: []graphtest.Address{adele}, Received: at(10)})
	user.AddMessage(graphtest.Message{Subject: "Your password expires", From: graphtest.Address{Address: "no-reply@contoso.com"}, To: []graphtest.Address{adele}, Received: at(11)})
	user.AddMessage(graphtest.Message{Folder: mail.SentItems, Subject: "RE: Pricing for 2026", From: adele, To: []graphtest.Address{pat}, Received: at(12)})

	// In production: graphclient.New(app.TokenSource(accountID, scopes.Mail)).
	gc, err := graphclient.New(graphclient.StaticToken(srv.IssueToken(user, "example-app", "Mail.Read")), graphclient.WithHTTPClient(srv.HTTPClient()))
	if err != nil {
		log.Fatal(err)
	}
	return srv, mail.New(gc)
}

// Sync one folder, keeping only mail with someone outside the company and
// counting what the filter dropped and why.
func ExampleService_Sync() {
	srv, svc := exampleMailbox()
	defer srv.Close()

	filter := mail.All(mail.SkipDrafts(), mail.SkipAutomated(), mail.ExternalOnly("contoso.com"))
	var stats mail.Stats
	var cursor string // in production: loaded from, and saved to, your database
	for p, err := range svc.Sync(context.Background(), mail.SyncRequest{Folder: mail.Inbox, Cursor: cursor, Filter: filter}) {
		if err != nil {
			log.Fatal(err)
		}
		for _, m := range p.Messages {
			fmt.Println("keep:", m.Subject, "from", m.From.EmailAddress.Address)
		}
		stats.Add(p)
		cursor = p.Cursor
	}
	fmt.Println("kept", stats.Kept, "skipped", stats.Skipped)
	// Output:
	// keep: Pricing for 2026 from pat@fabrikam.com
	// kept 1 skipped map[automated:1 internal:1]
}

// Sync Inbox and Sent Items with one set of cursors, so both sides of a
// conversation are seen. Cursors marshal to JSON for storage.
func ExampleService_SyncMailbox() {
	srv, svc := exampleMailbox()
	defer srv.Close()

	cursors := mail.Cursors{} // in production: loaded from your database
	for p, err := range svc.SyncMailbox(context.Background(), mail.MailboxRequest{Cursors: cursors, Filter: mail.ExternalOnly("contoso.com")}) {
		if err != nil {
			log.Fatal(err)
		}
		for _, m := range p.Messages {
			fmt.Printf("%s: %s\n", p.Folder, m.Subject)
		}
		cursors.Advance(p) // after storing the page
	}
	fmt.Println("cursors for", slices.Sorted(maps.Keys(cursors)))
	// Output:
	// inbox: Pricing for 2026
	// sentitems: RE: Pricing for 2026
	// cursors for [inbox sentitems]
}

// ExternalOnly keeps mail with at least one participant outside the
// organisation's domains (subdomains included). A display name that looks
// like an internal address changes nothing.
func ExampleExternalOnly() {
	external := mail.ExternalOnly("contoso.com")
	from := func(name, addr string) *mail.Message {
		return &mail.Message{
			From:         mail.Recipient{EmailAddress: mail.EmailAddress{Name: name, Address: addr}},
			ToRecipients: []mail.Recipient{{EmailAddress: mail.EmailAddress{Address: "adele@contoso.com"}}},
		}
	}
	for _, m := range []*mail.Message{
		from("Pat", "pat@fabrikam.com"),
		from("Megan", "megan@eu.contoso.com"),
		from("ceo@contoso.com", "x@evil.example"),
	} {
		reason := external(m)
		if reason == "" {
			reason = "keep"
		}
		fmt.Printf("%-16s %s\n", m.From.EmailAddress.Address, reason)
	}
	// Output:
	// pat@fabrikam.com keep
	// megan@eu.contoso.com internal
	// x@evil.example   keep
}

// Involving keeps mail with someone the CRM knows: a whole customer domain
// or single contacts, whatever their case or plus-address tag.
func ExampleInvolving() {
	crm, err := mail.NewAddressSet("fabrikam.com", "buyer@woodgrove.com")
	if err != nil {
		log.Fatal(err)
	}
	involving := mail.Involving(crm)
	for _, addr := range []string{"pat@sales.fabrikam.com", "Buyer+PO@Woodgrove.com", "someone@woodgrove.com"} {
		m := &mail.Message{From: mail.Recipient{EmailAddress: mail.EmailAddress{Address: addr}}}
		fmt.Printf("%s %q\n", addr, involving(m))
	}
	// Output:
	// pat@sales.fabrikam.com ""
	// Buyer+PO@Woodgrove.com ""
	// someone@woodgrove.com "not-involved"
}

func ExampleParseAddress() {
	for _, s := range []string{`"ceo@bank.com" <X@Evil.com>`, "Jane+crm@Contoso.COM", "not an address"} {
		a, err := mail.ParseAddress(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s (tag %q)\n", a, a.Tag)
	}
	// Output:
	// x@evil.com (tag "")
	// jane@contoso.com (tag "crm")
	// mail: ParseAddress: address "not an address": is not of the form local@domain: invalid input
}
