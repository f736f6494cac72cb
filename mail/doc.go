// Package mail reads the signed-in user's mail, read-only, and keeps a
// local copy in step with Microsoft Graph's delta queries, keeping only the
// mail that matters to the product.
//
// The package sends GET requests only: it has no call that sends, moves,
// flags or deletes mail, and scopes.For(scopes.Mail) asks for Mail.Read and
// nothing that writes. Each user turns mail sync on for themselves.
//
//	svc := mail.New(gc) // gc: a *graphclient.Client for the user
//	filter := mail.All(
//		mail.SkipDrafts(),
//		mail.SkipCategories("Personal", "Private"),
//		mail.SkipAutomated(),
//		mail.ExternalOnly("contoso.com"),
//	)
//	for p, err := range svc.Sync(ctx, mail.SyncRequest{Folder: mail.Inbox, Cursor: stored, Filter: filter}) {
//		if err != nil {
//			return err
//		}
//		// In one transaction: if p.Reset, drop the folder's mail; store
//		// p.Messages; drop p.Removed and p.Skipped; store p.Cursor.
//	}
//
// # Sync
//
// Graph tracks changes per folder. Sync walks one round for one folder:
// the first run returns every message (or those received since
// SyncRequest.Since), later runs from a stored cursor only what changed.
// SyncMailbox walks Inbox and Sent Items (or the folders given) with one
// Cursors value, so both sides of a conversation are seen. Pages select
// only the properties Message holds; bodies, internet headers and the
// message class are fetched only when asked for.
//
// # Filters
//
// A Filter returns "" to keep a message or the reason it skips it, so a
// sync can report how many messages each rule dropped (see Stats). The
// built-in filters (ExternalOnly, Involving, SkipDrafts, SkipCategories,
// SkipAutomated, SkipSensitive) combine with All, Any and Not. Addresses
// are compared the way ParseAddress normalises them: case-insensitively,
// without plus-address tags, subdomains inside their parent domain, and
// always by the SMTP address, never by a display name that looks like one.
//
// # Concurrency
//
// A Service and the built-in filters and matchers are safe for concurrent
// use. Messages, pages, requests and the other data types are plain
// values: safe to read from several goroutines, not to change while read.
package mail
