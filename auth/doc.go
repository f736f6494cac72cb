// Package auth is "Sign in with Microsoft" for a multi-tenant SaaS backend
// and the per-user delegated Microsoft Graph tokens that follow from it.
// Only work and school accounts (Entra ID) sign in; personal Microsoft
// accounts are refused.
//
// auth drives MSAL Go for code redemption, its token cache and silent
// refresh, and owns everything MSAL Go leaves to the application: state,
// nonce and PKCE; validation of the ID token (RS256 signature against the
// tenant's keys, the multi-tenant issuer, audience, lifetime, nonce);
// per-user cache partitions that never leak into each other; one refresh
// at a time per user; and sign-out that really deletes the tokens.
//
// # Sign-in
//
//	store, _ := auth.Sealed(sqlStore, key)        // refresh tokens encrypted at rest
//	cred, _ := auth.Secret(os.Getenv("CLIENT_SECRET"))
//	app, err := auth.New(auth.Config{
//		ClientID: clientID, Credential: cred,
//		RedirectURL: "https://app.example.com/auth/callback",
//		Store: store, HTTPClient: http.DefaultClient,
//	})
//
//	// GET /auth/start
//	u, pending, err := app.SignInURL(auth.SignInRequest{Features: []scopes.Feature{scopes.Calendar}})
//	cookie, err := auth.PendingCookie(cookieKey, pending)   // or keep pending server-side
//	http.SetCookie(w, cookie); http.Redirect(w, r, u, http.StatusFound)
//
//	// POST /auth/callback (response_mode=form_post)
//	pending, err := auth.ReadPendingCookie(r, cookieKey)
//	user, err := app.CompleteSignIn(ctx, r, pending)
//	// user.AccountID (oid.tid) keys everything the backend does for the user.
//
// App.Handlers wraps these two steps in ready-made http.Handlers.
//
// # Tokens for the backend
//
//	ts := app.TokenSource(user.AccountID, scopes.Calendar)
//	gc, err := graphclient.New(ts)
//
// Source.Token returns an access token from an in-process cache, else
// from the store (refreshing it when it is about to expire and saving the
// rotated refresh token). Concurrent callers for one user share one
// acquisition, which runs detached from any one caller: a caller whose
// context ends returns at once without failing or restarting it for the
// others. Failures are *Error values matching ErrNotSignedIn,
// ErrReauthRequired (send the user through sign-in again, passing
// Error.Claims), ErrConsentRequired (Error.Missing names the permissions;
// consent.Diagnose explains Error.AADSTS()) or ErrTransient. An *Error
// never holds a token, code or secret, in its text or in anything it
// wraps: it keeps Entra's error code, AADSTS codes, HTTP status,
// correlation and trace IDs and timestamp, and drops MSAL's error, whose
// text can quote a token response and whose request carries the app's
// secret.
//
// The App does not declare the CP1 client capability (continuous access
// evaluation): Entra issues it ordinary access tokens of about an hour,
// not CAE's long-lived ones, and Graph sends it no claims challenges, so
// a revoked session or a new Conditional Access requirement surfaces at
// the next refresh as ErrReauthRequired, Claims included when Entra sends
// them. A 401 from Graph that carries a claims challenge regardless comes
// back from graphclient as a *graphclient.Error with Claims set: pass it
// to SignInRequest.Claims, as for ErrReauthRequired.
//
// # Token stores
//
// A TokenStore keeps one opaque blob per user, with a version. The package
// ships MemoryStore, FileStore and Sealed (AES-256-GCM with key rotation);
// package sqlstore adds PostgreSQL and SQLite. The App refuses a store that
// is not sealed unless Config.AllowPlaintextStore says the store encrypts
// by itself: the blobs hold refresh tokens, which are long-lived secrets.
//
// A sign-in saves unconditionally: it is the user's newest grant. A
// refresh saves conditionally, on the version it loaded, so that with
// many processes sharing a store none writes back tokens older than what
// another one saved meanwhile. When another process saved first (a new
// sign-in, another refresh), its refresh token, ID token and account win;
// the refresh adds only the access tokens it obtained where the stored
// blob has none as fresh, and saves again on the new version.
//
// # Concurrency
//
// App, Source and every store are safe for concurrent use. SignOut removes
// the stored tokens and this App's cached access tokens; other processes
// keep serving access tokens they already hold in memory until those
// expire (about an hour at most) but can no longer refresh them.
package auth
