// Package calendar reads a signed-in user's Outlook calendars through
// Microsoft Graph, keeps a local copy of a calendar window in sync with delta
// queries, finds the online-meeting link of an event and decides, with
// [Rules], whether a notetaker should join it.
//
// # Reading
//
// [New] wraps a *graphclient.Client. [Service.Calendars] lists the user's own
// calendars and those shared with them; [Service.Events] lists the events of
// a [Window] of any calendar with recurrences expanded by Graph;
// [Service.Event] reads one event; [Service.Update] patches one; [Service.OnlineMeeting] finds the Teams
// meeting behind a join URL.
//
// An [Event]'s Start and End are [DateTimeTimeZone] values, Graph's
// {dateTime, timeZone} pairs: their Time field is a time.Time in UTC
// (ev.Start.Time), their TimeZone the zone Graph wrote the value in, which is
// the zone of the Prefer: outlook.timezone header (graphclient asks for UTC
// by default). [Event.OriginalStartTimeZone] keeps the zone the organiser
// used. The other timestamps of an Event (CreatedDateTime, OriginalStart,
// ...) are plain time.Time values in UTC.
//
// [Event] holds the properties a meeting-aware backend uses; Graph's other
// properties are dropped while decoding, which keeps decoding fast. To store
// events whole, set KeepRaw in [SyncRequest], [SlideRequest] or
// [EventsOptions]: [Event.Raw] then holds each event's JSON as Graph sent it.
//
// # Sync
//
// [Service.Sync] walks calendarView/delta for one window of the primary
// calendar and yields one [Page] per Graph page. Store each page's events,
// removals and cursor together (ideally in one transaction); restart from
// any stored cursor. The cursor carries the window, so a restart needs only
// the cursor. Apply a page like this:
//
//   - Reset: Graph dropped the sync state and the sync restarted from the
//     window's initial query. Delete the events you stored for this window,
//     then apply the page.
//   - Removed: delete these IDs. Graph reports under @removed both events
//     deleted inside the window and events outside it that were added,
//     changed or deleted, and an @removed entry carries only the ID, so
//     nobody can tell which window it belonged to. Page.Removed therefore
//     holds every removed ID: an event that moved out of the window must
//     leave the window's copy anyway, and deleting an ID you never stored is
//     a no-op. An ID that a page both changes and removes is reported only
//     as changed (the caller never loses a meeting that still exists).
//   - Events: upsert by ID. Graph may send the same change twice, in one page
//     or replayed in a later round; upserting makes that harmless.
//
// # Sliding window
//
// Delta tokens encode their window, so a window cannot move. To follow
// "1 day back, 30 days ahead", start a new window when the old one has slid
// far enough (for example once a day) with [Service.Slide]: it lists the new
// window, then runs one last round of the old cursor for what changed in the
// overlap since (deletions the new listing cannot show), leaving out
// removals of events the new listing has (they moved within the new window
// or changed later; the new cursor reports them). Apply and store its
// pages like Sync's (every page before the last carries the old cursor, so
// an interrupted slide is simply run again); with its Done page, which
// carries the new cursor, delete stored events outside the new window. Nothing is missed, nothing is duplicated.
// ExampleService_Slide shows it.
//
// # Meeting links and notetaker rules
//
// [FindMeetingLink] finds the join link of an event (Teams, Zoom, Google
// Meet, Webex and more) in onlineMeeting.joinUrl, locations, location, body
// and subject, after unwrapping Outlook SafeLinks, Proofpoint and Mimecast
// rewrites. [Rules.Match] decides whether a bot should join and hands back the
// link it found; [DedupKey] gives the same key for the same meeting seen by
// several users of a tenant, as long as their copies carry the same passcode.
//
// # Concurrency
//
// A Service is safe for concurrent use. Events, pages and links are plain
// values owned by the caller.
package calendar
