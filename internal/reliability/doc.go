// Package reliability holds m365kit's fault-injection, concurrency and
// token-safety suites. It has no API: its tests drive graphclient, calendar,
// mail and auth against graphtest, the fake Microsoft 365, the way a
// production backend would, and check what users of the SDK rely on.
//
//   - TestChaos*: 20 users sync their calendar and mail concurrently while
//     every Graph route fails at random (429 with Retry-After, 503, 504,
//     dropped connections, truncated bodies, one 410 sync reset per run).
//     Every item arrives at least once, the synced state equals the fake's,
//     no user has more than 4 requests in flight, and a sync killed at random
//     points and resumed from its stored cursors ends the same way.
//   - TestTokenRefreshUnderLoad*: 20 users x 50 goroutines call Graph while
//     their access tokens expire: every call succeeds, each user refreshes
//     once per expiry and the rotated refresh token is saved, with the sealed
//     memory, file and PostgreSQL stores.
//   - Token safety: no Authorization header goes to any host but Graph's, and
//     no access token, refresh token, ID token, authorization code, client
//     secret or cookie value appears in logs or error strings.
//   - TestFuzzTargets: every parser that sees network, stored or user input
//     keeps a fuzz target. The targets for parsers reachable only through
//     public APIs live here: stored calendar cursors, mail delta pages,
//     $batch responses, sealed store values and the notification webhook.
//   - TestAttemptTimeoutIsRetried: an attempt cut short by http.Client's own
//     timeout is retried, as the full-size chaos run needed.
//
// By default the chaos suite syncs 20 users x 500 items (250 events and 250
// messages each) so that it runs in seconds under -race. Set
// M365KIT_CHAOS_FULL=1 for the full size, 20 users x 10,000 items.
// M365KIT_CHAOS_SEED picks the fault seed (default 1); a failing run prints
// its seed. The PostgreSQL store test starts its own server as
// auth/sqlstore's tests do (or uses M365KIT_TEST_POSTGRES_DSN).
package reliability
