// Package graphclient is a thin Microsoft Graph REST client: requests,
// errors, retries, throttling, paging, delta queries and JSON batching.
// The area packages of m365kit (calendar, mail, teams) are built on it, and
// its public [Client.NewRequest] and [Client.Do] reach any Graph endpoint
// they do not wrap.
//
// # Creating a client
//
// A [Client] acts for one signed-in user. It takes a [TokenSource] (an
// auth.Source, [StaticToken], or [FromOAuth2]) and options in any order:
//
//	gc, err := graphclient.New(ts,
//		graphclient.WithLogger(logger),
//		graphclient.WithImmutableIDs(),
//	)
//
// The default base URL is https://graph.microsoft.com/v1.0/; national
// clouds use [WithBaseURL] ("https://graph.microsoft.us/v1.0/",
// "https://dod-graph.microsoft.us/v1.0/",
// "https://microsoftgraph.chinacloudapi.cn/v1.0/"). Every request carries
// Prefer: outlook.timezone="UTC" (see [WithTimeZone]) and a fresh
// client-request-id GUID. A Client has at most 4 requests in flight
// (Outlook's per-mailbox limit; see [WithMaxConcurrency]).
//
// # Requests
//
// Paths are relative to the base URL, without a leading slash; escape IDs
// with url.PathEscape:
//
//	req, err := gc.NewRequest(ctx, "GET", "me/events/"+url.PathEscape(id), nil)
//	if err != nil {
//		return err
//	}
//	var ev Event
//	if _, err := gc.Do(req, &ev); err != nil {
//		return err
//	}
//
// # Errors
//
// A non-2xx response is an [*Error] decoded from the Graph error envelope,
// with the status, the code, the nested innerError codes, request-id,
// client-request-id, date and Retry-After. Match sentinels with errors.Is
// and read details with errors.As:
//
//	if errors.Is(err, graphclient.ErrNotFound) { ... }
//	var ge *graphclient.Error
//	if errors.As(err, &ge) && ge.HasCode("ErrorAccessDenied") { ... }
//
// Codes compare case-insensitively ([Error.HasCode]); Graph spells the
// same code differently across services.
//
// Continuous access evaluation: the SDK does not declare the CP1 client
// capability (MSAL's client capabilities, the xms_cc claim), so Graph
// gives it ordinary one-hour tokens and, per Microsoft's claims-challenge
// documentation, sends it no claims challenges; a revoked session shows
// at the next token refresh instead (auth.ErrReauthRequired). Should a
// 401 carry one all the same, it is not retried: the [*Error] matches
// [ErrUnauthorized] and carries the decoded claims request in
// [Error.Claims], to pass to auth.SignInRequest.Claims for a new sign-in.
//
// # Retries and throttling
//
// Requests answered 429 or 503 are retried for every method (Graph did
// not process them); 504 and transient network errors only for idempotent
// methods. The wait is exactly the Retry-After header (whole or fractional
// seconds, or an HTTP date), else a capped exponential backoff with
// jitter, and never runs past the context's deadline: then the last
// response's *Error comes back at once. When attempts run out it is also
// the last *Error, never a generic "gave up". A host whose name does not
// resolve is not retried: the error says so in one line. See [RetryPolicy];
// RetryPolicy{MaxAttempts: 1} turns retries off.
//
// Bad input (an option, a path, a batch) is refused before anything is
// sent with an error matching [ErrInvalidInput], the one bad-input
// sentinel of the SDK.
//
// # Paging and delta
//
// [All] walks a collection through @odata.nextLink as an iter.Seq2:
//
//	for ev, err := range graphclient.All[Event](ctx, gc, "me/events?$top=50") {
//		if err != nil {
//			return err
//		}
//		fmt.Println(ev.Subject)
//	}
//
// [Delta] walks one delta round page by page. Persist each page's Cursor
// with its data and resume from it; when a page says Reset, Graph dropped
// the sync state and the round started over from the initial query:
//
//	for page, err := range graphclient.Delta[Event](ctx, gc, initial, cursor) {
//		if err != nil {
//			return err
//		}
//		if page.Reset {
//			dropEverything()
//		}
//		save(page.Items, page.Removed, page.Cursor)
//	}
//
// # Batching
//
// [Client.Batch] sends many requests through $batch, 20 per call, keeps
// dependsOn chains together and retries throttled items after their own
// Retry-After. Results come back in request order.
//
// # Concurrency
//
// A [Client] is safe for concurrent use; share one per signed-in user.
// The iterators of [All] and [Delta] may run concurrently with each other
// and with other calls on the same Client; each iteration holds no
// request slot while its loop body runs. Set deadlines with the context:
// the client adds no timeout of its own.
//
// # Security
//
// The bearer token is sent only to the base URL's scheme and host: an
// @odata.nextLink or deltaLink elsewhere is an error and nothing is sent,
// and a redirect elsewhere loses the Authorization header. Tokens never
// appear in errors or logs, and response bodies are read through limits
// (1 MiB for errors, [WithMaxResponseSize] for results).
package graphclient
