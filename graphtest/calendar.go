package graphtest

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Event is an event of a user's primary calendar, as the fake stores it.
// AddEvent fills what is left empty; the fake renders it as Graph's event.
//
// A recurring series is stored as Graph exposes it: a seriesMaster (the
// Event given to AddEvent with Recurrence set) and one occurrence Event per
// instance, each with SeriesMasterID set. Updating an occurrence makes it an
// exception; deleting one removes that instance.
//
// Event is a plain value: the fake keeps its own copy, so changing an Event
// it returned changes nothing; use UpdateEvent.
type Event struct {
	// ID is the event ID; AddEvent generates one when empty.
	ID string
	// ICalUID is the iCalUId, unique per instance; generated when empty.
	ICalUID string
	// ChangeKey changes on every update; the fake maintains it.
	ChangeKey string
	// Type is singleInstance, seriesMaster, occurrence or exception. The
	// fake sets it: seriesMaster when Recurrence is set, else singleInstance.
	Type string
	// SeriesMasterID links an occurrence or exception to its series master.
	SeriesMasterID string
	Subject        string
	// BodyHTML is the HTML body. Graph wraps it in <html><body>.
	BodyHTML string
	// Start and End are the event's times (stored in UTC).
	Start, End time.Time
	// TimeZone is the Windows or IANA zone the event was created in,
	// rendered as originalStartTimeZone and originalEndTimeZone (default
	// "UTC"). Recurrences expand in this zone when the fake knows it.
	TimeZone    string
	IsAllDay    bool
	IsCancelled bool
	// ShowAs is free, tentative, busy (default), oof, workingElsewhere or unknown.
	ShowAs string
	// Sensitivity is normal (default), personal, private or confidential.
	Sensitivity string
	// Importance is low, normal (default) or high.
	Importance string
	// Organizer defaults to the calendar's owner.
	Organizer Address
	Attendees []Attendee
	// ResponseStatus is the owner's response: organizer (default when the
	// owner organises), none (default otherwise), accepted,
	// tentativelyAccepted, declined or notResponded.
	ResponseStatus string
	Location       Location
	// Locations defaults to Location alone.
	Locations []Location
	// OnlineMeetingProvider is teamsForBusiness for a Teams meeting (the
	// fake then generates JoinURL when empty), or empty/"unknown" for any
	// other meeting. Zoom and Google Meet links live in Location or
	// BodyHTML, as their Outlook add-ins put them.
	OnlineMeetingProvider string
	// JoinURL is the Teams join URL, rendered as onlineMeeting.joinUrl.
	JoinURL string
	// Recurrence makes AddEvent store a series (see Recurrence).
	Recurrence *Recurrence
	Categories []string
	// Created and LastModified are maintained by the fake (server clock).
	Created, LastModified time.Time
	// WebLink is the Outlook on the web link; generated.
	WebLink string

	rev           int64       // change counter (delta)
	originalStart time.Time   // occurrences and exceptions: start as generated
	cancelled     []time.Time // series master: originalStart of deleted occurrences
}

// Attendee is an attendee of an event (a plain value).
type Attendee struct {
	Address
	// Type is required (default), optional or resource.
	Type string
	// Response is none (default), accepted, tentativelyAccepted, declined
	// or notResponded.
	Response string
}

// Location is an event location (a plain value). LocationURI carries a meeting link when a
// conferencing add-in stores it there.
type Location struct {
	DisplayName  string
	LocationURI  string
	LocationType string // default (the default), conferenceRoom, ...
}

// Recurrence is a series' recurrence pattern and range (a plain value),
// with Graph's six pattern types: every Interval days ("daily"), weeks
// ("weekly", on DaysOfWeek), months ("absoluteMonthly" on DayOfMonth,
// "relativeMonthly" on the Index-th of DaysOfWeek) or years
// ("absoluteYearly", "relativeYearly", in Month). The series ends after
// Count occurrences or on Until (inclusive); with neither, the fake expands
// one year of occurrences (at most 500). Occurrences keep the start's time
// of day in the event's time zone. AddEvent panics on any other Pattern.
type Recurrence struct {
	// Pattern is the recurrencePattern type, case-insensitive.
	Pattern  string
	Interval int // default 1
	// DaysOfWeek is the weekly and relative patterns' days; default the
	// start's weekday.
	DaysOfWeek []time.Weekday
	// DayOfMonth is the absolute patterns' day, default the start's. In a
	// month without that day (the 31st in April) the series falls on the
	// month's last day, as Exchange does.
	DayOfMonth int
	// Month is the yearly patterns' month, default the start's.
	Month time.Month
	// Index is the relative patterns' "first" (the default), "second",
	// "third", "fourth" or "last". With several DaysOfWeek the fake counts
	// every day of the month that falls on any of them ("the second
	// weekday of the month").
	Index string
	Until time.Time
	Count int
}

