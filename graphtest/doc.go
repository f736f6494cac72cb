// Package graphtest is a fake Microsoft 365 for tests, examples and local
// development: the Entra ID authority (login.microsoftonline.com) and
// Microsoft Graph (graph.microsoft.com) served from one TLS listener on the
// loopback address.
//
// Code under test keeps the production URLs. Server.HTTPClient returns an
// *http.Client that trusts the fake's certificate (issued for both host
// names) and sends every connection for those two hosts to it, so MSAL Go,
// graphclient and your own code run unchanged; a connection to any other
// host fails, so nothing leaves the machine:
//
//	srv := graphtest.New(t)
//	tenant := srv.AddTenant("contoso.com")
//	adele := tenant.AddUser("adele@contoso.com", "Adele Vance")
//	tok := srv.IssueToken(adele, clientID, "User.Read")
//	gc, _ := graphclient.New(graphclient.StaticToken(tok),
//		graphclient.WithHTTPClient(srv.HTTPClient()))
//
// To go through the SDK instead (an auth.App, a user signed in through the
// real flow, a Graph client for them) in a few lines, use package
// m365test, which builds that on this package; graphtest itself imports
// nothing of the SDK but scopes, so it cannot share a misconception with
// the client.
//
// Starting a server takes about a millisecond: ID tokens are signed with a
// fixed RSA key compiled into the package (it protects nothing), and the
// TLS certificate uses a fresh ECDSA key.
//
// # Directory
//
// AddTenant adds a work tenant, PersonalTenant the tenant of personal
// Microsoft accounts (9188040d-…). Tenant.AddUser adds users; the options
// Admin, AsGuest and NoMailbox make administrators, B2B guests and users
// without an Exchange mailbox. AddApp registers a multi-tenant application:
// its client ID, secret or certificate, redirect URIs and the permissions
// "/.default" stands for.
//
// # Sign-in
//
// The authority serves what MSAL Go and a web app need:
//
//	GET  /{tenant}/v2.0/.well-known/openid-configuration   (organizations, common, consumers, a GUID or domain)
//	GET  /{tenant}/discovery/v2.0/keys                     (RS256 JWKS)
//	GET  /common/discovery/instance                         (MSAL instance discovery)
//	GET  /{tenant}/oauth2/v2.0/authorize                   (code flow, PKCE S256 required; POST from its pages)
//	GET  /{tenant}/v2.0/adminconsent                       (POST from its pages)
//	POST /{tenant}/oauth2/v2.0/token                       (authorization_code, refresh_token)
//	GET  /{tenant}/oauth2/v2.0/logout                      (back to post_logout_redirect_uri)
//
// Server.Browse plays the browser: given an authorize or admin-consent URL
// it signs in the user login_hint names (else the tenant's first user),
// and returns the request the browser then sends to the app's redirect URI
// (a GET, or a POST form for response_mode=form_post). Entra's checks are
// made: a registered client and redirect URI (else an error page, which
// Browse returns as an error with the AADSTS text), response_type=code,
// single-use codes (AADSTS54005), the PKCE verifier (AADSTS501481), the
// client secret (AADSTS7000215) or a client assertion (signed by
// App.Certificate when set). Token responses carry an opaque access token,
// a refresh token, client_info and an RS256 ID token with tid, sub, nonce,
// aud, iss and, for guests, idp; name, preferred_username and oid only when
// the profile scope was asked for, email only with the email scope (or for
// a guest), as Entra's ID token reference says. The response's scope
// names each OpenID Connect scope once, bare.
// Errors come in Entra's JSON body: error, error_description, error_codes,
// timestamp, trace_id, correlation_id, suberror and claims.
//
// A real browser (one that asks for text/html) gets pages a person can
// use instead: a sign-in page (pick or type a user of the tenant; no
// passwords), the consent prompt with Accept and Cancel (Cancel answers
// access_denied, AADSTS65004), the self-submitting form_post page (with a
// Continue button for a browser without JavaScript), and Entra's error
// pages with the AADSTS code ("Need admin approval" for a user who is not
// an administrator opening the admin-consent link). Server.Certificate is
// what such a browser must trust (m365kit's own browser tests run
// chromium through these pages).
//
// Refresh tokens rotate: each refresh returns a new one and, unlike Entra,
// invalidates the one redeemed, so a test proves the new one was stored
// (WithRefreshTokenReuse restores Entra's behaviour).
//
// # Consent
//
// A Graph scope is usable only when granted: by Tenant.Grant, by admin
// consent (the administrator login_hint names, or the first administrator
// of the tenant in the path or of any tenant) or, when
// Tenant.AllowUserConsent is on, by the user at sign-in for themselves
// (not for admin-only permissions). Otherwise an interactive sign-in stops
// at Entra's "Need admin approval" page (AADSTS90094; Browse returns it as
// an error) and the app hears nothing; only prompt=none redirects, with
// consent_required (AADSTS65001). A refresh fails with invalid_grant,
// suberror consent_required. DeclineNextConsent makes the administrator
// decline (AADSTS65004). Revoking a grant takes effect at the next refresh.
//
// # Faults
//
// Identity faults are one-shot: FailNextToken with ErrRevoked,
// ErrInteractionRequired, ErrConsentRequired, ErrRefreshExpired or
// ErrSecretExpired; FailNextToken5xx; BadSignatureNext; NextIDToken for
// chosen claims (a wrong aud, an expired exp, the personal tenant's tid);
// RevokeRefreshTokens; ExpireTokens for access tokens. TokenCalls counts
// requests to the token endpoint.
//
// Graph faults match by method and path prefix (Inject) or strike at random
// from a seed (Chaos): Throttle (429 with Graph's body and Retry-After),
// Unavailable, GatewayTimeout, DropConnection, TruncateBody, SyncReset
// (410 SyncStateNotFound to a delta request with a state token) and
// Latency. They apply inside POST /$batch too, per item, for the kinds a
// batch item can show.
//
// WithLatency delays every Graph request; WithMailboxConcurrency
// enforces Outlook's 4 concurrent requests per app and mailbox (429
// ApplicationThrottled).
//
// # Graph data
//
// Each user has a calendar, a mailbox and Teams membership, changed through
// Go (User.AddEvent, UpdateEvent, DeleteEvent, ShareCalendarWith;
// User.AddMessage, UpdateMessage, MoveMessage, DeleteMessage;
// Tenant.AddTeam, Team.AddChannel, Tenant.AddChat, Chat.Post) or through Graph, and
// read back the same two ways (User.Events, User.Messages,
// Channel.Messages, Chat.Messages). The routes, under /v1.0/ and /beta/:
//
//	GET   /me, /me/calendars, /me/calendar, /me/events, /me/events/{id}
//	PATCH /me/events/{id}                                   (merge: absent fields are kept)
//	DELETE /me/events/{id}
//	GET   /me/calendarView, /me/calendars/{id}/calendarView (series expanded)
//	GET   /me/calendarView/delta
//	GET   /me/onlineMeetings?$filter=JoinWebUrl eq '…'
//	GET   /me/mailFolders, /me/mailFolders/{id|wellKnownName}, …/messages, …/messages/delta
//	GET   /me/messages, /me/messages/{id}
//	GET   /me/joinedTeams, /teams/{id}/channels, /me/chats   ($expand=members)
//	POST  /teams/{id}/channels/{id}/messages, …/messages/{id}/replies, /chats/{id}/messages
//	POST  /$batch; GET, POST, PATCH, DELETE /subscriptions, POST /subscriptions/{id}/reauthorize
//
// Every route checks the bearer token (issued by the fake, unexpired) and
// the permissions Graph requires, answering Graph's 401 or 403 body; a 403
// carries the code of the workload behind the route, as Graph's do:
// Authorization_RequestDenied for /me, ErrorAccessDenied for calendars and
// mail, Forbidden for Teams. A user without a mailbox gets
// MailboxNotEnabledForRESTAPI.
//
// Delta is tracked for real: the first round pages by
// Prefer: odata.maxpagesize and ends with a deltaLink; a later round
// returns what was created or changed since, deleted items and items that
// left the window or folder as @removed entries. User.ExpireDeltaTokens
// makes every stored token answer 410 SyncStateNotFound, as Outlook does
// when its delta cache drops a token.
//
// AddDemoTenant builds the tenant the quickstart and the examples run on:
// contoso.com with an app registration, an administrator, four users (one
// without a mailbox), a week of Teams, Zoom and Google Meet meetings with
// a recurring series, an exception and a cancellation, external attendees
// from fabrikam.com, internal and external mail threads, two teams with
// channels and chats. Its tenant and user IDs are the same on every run, so
// output built from it is too (times follow the server clock).
//
// Subscriptions validate the notification URL and push change and
// lifecycle notifications to it (SetNotificationClient, SendLifecycle):
// for events and messages created, updated or deleted, and for chat
// messages posted (created). Delivery follows Microsoft's rules: a 2xx
// within 3 seconds counts, anything else is retried with exponential
// back-off for up to 4 hours (duplicates included), and endpoints that
// answer slowly are delayed, then dropped. Its waits run on the server
// clock; RetryDue sends what has come due at once.
//
// # Request log
//
// Requests lists every request on both hosts with its headers (the
// Authorization header included) and status, each $batch item too, so a
// test can assert which token went where and how often the code under
// test retried. Each entry also has its End time, the UserID its token
// (or redeemed code or refresh token) names and InFlight, the user's
// concurrent Graph requests when it arrived.
//
// # Other processes
//
// cmd/m365fake serves a Server (demo tenant or Generate's users) to other
// processes and prints its address and certificate. In a client process
// ClientFor(addr, caPEM) gives the *http.Client to put in auth.Config and
// graphclient.WithHTTPClient, and Browse with that client signs users in;
// WithListener, Addr and CertificatePEM do the serving side in Go.
//
// # Differences from Microsoft 365
//
// Access tokens are opaque random strings, not JWTs. Browse and other
// clients that do not ask for HTML skip the sign-in page: the user is
// chosen from login_hint. A personal account may sign
// in through organizations, so that tests can prove the app refuses it.
// $batch responses come back in reverse order, which Graph permits and
// clients must handle. Microsoft does not publish its retry back-off for
// notifications: the fake's (1, 2, 4, … minutes) is its own choice within
// the published four hours. Chat and channel messages are only posted: the
// fake has no edits, deletions or reactions, so chat-message subscriptions
// see "created" only.
package graphtest
