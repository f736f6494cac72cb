// Package recording records a program's exchanges with Entra ID and
// Microsoft Graph to a file, with secrets removed, and replays them in
// tests offline: record what a real tenant answers once, commit the file,
// and run it in go test forever; a user's bug report becomes a recording
// that reproduces it.
//
// # Recording
//
// A Recorder wraps the transport of the auth App and of the Graph client
// (both, with one Recorder, so the run is one recording):
//
//	rec := recording.NewRecorder(recording.Config{Name: "calendar sync", Pseudonymize: true})
//	app, _ := auth.New(auth.Config{..., HTTPClient: rec.Client(nil)})
//	gc, _ := graphclient.New(app.TokenSource(account, scopes.Calendar),
//		graphclient.WithHTTPClient(rec.Client(nil)))
//	... run ...
//	path, err := rec.Save("testdata/recordings") // one new file per run
//
// A browser callback the program receives (sign-in, admin consent) is not
// an exchange the transports see: pass it to Recorder.Callback so a replay
// can bring it back.
//
// The file is indented JSON: per exchange the method, the URL, the request
// headers that change an answer (Content-Type, Prefer, ConsistencyLevel,
// If-Match, If-None-Match), the request body, the status, the response
// headers a client acts on (Content-Type, Retry-After, Location,
// request-id, client-request-id, Preference-Applied, ETag,
// WWW-Authenticate, Date, Deprecation, Sunset), the response body (JSON
// kept as JSON, so a diff shows the field that changed), when it was sent
// and how long it took.
//
// # What is redacted
//
// Secrets never reach the file:
//
//   - Authorization, Proxy-Authorization, Cookie and Set-Cookie headers,
//     and every header not in the lists above (Config.KeepHeaders adds
//     some; never these four).
//   - Access and refresh tokens, authorization codes, PKCE verifiers and
//     challenges, client secrets and client assertions, state and nonce,
//     password and assertion grants: in JSON bodies, form bodies, URL
//     queries and fragments (#access_token=...), Location headers, HTML
//     and free text.
//   - ID tokens are written decoded, {"header": ..., "claims": ...}, so a
//     reader sees what the token said (tid, oid, aud, iss, name, ...) and
//     a diff shows the claim that changed; the signature and the nonce are
//     dropped, so nothing in the file verifies as Entra's: no one can
//     present it.
//   - Graph's clientState (subscriptions, notifications), validation
//     tokens and encrypted-content keys; any JWT anywhere; Config.Secrets.
//   - Every value removed above, wherever it appears again in the run
//     (an error message quoting a token, a URL carrying a code), raw, URL-
//     or JSON-escaped.
//
// $skiptoken and $deltatoken are kept: replay needs them to follow the
// recorded links. They are Graph's opaque sync state, not credentials:
// nothing can be read with one without an access token for the mailbox.
// If that is still too much for a file you share, treat the recording as
// you would a sync cursor in your database.
//
// With Config.Pseudonymize, personal data is replaced by stable stand-ins:
// names ("Person 3"), e-mail addresses ("person3@domain1.example", the
// domain mapped on its own so that colleagues still share a domain and
// outsiders do not), phone numbers, subjects ("Subject 7"), bodies, body
// previews and locations ("Body 2", keeping the URLs in them, which
// meeting-link detection reads: a join link is kept). The same value gets
// the same stand-in throughout the run, in URLs too. The mapping stays in
// memory and is never written. IDs (object, event and message IDs,
// tenant IDs) are kept: they are opaque, and matching needs them.
//
// Before committing a recording of a real tenant, read it: the redaction
// is by rule, and a tenant may hold a secret where no rule looks (a
// password in an event body). FuzzRedact proves the rules above against
// any secret value.
//
// # Replaying
//
// A Replayer answers from a recording and never reaches the network.
// Requests match by method, host, path and the query parameters (all of
// them, in any order), and for a form POST its grant_type; a request that
// repeats is answered with its recorded answers in order (delta rounds:
// the same $deltatoken link answered round after round); a request the
// recording does not hold, or asked more often than recorded, gets a
// *MissError naming it and what was recorded for the same path, and
// Replay fails the test at the first one. (A miss is a transport error,
// which graphclient and auth retry like a dropped connection before they
// return it; the test has failed already, naming the request.) Entra's
// metadata and signing keys may be fetched any number of times. A recorded
// transport error (a dropped connection) or truncated body is replayed as
// one, so a client's retries meet the recorded retries. Replay answers at
// once: the recorded timings are for reading. Requests with the same key
// sent at once (concurrent pages of a $batch) take the recorded answers in
// the order they arrive.
//
// A program that computes a window from the clock (calendarView's
// startDateTime) must compute it from Recording.Recorded when replaying,
// so its requests are the recorded ones.
//
// The matcher is written here rather than on github.com/jarcoal/httpmock,
// which the SDK's unit tests use: this package is a library that programs
// import (the examples' -replay), and httpmock would become a dependency
// of them for a few dozen lines; its responders are registered by method
// and URL string, while a replay needs per-request queues in recorded
// order, a failure that names what was recorded for the path, and answers
// rewritten from the request (the ID token, below).
//
// # Replaying a sign-in
//
// A recorded ID token has no signature (see above), a nonce that was the
// recorded run's, and an expiry in the past; the SDK checks all three, and
// must keep checking them. So the Replayer acts as the authority that
// issued it: it serves its own RSA key (ReplayKeyID) as the tenant's
// signing keys, and signs the recorded claims again when it replays a
// token response, with the lifetimes moved so the token is issued now and,
// for an authorization-code grant, the nonce of the sign-in in progress,
// which it learns from the authorize URL given to Replayer.Browse.
// Replayer.Browse plays the browser: it brings back the next recorded
// callback with the program's state. auth.App then validates the token as
// it would Entra's: signature against the served keys, issuer, audience,
// expiry, nonce, tenant. What a replay cannot prove is that Entra's own
// signature verifies; the live run did.
//
// A program that resumes from stored tokens (no sign-in in the recording)
// replays its Graph traffic with a token source that does not reach Entra
// (graphclient.StaticToken): the recorded refreshes are then left
// unplayed, and Replayer.AllowUnplayed says so.
//
// # A recording as a regression test
//
//  1. Record the run that shows the problem: the examples take -record DIR
//     (go run ./examples/calendar-sync -once -record /tmp/rec), or wrap
//     your own clients as above, with Pseudonymize set if you share it.
//  2. Read the file. Remove exchanges that do not matter to the problem if
//     you like (keep the order); keep the links that lead from one page to
//     the next.
//  3. Copy it into the package's testdata/ and add a line to
//     testdata/SOURCES.md saying where it came from.
//  4. In the test, replay it with recording.Replay(t, path), pass
//     Client() where the recorder's clients were, and assert what the
//     program should have done. m365test.ReplaySignIn signs the recorded
//     user in again through a replay in one call.
//
// The package imports nothing of the SDK, like graphtest: recordings are
// the other source of Graph's answers in tests, beside the fake, and must
// not share a misconception with the client through shared code.
package recording
