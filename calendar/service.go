package calendar

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/m365kit/m365kit/graphclient"
)

// Service reads and updates the signed-in user's calendars through one
// graphclient.Client. It holds no other state and is safe for concurrent
// use.
type Service struct {
	gc *graphclient.Client
}

// New returns a Service over gc (one per signed-in user, like gc).
func New(gc *graphclient.Client) *Service {
	return &Service{gc: gc}
}

// errNoClient is returned by every method of a Service built with a nil
// client.

// Window is a time range [Start, End) of a calendar view. Graph returns
// every event instance that overlaps it, recurring series expanded. A plain
// value.
type Window struct {
	Start, End time.Time
}

// check reports a window with a missing or inverted bound.
func (w Window) check(op string) error {
	switch {
	case w.Start.IsZero():
		return invalid(op, "Window.Start", "is zero")
	case w.End.IsZero():
		return invalid(op, "Window.End", "is zero")
	case !w.End.After(w.Start):
		return invalid(op, "Window.End", "is not after Window.Start ("+w.End.UTC().Format(time.RFC3339)+" <= "+w.Start.UTC().Format(time.RFC3339)+")")
	}
	return nil
}

// query renders the window as calendarView's startDateTime and endDateTime
// (UTC, ISO 8601).
func (w Window) query() string {
	return "startDateTime=" + url.QueryEscape(w.Start.UTC().Format(time.RFC3339Nano)) +
		"&endDateTime=" + url.QueryEscape(w.End.UTC().Format(time.RFC3339Nano))
}

// EventsOptions tunes Events. A nil *EventsOptions, like the zero value,
// reads the primary calendar without event bodies. A plain value.
type EventsOptions struct {
	// CalendarID selects a calendar from Calendars ("" is the primary
	// calendar). Calendars shared with the user need Calendars.Read.Shared.
	CalendarID string
	// IncludeBody fetches the full event, body included. Without it the
	// request $selects every Event field but body (bodyPreview stays);
	// Graph does not return createdDateTime and lastModifiedDateTime under
	// $select on calendarView, so those are zero then.
	IncludeBody bool
	// PageSize asks Graph for at most this many events per page
	// (Prefer: odata.maxpagesize); 0 leaves Graph's default.
	PageSize int
	// KeepRaw keeps each event's JSON, as Graph sent it, in Event.Raw
	// (with the body only when IncludeBody is set: $select applies).
	KeepRaw bool
}

// eventSelect is $select for Events without the body.
const eventSelect = "id,iCalUId,seriesMasterId,type,changeKey,subject,bodyPreview,start,end," +
	"originalStartTimeZone,originalEndTimeZone,isAllDay,isCancelled,isOrganizer,isDraft,showAs," +
	"sensitivity,importance,organizer,attendees,responseStatus,location,locations,isOnlineMeeting," +
	"onlineMeetingProvider,onlineMeeting,onlineMeetingUrl,webLink,categories"

// Calendars returns the user's calendars: their own and those shared with
// them that they added, each with its owner and the user's permissions on
// it (CanEdit, CanShare, CanViewPrivateItems).
//
// Graph API: GET /me/calendars
func (s *Service) Calendars(ctx context.Context) iter.Seq2[*Calendar, error] {
	return func(yield func(*Calendar, error) bool) {
		if s.gc == nil {
			yield(nil, &Error{Op: "Calendars", Err: errNoClient})
			return
		}
		for c, err := range graphclient.All[Calendar](ctx, s.gc, "me/calendars") {
			if err != nil {
				yield(nil, &Error{Op: "Calendars", Err: err})
				return
			}
			if !yield(&c, nil) {
				return
			}
		}
	}
}

// Events returns the event instances of a calendar that overlap w, in
// start order, with recurring series expanded into occurrences and
// exceptions (series masters are not included). The sequence is lazy:
// nothing is sent before range, and bad input is yielded as the first
// error.
//
// Graph API: GET /me/calendarView, GET /me/calendars/{id}/calendarView
func (s *Service) Events(ctx context.Context, w Window, opts *EventsOptions) iter.Seq2[*Event, error] {
	return func(yield func(*Event, error) bool) {
		const op = "Events"
		if s.gc == nil {
			yield(nil, &Error{Op: op, Err: errNoClient})
			return
		}
		var o EventsOptions
		if opts != nil {
			o = *opts
		}
		if err := w.check(op); err != nil {
			yield(nil, err)
			return
		}
		ro, err := pageSizeOption(op, "EventsOptions.PageSize", o.PageSize)
		if err != nil {
			yield(nil, err)
			return
		}
		path := "me/calendarView"
		if o.CalendarID != "" {
			path = "me/calendars/" + url.PathEscape(o.CalendarID) + "/calendarView"
		}
		path += "?" + w.query() + "&$orderby=start/dateTime"
		if !o.IncludeBody {
			path += "&$select=" + eventSelect
		}
		for ev, err := range s.all(ctx, path, o.KeepRaw, ro) {
			if err != nil {
				yield(nil, &Error{Op: op, Err: err})
				return
			}
			if !yield(&ev, nil) {
				return
			}
		}
	}
}

