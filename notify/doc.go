// Package notify receives Microsoft Graph change notifications (webhooks)
// so a backend learns within seconds that a meeting moved or mail arrived,
// instead of polling every user's calendar and mailbox.
//
// Notifications are hints. The package never trusts their content: a
// notification only triggers the delta sync the caller already runs
// (calendar or mail Sync from the stored cursor). notify does not import
// the area packages; the sync is a function the caller supplies.
//
// # Pieces
//
//   - [Manager] creates, renews, reauthorizes, lists and deletes one user's
//     subscriptions ([Events], [MailFolder], [ChatMessages],
//     [AllChatMessages]) and keeps their [Registration]s in a [Store] in
//     step. [Manager.Create] is one step: it stores a pending Registration
//     with a fresh random clientState before it asks Graph, and the
//     subscription ID once Graph answers, so a notification that arrives in
//     between is not lost. Expirations are chosen under each kind's maximum
//     ([DefaultLifetimes], configurable because Microsoft changed them);
//     every subscription gets a lifecycleNotificationUrl and immutable IDs.
//     [Manager.RenewDue] renews those near expiry and recreates those Graph
//     no longer has.
//   - [Store] holds the Registrations (three methods, easy to put in a SQL
//     table shared by every replica); [MemoryStore] is one for tests and
//     single processes.
//   - [Handler] is the http.Handler Graph posts to: it answers the
//     validation handshake, verifies each notification's clientState in
//     constant time against the Store, and hands the verified
//     notifications of each POST to [HandlerConfig].Deliver: before it
//     answers (202, or 503 with Retry-After when Deliver fails, so Graph
//     delivers again: the durable-intake mode), or after, from an
//     in-memory queue ([HandlerConfig].Workers: the simple mode).
//   - [Router] is a ready-made Deliver: change and missed notifications
//     ask its [Syncer] for a sync, reauthorizationRequired renews,
//     subscriptionRemoved recreates and resyncs. A [SyncFunc] syncs once
//     per [Key] and delivery; a [Debouncer] coalesces bursts into one sync
//     per Key.
//
// Nothing has a loop to start: the Handler and the Debouncer work once
// built, and their Shutdown methods stop them.
//
// # Wiring
//
//	store := &notify.MemoryStore{} // or a SQL table every replica reads
//	deb, _ := notify.NewDebouncer(notify.DebouncerConfig{Sync: func(ctx context.Context, k notify.Key) error {
//		return syncResource(ctx, k.Owner, k.Resource) // calendar or mail Sync from the stored cursor
//	}})
//	rt := &notify.Router{Sync: deb, Manager: func(ctx context.Context, owner string) (*notify.Manager, error) {
//		return notify.NewManager(graphFor(owner), notify.Config{Store: store, Owner: owner})
//	}}
//	h, _ := notify.NewHandler(notify.HandlerConfig{Store: store, Deliver: rt.Deliver})
//	http.Handle("POST /graph/notifications", h)
//
//	// per user, once the handler is reachable:
//	m, _ := notify.NewManager(gc, notify.Config{Store: store, Owner: accountID})
//	reg, err := m.Create(ctx, "https://example.com/graph/notifications", notify.Events())
//
//	// at shutdown, after the HTTP server's:
//	h.Shutdown(ctx)
//	deb.Shutdown(ctx)
//
// A renewal job calls [Manager.RenewDue] for each user's Registrations
// well before they expire (hourly with a window of a few hours).
//
// # Security
//
// Rejected requests (oversized body, bad JSON, unknown subscription, wrong
// clientState) all get the same status and empty body, 202 by default as
// Microsoft advises, so a forger learns nothing; [HandlerConfig].OnReject
// reports them. A clientState is the Registration's ID, a dot and 32
// random bytes; it is compared in constant time, cleared from
// notifications before Deliver sees them, and never logged or put in
// errors. The validation token is echoed as text/plain with nosniff.
//
// # Limits
//
// Rich notifications (includeResourceData with encrypted content) are not
// supported: the sync fetches the data. Only delegated subscriptions on
// the signed-in user's events, mail folders and chats are modelled.
package notify