// patterns are the recurrencePattern types, in Graph's spelling.
var patterns = []string{"daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly"}

// patternType returns Graph's spelling of a pattern type, or "" if it is
// not one.
func patternType(p string) string {
	for _, t := range patterns {
		if strings.EqualFold(p, t) {
			return t
		}
	}
	return ""
}

// weekIndexes are the relative patterns' index values; "last" is -1.
var weekIndexes = map[string]int{"": 1, "first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}

// checkRecurrence refuses a pattern type or index Graph does not have and
// spells the pattern as Graph does.
func checkRecurrence(r *Recurrence) error {
	pt := patternType(r.Pattern)
	if pt == "" {
		return fmt.Errorf("recurrence pattern %q is not one of %s", r.Pattern, strings.Join(patterns, ", "))
	}
	if _, ok := weekIndexes[strings.ToLower(r.Index)]; !ok {
		return fmt.Errorf("recurrence index %q is not first, second, third, fourth or last", r.Index)
	}
	r.Pattern = pt
	return nil
}

// maxOccurrences bounds the expansion of a series.
const maxOccurrences = 500

// ErrNotFound is returned by the fake's Go API for an unknown ID.
var ErrNotFound = errors.New("graphtest: no such item")

// clone returns a copy sharing no slices with e.
func (e *Event) clone() Event {
	c := *e
	c.Attendees = slices.Clone(e.Attendees)
	c.Locations = slices.Clone(e.Locations)
	c.Categories = slices.Clone(e.Categories)
	c.cancelled = slices.Clone(e.cancelled)
	if e.Recurrence != nil {
		r := *e.Recurrence
		r.DaysOfWeek = slices.Clone(e.Recurrence.DaysOfWeek)
		c.Recurrence = &r
	}
	return c
}

// AddEvent stores ev in u's primary calendar and returns it as stored, with
// its ID and the fields the fake fills in. With ev.Recurrence set it stores
// a series master and its occurrences (see Occurrences).
func (u *User) AddEvent(ev Event) Event {
	defer u.lock()()
	d := u.data
	now := u.now()
	e := ev.clone()
	if e.ID == "" {
		e.ID = outlookID("AAMkAGI2")
	}
	u.defaults(&e, now)
	e.Type = "singleInstance"
	e.SeriesMasterID = ""
	if e.Recurrence != nil {
		e.Type = "seriesMaster"
		if err := checkRecurrence(e.Recurrence); err != nil {
			panic("graphtest: AddEvent: " + err.Error())
		}
	}
	e.rev = d.nextRev()
	d.events[e.ID] = &e
	if e.Type == "seriesMaster" {
		d.expand(&e, now)
	}
	return e.clone()
}

// defaults fills the empty fields of e.
func (u *User) defaults(e *Event, now time.Time) {
	if e.ICalUID == "" {
		e.ICalUID = "040000008200E00074C5B7101A82E00800000000" + strings.ToUpper(randomToken(28))
	}
	e.ChangeKey = changeKey()
	if e.Created.IsZero() {
		e.Created = now
	}
	e.LastModified = now
	e.Start, e.End = e.Start.UTC(), e.End.UTC()
	if e.End.Before(e.Start) {
		e.End = e.Start
	}
	e.TimeZone = cmp.Or(e.TimeZone, "UTC")
	e.ShowAs = cmp.Or(e.ShowAs, "busy")
	e.Sensitivity = cmp.Or(e.Sensitivity, "normal")
	e.Importance = cmp.Or(e.Importance, "normal")
	if e.Organizer.Address == "" {
		e.Organizer = Of(u)
	}
	if e.ResponseStatus == "" {
		e.ResponseStatus = "none"
		if strings.EqualFold(e.Organizer.Address, u.Mail) {
			e.ResponseStatus = "organizer"
		}
	}
	for i := range e.Attendees {
		e.Attendees[i].Type = cmp.Or(e.Attendees[i].Type, "required")
		e.Attendees[i].Response = cmp.Or(e.Attendees[i].Response, "none")
	}
	e.Location.LocationType = cmp.Or(e.Location.LocationType, "default")
	if len(e.Locations) == 0 && e.Location.DisplayName != "" {
		e.Locations = []Location{e.Location}
	}
	if isTeams(e.OnlineMeetingProvider) && e.JoinURL == "" {
		e.JoinURL = teamsJoinURL(u)
	}
	if e.OnlineMeetingProvider == "" {
		e.OnlineMeetingProvider = "unknown"
	}
	e.WebLink = "https://outlook.office365.com/owa/?itemid=" + url.QueryEscape(e.ID) + "&exvsurl=1&path=/calendar/item"
}

// isTeams reports an online meeting provider Graph keeps onlineMeeting for.
func isTeams(provider string) bool {
	switch provider {
	case "teamsForBusiness", "skypeForBusiness", "skypeForConsumer":
		return true
	}
	return false
}

// teamsJoinURL returns a fresh Teams join URL organised by u.
func teamsJoinURL(u *User) string {
	return "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + strings.TrimRight(outlookID("")[:40], "=") +
		"%40thread.v2/0?context=%7b%22Tid%22%3a%22" + u.TenantID + "%22%2c%22Oid%22%3a%22" + u.ID + "%22%7d"
}

// expand (re)generates the occurrences of a series master, keeping the IDs
// of existing occurrences and leaving exceptions alone.
func (d *userData) expand(m *Event, now time.Time) {
	existing := map[time.Time]*Event{}
	for _, e := range d.events {
		if e.SeriesMasterID == m.ID {
			existing[e.originalStart] = e
		}
	}
	keep := map[string]bool{}
	for _, start := range occurrenceStarts(m) {
		if slices.ContainsFunc(m.cancelled, start.Equal) {
			continue
		}
		if e := existing[start]; e != nil {
			keep[e.ID] = true
			if e.Type == "exception" {
				continue
			}
			id, ical, created := e.ID, e.ICalUID, e.Created
			*e = m.clone()
			e.ID, e.ICalUID, e.Created = id, ical, created
			e.setOccurrence(m, start)
			e.rev = d.nextRev()
			continue
		}
		o := m.clone()
		o.ID = outlookID("AAMkAGI2")
		o.ICalUID = "040000008200E00074C5B7101A82E00807" + strings.ToUpper(randomToken(29))
		o.Created = now
		o.setOccurrence(m, start)
		o.rev = d.nextRev()
		d.events[o.ID] = &o
		keep[o.ID] = true
	}
	for id, e := range d.events {
		if e.SeriesMasterID == m.ID && !keep[id] {
			delete(d.events, id)
		}
	}
}

// setOccurrence makes e the occurrence of m that starts at start.
func (e *Event) setOccurrence(m *Event, start time.Time) {
	e.Type = "occurrence"
	e.SeriesMasterID = m.ID
	e.Recurrence = nil
	e.cancelled = nil
	e.originalStart = start
	e.Start = start
	e.End = start.Add(m.End.Sub(m.Start))
	e.ChangeKey = changeKey()
	e.WebLink = "https://outlook.office365.com/owa/?itemid=" + url.QueryEscape(e.ID) + "&exvsurl=1&path=/calendar/item"
}

// occurrenceStarts lists the start times of a series, in UTC.
func occurrenceStarts(m *Event) []time.Time {
	r := m.Recurrence
	loc := zone(m.TimeZone)
	start := m.Start.In(loc)
	interval := max(r.Interval, 1)
	limit := start.AddDate(1, 0, 0) // no end: a year
	switch {
	case !r.Until.IsZero():
		u := r.Until.In(loc)
		limit = time.Date(u.Year(), u.Month(), u.Day(), 23, 59, 59, 0, loc)
	case r.Count > 0:
		limit = start.AddDate(maxOccurrences*max(r.Interval, 1), 0, 0) // Count (or maxOccurrences) ends it first
	}
	days := slices.DeleteFunc(slices.Clone(r.DaysOfWeek), func(d time.Weekday) bool { return d < time.Sunday || d > time.Saturday })
	if len(days) == 0 {
		days = []time.Weekday{start.Weekday()}
	}
	var out []time.Time
	add := func(t time.Time) bool {
		if t.Before(start) {
			return true
		}
		if t.After(limit) || (r.Count > 0 && len(out) >= r.Count) || len(out) >= maxOccurrences {
			return false
		}
		out = append(out, t.UTC())
		return true
	}
	// at returns the start's time of day on a date.
	at := func(y int, mo time.Month, d int) time.Time {
		return time.Date(y, mo, d, start.Hour(), start.Minute(), start.Second(), start.Nanosecond(), loc)
	}
	dayOfMonth := cmp.Or(r.DayOfMonth, start.Day())
	month := cmp.Or(r.Month, start.Month())
	// inMonth returns the occurrence of an absolute or relative pattern in
	// a month, if the month has one.
	inMonth := func(y int, mo time.Month, relative bool) (time.Time, bool) {
		last := time.Date(y, mo+1, 0, 0, 0, 0, 0, time.UTC).Day()
		if !relative {
			return at(y, mo, min(max(dayOfMonth, 1), last)), true
		}
		var match []int
		for d := 1; d <= last; d++ {
			if slices.Contains(days, time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Weekday()) {
				match = append(match, d)
			}
		}
		i, ok := weekIndexes[strings.ToLower(r.Index)]
		switch {
		case !ok || len(match) == 0 || i > len(match):
			return time.Time{}, false
		case i < 0:
			return at(y, mo, match[len(match)-1]), true
		}
		return at(y, mo, match[i-1]), true
	}

	switch pt := patternType(r.Pattern); pt {
	case "daily":
		for i := 0; ; i += interval {
			if !add(start.AddDate(0, 0, i)) {
				return out
			}
		}
	case "weekly":
		weekStart := start.AddDate(0, 0, -int(start.Weekday()))
		for w := 0; ; w += interval {
			base := weekStart.AddDate(0, 0, 7*w)
			for wd := time.Sunday; wd <= time.Saturday; wd++ {
				if !slices.Contains(days, wd) {
					continue
				}
				if !add(base.AddDate(0, 0, int(wd))) {
					return out
				}
			}
		}
	default: // monthly and yearly
		yearly := strings.HasSuffix(pt, "Yearly")
		relative := strings.HasPrefix(pt, "relative")
		step := interval
		y, mo := start.Year(), start.Month()
		if yearly {
			step = 12 * interval
			mo = month
		}
		// Walk months from the start's (or, yearly, the pattern month of
		// the start's year) while they can still hold an occurrence.
		for k := 0; ; k += step {
			first := time.Date(y, mo+time.Month(k), 1, 0, 0, 0, 0, loc)
			if first.After(limit) || len(out) >= maxOccurrences || (r.Count > 0 && len(out) >= r.Count) {
				return out
			}
			if t, ok := inMonth(first.Year(), first.Month(), relative); ok && !add(t) {
				return out
			}
		}
	}
}

// UpdateEvent applies change to the stored event with the given ID, as an
// update through Outlook would: the change key and lastModifiedDateTime
// move, delta reports the event as changed. Updating an occurrence makes it
// an exception; updating a series master regenerates its occurrences.
// It returns ErrNotFound for an unknown ID, and an error (storing nothing)
// for a recurrence pattern or index Graph does not have.
func (u *User) UpdateEvent(id string, change func(*Event)) error {
	defer u.lock()()
	d := u.data
	e := d.events[id]
	if e == nil {
		return fmt.Errorf("graphtest: event %q: %w", id, ErrNotFound)
	}
	c := e.clone()
	change(&c)
	c.ID, c.rev, c.originalStart, c.cancelled = e.ID, e.rev, e.originalStart, e.cancelled
	c.Type, c.SeriesMasterID = e.Type, e.SeriesMasterID
	if c.Recurrence != nil && (c.Type == "seriesMaster" || c.Type == "singleInstance") {
		r := *c.Recurrence // the change may have set the caller's own value
		r.DaysOfWeek = slices.Clone(r.DaysOfWeek)
		if err := checkRecurrence(&r); err != nil {
			return fmt.Errorf("graphtest: event %q: %w", id, err)
		}
		c.Recurrence = &r
	}
	d.store(u, &c)
	return nil
}

// store replaces the stored event with e after an update.
func (d *userData) store(u *User, e *Event) {
	now := u.now()
	if old := d.events[e.ID]; old != nil && e.Location != old.Location &&
		len(old.Locations) == 1 && old.Locations[0] == old.Location && slices.Equal(e.Locations, old.Locations) {
		e.Locations = nil // they mirrored the old location: follow the new one
	}
	u.defaults(e, now)
	switch e.Type {
	case "occurrence", "exception":
		e.Type = "exception"
		e.Recurrence = nil
	case "seriesMaster", "singleInstance":
		e.Type = "singleInstance"
		if e.Recurrence != nil {
			e.Type = "seriesMaster"
		}
	}
	e.rev = d.nextRev()
	d.events[e.ID] = e
	if e.Type == "singleInstance" {
		for id, o := range d.events {
			if o.SeriesMasterID == e.ID {
				delete(d.events, id)
			}
		}
	}
	if e.Type == "seriesMaster" {
		d.expand(e, now)
	}
}

// DeleteEvent deletes the event with the given ID: a single event, one
// instance of a series, or a series master with all its instances. It
// returns ErrNotFound for an unknown ID.
func (u *User) DeleteEvent(id string) error {
	defer u.lock()()
	return u.data.deleteEvent(id)
}

func (d *userData) deleteEvent(id string) error {
	e := d.events[id]
	if e == nil {
		return fmt.Errorf("graphtest: event %q: %w", id, ErrNotFound)
	}
	delete(d.events, id)
	if m := d.events[e.SeriesMasterID]; m != nil {
		m.cancelled = append(m.cancelled, e.originalStart)
	}
	for oid, o := range d.events {
		if o.SeriesMasterID == id {
			delete(d.events, oid)
		}
	}
	d.rev++
	return nil
}

// Events returns every event of u's primary calendar, series masters and
// their instances included, ordered by start (a series master before its
// first occurrence), then subject.
func (u *User) Events() []Event {
	defer u.lock()()
	return u.data.sortedEvents(func(*Event) bool { return true })
}

// Occurrences returns the occurrences and exceptions of the series whose
// master has the given ID, ordered by start.
func (u *User) Occurrences(masterID string) []Event {
	defer u.lock()()
	return u.data.sortedEvents(func(e *Event) bool { return e.SeriesMasterID == masterID })
}

func (d *userData) sortedEvents(keep func(*Event) bool) []Event {
	var out []Event
	for _, e := range d.events {
		if keep(e) {
			out = append(out, e.clone())
		}
	}
	// By start; a series master before the occurrence that starts with it;
	// then by subject, so equal data lists alike whatever the fresh IDs.
	master := func(e Event) int {
		if e.Type == "seriesMaster" {
			return 0
		}
		return 1
	}
	slices.SortFunc(out, func(a, b Event) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(master(a), master(b)),
			strings.Compare(a.Subject, b.Subject), strings.Compare(a.ID, b.ID))
	})
	return out
}