// Event returns one event of the signed-in user's calendar, body included.
// An unknown ID is an error matching graphclient.ErrNotFound.
//
// Graph API: GET /me/events/{id}
func (s *Service) Event(ctx context.Context, id string) (*Event, error) {
	const op = "Event"
	if s.gc == nil {
		return nil, &Error{Op: op, Err: errNoClient}
	}
	if strings.TrimSpace(id) == "" {
		return nil, invalid(op, "id", "is empty")
	}
	req, err := s.gc.NewRequest(ctx, http.MethodGet, "me/events/"+url.PathEscape(id), nil)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	var ev Event
	if _, err := s.gc.Do(req, &ev); err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	return &ev, nil
}

// OnlineMeeting returns the Teams meeting behind a join URL (an event's
// onlineMeeting.joinUrl or a link FindMeetingLink found). It works for the
// organiser and for invited attendees. No meeting is an error matching
// graphclient.ErrNotFound. Needs OnlineMeetings.Read.
//
// Graph API: GET /me/onlineMeetings?$filter=JoinWebUrl eq '{joinWebUrl}'
func (s *Service) OnlineMeeting(ctx context.Context, joinURL string) (*OnlineMeeting, error) {
	const op = "OnlineMeeting"
	if s.gc == nil {
		return nil, &Error{Op: op, Err: errNoClient}
	}
	u, err := url.Parse(joinURL)
	if joinURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, invalid(op, "joinURL", "is not an http(s) URL")
	}
	// The URL goes in an OData string literal (quotes doubled) and the
	// whole filter is query-encoded once, as Graph documents.
	filter := "JoinWebUrl eq '" + strings.ReplaceAll(joinURL, "'", "''") + "'"
	path := "me/onlineMeetings?$filter=" + strings.ReplaceAll(url.QueryEscape(filter), "+", "%20")
	req, err := s.gc.NewRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	var page struct {
		Value []OnlineMeeting `json:"value"`
	}
	if _, err := s.gc.Do(req, &page); err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	if len(page.Value) == 0 {
		return nil, &Error{Op: op, Err: notFound("no online meeting has this join URL")}
	}
	return &page.Value[0], nil
}

// EventUpdate holds the fields Update changes. Only non-nil fields are
// sent, so an update never touches what it does not name: an event's Teams
// meeting (onlineMeeting, isOnlineMeeting, onlineMeetingProvider) cannot be
// sent and stays as it is.
//
// EventUpdate is a plain value.
//
// Setting Body replaces the whole body, including the Teams "Join the
// meeting" block Outlook put in it; onlineMeeting.joinUrl is kept by Graph
// and FindMeetingLink reads it first, but attendees reading the body in
// Outlook lose the link. Read the body, edit it and send it back whole to
// keep the block.
type EventUpdate struct {
	Subject     *string           `json:"subject,omitempty"`
	Body        *ItemBody         `json:"body,omitempty"`
	Start       *DateTimeTimeZone `json:"start,omitempty"`
	End         *DateTimeTimeZone `json:"end,omitempty"`
	Location    *Location         `json:"location,omitempty"`
	Locations   *[]Location       `json:"locations,omitempty"`
	Attendees   *[]Attendee       `json:"attendees,omitempty"`
	Categories  *[]string         `json:"categories,omitempty"`
	ShowAs      *ShowAs           `json:"showAs,omitempty"`
	Sensitivity *Sensitivity      `json:"sensitivity,omitempty"`
	Importance  *string           `json:"importance,omitempty"`
	IsAllDay    *bool             `json:"isAllDay,omitempty"`
}

// empty reports an update that sets nothing.
func (u EventUpdate) empty() bool {
	return u == EventUpdate{}
}

// Update changes the fields u sets on an event and returns the event as
// Graph stored it. Needs Calendars.ReadWrite. An empty update is an error;
// nothing is sent.
//
// Graph API: PATCH /me/events/{id}
func (s *Service) Update(ctx context.Context, id string, u EventUpdate) (*Event, error) {
	const op = "Update"
	if s.gc == nil {
		return nil, &Error{Op: op, Err: errNoClient}
	}
	if strings.TrimSpace(id) == "" {
		return nil, invalid(op, "id", "is empty")
	}
	if u.empty() {
		return nil, invalid(op, "EventUpdate", "sets no field")
	}
	if u.Start != nil && u.End != nil && !u.End.Time.After(u.Start.Time) {
		return nil, invalid(op, "EventUpdate.End", "is not after EventUpdate.Start")
	}
	req, err := s.gc.NewRequest(ctx, http.MethodPatch, "me/events/"+url.PathEscape(id), u)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	var ev Event
	if _, err := s.gc.Do(req, &ev); err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	return &ev, nil
}
