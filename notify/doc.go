// Package notify receives Microsoft Graph change notifications (webhooks)
// so a backend learns within seconds that a meeting moved or mail arrived,
// instead of polling every user's calendar and mailbox.
//
// Notifications are hints. The package never trusts their content: a
// notification only triggers the delta sync the caller already runs
// (calendar or mail Sync from the stored cursor), debounced per user and
// resource so a burst costs one sync. notify does not import the area
// packages; the sync is a function the caller supplies.
//
// # Pieces
//
//   - [Manager] creates, renews, reauthorizes, lists and deletes one user's
//     subscriptions: [Events], [MailFolder], [ChatMessages]. Expirations are
//     chosen under each kind's maximum ([DefaultLifetimes], configurable
//     because Microsoft changed them), every subscription gets a random
//     clientState and a lifecycleNotificationUrl, and creation asks for
//     immutable IDs. [Manager.RenewDue] renews those near expiry and
//     recreates those Graph no longer has.
//   - The caller stores a [Registration] (owner + subscription, clientState
//     included) per subscription; [Lookup] and [Store] read and write them
//     ([MemoryStore] for tests and single processes).
//   - [Handler] is the http.Handler Graph posts to: it answers the
//     validation handshake, verifies each notification's clientState in
//     constant time, answers 202 before any work, and queues verified
//     notifications for its workers ([Handler.Run]).
//   - [Debouncer] coalesces bursts into one sync per [Key].
//   - [Router] is the callback that ties them together: change and missed
//     notifications trigger the sync, reauthorizationRequired renews,
//     subscriptionRemoved recreates and resyncs.
//
// # Wiring
//
//	store := &notify.MemoryStore{}
//	deb, _ := notify.NewDebouncer(10*time.Second, func(ctx context.Context, k notify.Key) error {
//		return syncResource(ctx, k.Owner, k.Resource) // calendar or mail Sync from the stored cursor
//	})
//	rt := &notify.Router{Sync: deb, Store: store, Manager: managerFor}
//	h, _ := notify.NewHandler(store, rt.Process)
//	go deb.Run(ctx)
//	go h.Run(ctx)
//	http.Handle("POST /graph/notifications", h)
//
//	// per user, once the handler is reachable:
//	m, _ := notify.NewManager(gc, notify.Config{NotificationURL: "https://example.com/graph/notifications"})
//	sub, err := m.Create(ctx, notify.Events())
//	store.Save(ctx, notify.Registration{Owner: accountID, Subscription: *sub})
//
// A renewal job calls [Manager.RenewDue] for each user's stored
// subscriptions well before they expire (hourly with a window of a few
// hours), saving renewed ones and replacing recreated ones.
//
// # Security
//
// Rejected requests (oversized body, bad JSON, unknown subscription, wrong
// clientState) all get the same status and empty body, 202 by default as
// Microsoft advises, so a forger learns nothing; [WithOnReject] reports
// them. clientState values are compared in constant time, cleared from
// notifications before the callback sees them, and never logged or put in
// errors. The validation token is echoed as text/plain with nosniff.
//
// # Limits
//
// Rich notifications (includeResourceData with encrypted content) are not
// supported: the sync fetches the data. Only delegated subscriptions on
// the signed-in user's events, mail folders and chats are modelled.
package notify