// calendarShare is another user's calendar shared with this user.
type calendarShare struct {
	id      string
	owner   *User
	canEdit bool
}

// ShareCalendarWith shares u's primary calendar with other, as a
// delegate or a sharing invitation would: it appears in other's
// GET /me/calendars with owner u and canEdit as given, and its
// calendarView lists u's events. It returns the calendar's ID in other's
// mailbox.
func (u *User) ShareCalendarWith(other *User, canEdit bool) string {
	defer other.lock()()
	for _, s := range other.data.shared {
		if s.owner == u {
			s.canEdit = canEdit
			return s.id
		}
	}
	s := &calendarShare{id: outlookID("AAMkAGI2SH"), owner: u, canEdit: canEdit}
	other.data.shared = append(other.data.shared, s)
	return s.id
}

// CalendarID returns the ID of u's primary calendar.
func (u *User) CalendarID() string { return u.data.calendarID }

// zones maps the Windows time zone names Graph uses to IANA names.
var zones = map[string]string{
	"pacific standard time":        "America/Los_Angeles",
	"mountain standard time":       "America/Denver",
	"central standard time":        "America/Chicago",
	"eastern standard time":        "America/New_York",
	"gmt standard time":            "Europe/London",
	"w. europe standard time":      "Europe/Berlin",
	"romance standard time":        "Europe/Paris",
	"central europe standard time": "Europe/Budapest",
	"tokyo standard time":          "Asia/Tokyo",
	"india standard time":          "Asia/Kolkata",
	"aus eastern standard time":    "Australia/Sydney",
	"singapore standard time":      "Asia/Singapore",
}

// zone returns the location for a Windows or IANA time zone name, UTC when
// unknown.
func zone(name string) *time.Location {
	if loc, ok := lookupZone(name); ok {
		return loc
	}
	return time.UTC
}

func lookupZone(name string) (*time.Location, bool) {
	if name == "" || strings.EqualFold(name, "UTC") || strings.EqualFold(name, "Coordinated Universal Time") {
		return time.UTC, true
	}
	if iana, ok := zones[strings.ToLower(name)]; ok {
		name = iana
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, false
	}
	return loc, true
}
