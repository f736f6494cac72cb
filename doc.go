// Package m365kit is a small Go SDK for SaaS backends that integrate with
// Microsoft 365 as one multi-tenant Entra ID application using delegated
// permissions only.
//
// The shape is the one a conversation-intelligence product needs: a tenant
// administrator grants consent once (which creates the application's service
// principal in their tenant), users "Sign in with Microsoft", and the backend
// then works on each user's behalf: it syncs their calendars so a notetaker
// knows which meetings to join, posts recording clips and notifications to
// Teams channels and chats, and syncs their mail read-only, keeping only the
// mail that matters. Data is only ever reached on behalf of a signed-in user:
// what the user cannot open in Outlook, the SDK cannot read either.
//
// This package holds documentation only. The work is done in its packages:
//
//	feature                       package
//	permissions per feature       scopes       Catalog, For, Missing, Markdown
//	admin onboarding              consent      AdminConsentURL, Complete, Diagnose, Verify
//	Sign in with Microsoft        auth         SignInURL, CompleteSignIn, TokenSource, TokenStore
//	tokens on many machines       auth/sqlstore
//	any Graph call                graphclient  NewRequest, Do, All, Delta, Batch, Error
//	a fake Microsoft 365          graphtest    NewServer, Demo, Generate, ClientFor
//	  ... for other processes     cmd/m365fake
//	record a tenant, replay it    graphtest/recording
//	a signed-in user in a test    m365test     New, Start, SignIn
//	calendar sync and notetaker   calendar     Sync, FindMeetingLink, Rules, DedupKey
//	Teams posting and clips       teams        PostToChannel, PostToChat, ClipMessage
//	read-only mail sync           mail         Sync, SyncMailbox, Filter
//	change notifications          notify       Manager, Handler, Router, Debouncer
//	every user, many machines     fleet        New, Connect, Sink, Handler, Accounts
//
// # A short tour
//
// Onboard a tenant: send its administrator to the admin-consent URL and
// complete the callback.
//
//	flow, _ := consent.New(consent.Config{ClientID: id, RedirectURL: cb, StateKey: key})
//	u, _ := flow.AdminConsentURL(consent.Request{Features: []scopes.Feature{scopes.Calendar, scopes.Mail}})
//	grant, err := flow.Complete(r) // in the callback handler
//
// Sign a user in, then act for them from the backend:
//
//	cred, _ := auth.Secret(secret)
//	app, _ := auth.New(auth.Config{ClientID: id, Credential: cred, RedirectURL: cb, Store: store})
//	user, err := app.CompleteSignIn(ctx, r, pending)
//	gc, _ := graphclient.New(app.TokenSource(user.AccountID, scopes.Calendar))
//	for page, err := range calendar.New(gc).Sync(ctx, calendar.SyncRequest{Start: from, End: to, Cursor: saved}) {
//		// store page.Events, page.Removed and page.Cursor together
//	}
//
// Everything runs without a tenant against graphtest, the embedded fake
// Microsoft 365: `go run ./examples/quickstart` walks the whole integration.
package m365kit
