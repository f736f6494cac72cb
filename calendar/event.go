package calendar

import (
	"encoding/json"
	"time"
)

// EventType is an event's place in a recurring series, Graph's event.type.
type EventType string

// The event types Graph reports.
const (
	SingleInstance EventType = "singleInstance"
	Occurrence     EventType = "occurrence"
	Exception      EventType = "exception"
	SeriesMaster   EventType = "seriesMaster"
)

// ShowAs is the free/busy status an event shows, Graph's event.showAs.
type ShowAs string

// The free/busy statuses Graph reports.
const (
	ShowAsFree             ShowAs = "free"
	ShowAsTentative        ShowAs = "tentative"
	ShowAsBusy             ShowAs = "busy"
	ShowAsOOF              ShowAs = "oof"
	ShowAsWorkingElsewhere ShowAs = "workingElsewhere"
	ShowAsUnknown          ShowAs = "unknown"
)

// Sensitivity is an event's sensitivity, Graph's event.sensitivity.
type Sensitivity string

// The sensitivities Graph reports.
const (
	Normal       Sensitivity = "normal"
	Personal     Sensitivity = "personal"
	Private      Sensitivity = "private"
	Confidential Sensitivity = "confidential"
)

// Response is an attendee's answer to an invitation, Graph's responseType.
type Response string

// The responses Graph reports.
const (
	ResponseNone                Response = "none"
	ResponseOrganizer           Response = "organizer"
	ResponseTentativelyAccepted Response = "tentativelyAccepted"
	ResponseAccepted            Response = "accepted"
	ResponseDeclined            Response = "declined"
	ResponseNotResponded        Response = "notResponded"
)

// AttendeeType says whether an attendee is required, optional or a resource
// (a room or equipment).
type AttendeeType string

// The attendee types Graph reports.
const (
	Required AttendeeType = "required"
	Optional AttendeeType = "optional"
	Resource AttendeeType = "resource"
)

// Event is an Outlook calendar event, with the fields of Graph's event
// resource that a meeting-aware backend uses. JSON names are Graph's. It is
// a plain value: safe for concurrent reads, owned by the caller.
type Event struct {
	ID             string    `json:"id"`
	ICalUID        string    `json:"iCalUId,omitempty"`
	SeriesMasterID string    `json:"seriesMasterId,omitempty"`
	Type           EventType `json:"type,omitempty"`
	ChangeKey      string    `json:"changeKey,omitempty"`

	Subject     string    `json:"subject,omitempty"`
	BodyPreview string    `json:"bodyPreview,omitempty"`
	Body        *ItemBody `json:"body,omitempty"`

	// Start and End are in UTC; their TimeZone is the zone Graph wrote them
	// in (the Prefer: outlook.timezone of the request, UTC by default).
	Start DateTimeTimeZone `json:"start"`
	End   DateTimeTimeZone `json:"end"`
	// OriginalStartTimeZone and OriginalEndTimeZone are the zones the
	// organiser created the event in ("Pacific Standard Time").
	OriginalStartTimeZone string `json:"originalStartTimeZone,omitempty"`
	OriginalEndTimeZone   string `json:"originalEndTimeZone,omitempty"`
	// OriginalStart is when an occurrence or exception was first scheduled
	// (zero for single instances).
	OriginalStart time.Time `json:"originalStart,omitzero"`

	IsAllDay    bool        `json:"isAllDay"`
	IsCancelled bool        `json:"isCancelled"`
	IsOrganizer bool        `json:"isOrganizer"`
	IsDraft     bool        `json:"isDraft,omitempty"`
	ShowAs      ShowAs      `json:"showAs,omitempty"`
	Sensitivity Sensitivity `json:"sensitivity,omitempty"`
	Importance  string      `json:"importance,omitempty"`

	Organizer *Recipient `json:"organizer,omitempty"`
	Attendees []Attendee `json:"attendees,omitempty"`
	// ResponseStatus is the signed-in user's own answer.
	ResponseStatus *ResponseStatus `json:"responseStatus,omitempty"`

	Location  *Location  `json:"location,omitempty"`
	Locations []Location `json:"locations,omitempty"`

	IsOnlineMeeting       bool               `json:"isOnlineMeeting"`
	OnlineMeetingProvider string             `json:"onlineMeetingProvider,omitempty"`
	OnlineMeeting         *OnlineMeetingInfo `json:"onlineMeeting,omitempty"`
	// OnlineMeetingURL is deprecated by Graph and usually null; read
	// OnlineMeeting.JoinURL (FindMeetingLink uses this only as a fallback).
	OnlineMeetingURL string `json:"onlineMeetingUrl,omitempty"`

	WebLink              string    `json:"webLink,omitempty"`
	CreatedDateTime      time.Time `json:"createdDateTime,omitzero"`
	LastModifiedDateTime time.Time `json:"lastModifiedDateTime,omitzero"`
	Categories           []string  `json:"categories,omitempty"`

	// Raw is the event's JSON exactly as Graph sent it, every property
	// included (recurrence, extensions, ... that Event has no field for),
	// for callers that store it whole. It is filled only when asked for
	// (SyncRequest.KeepRaw, SlideRequest.KeepRaw, EventsOptions.KeepRaw)
	// and nil otherwise, so decoding pays for it only then.
	Raw json.RawMessage `json:"-"`
}

// ItemBody is an event body, Graph's itemBody.
type ItemBody struct {
	ContentType string `json:"contentType,omitempty"` // "html" or "text"
	Content     string `json:"content"`
}

// EmailAddress is a name and an SMTP address.
type EmailAddress struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address,omitempty"`
}

// Recipient is an organiser, Graph's recipient.
type Recipient struct {
	EmailAddress EmailAddress `json:"emailAddress"`
}

// ResponseStatus is an answer and when it was given; Time is zero when
// nobody answered.
type ResponseStatus struct {
	Response Response  `json:"response,omitempty"`
	Time     time.Time `json:"time,omitzero"`
}

// Attendee is one invitee of an event.
type Attendee struct {
	Type         AttendeeType    `json:"type,omitempty"`
	Status       *ResponseStatus `json:"status,omitempty"`
	EmailAddress EmailAddress    `json:"emailAddress"`
}

// Location is where an event takes place. LocationURI holds a URL for
// online locations (a Teams or Zoom link added as a location).
type Location struct {
	DisplayName  string           `json:"displayName,omitempty"`
	LocationType string           `json:"locationType,omitempty"`
	LocationURI  string           `json:"locationUri,omitempty"`
	UniqueID     string           `json:"uniqueId,omitempty"`
	UniqueIDType string           `json:"uniqueIdType,omitempty"`
	Address      *PhysicalAddress `json:"address,omitempty"`
	Coordinates  *Coordinates     `json:"coordinates,omitempty"`
}

// PhysicalAddress is a street address.
type PhysicalAddress struct {
	Street          string `json:"street,omitempty"`
	City            string `json:"city,omitempty"`
	State           string `json:"state,omitempty"`
	CountryOrRegion string `json:"countryOrRegion,omitempty"`
	PostalCode      string `json:"postalCode,omitempty"`
}

// Coordinates is a geographic position.
type Coordinates struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// OnlineMeetingInfo is the online-meeting part of an event, Graph's
// onlineMeetingInfo.
type OnlineMeetingInfo struct {
	JoinURL         string   `json:"joinUrl,omitempty"`
	ConferenceID    string   `json:"conferenceId,omitempty"`
	TollNumber      string   `json:"tollNumber,omitempty"`
	TollFreeNumbers []string `json:"tollFreeNumbers,omitempty"`
	QuickDial       string   `json:"quickDial,omitempty"`
}

// Calendar is one of the user's calendars, their own or one shared with
// them. The Can fields are the signed-in user's permissions on it. A plain
// value, like Event.
type Calendar struct {
	ID                            string       `json:"id"`
	Name                          string       `json:"name"`
	Color                         string       `json:"color,omitempty"`
	HexColor                      string       `json:"hexColor,omitempty"`
	ChangeKey                     string       `json:"changeKey,omitempty"`
	IsDefaultCalendar             bool         `json:"isDefaultCalendar"`
	CanEdit                       bool         `json:"canEdit"`
	CanShare                      bool         `json:"canShare"`
	CanViewPrivateItems           bool         `json:"canViewPrivateItems"`
	IsRemovable                   bool         `json:"isRemovable"`
	IsTallyingResponses           bool         `json:"isTallyingResponses"`
	AllowedOnlineMeetingProviders []string     `json:"allowedOnlineMeetingProviders,omitempty"`
	DefaultOnlineMeetingProvider  string       `json:"defaultOnlineMeetingProvider,omitempty"`
	Owner                         EmailAddress `json:"owner"`
}

// OnlineMeeting is a Teams meeting, Graph's onlineMeeting (the fields a
// notetaker uses). A plain value, like Event.
type OnlineMeeting struct {
	ID                    string                 `json:"id"`
	JoinWebURL            string                 `json:"joinWebUrl"`
	Subject               string                 `json:"subject,omitempty"`
	CreationDateTime      time.Time              `json:"creationDateTime,omitzero"`
	StartDateTime         time.Time              `json:"startDateTime,omitzero"`
	EndDateTime           time.Time              `json:"endDateTime,omitzero"`
	ChatInfo              *ChatInfo              `json:"chatInfo,omitempty"`
	Participants          *MeetingParticipants   `json:"participants,omitempty"`
	JoinMeetingIDSettings *JoinMeetingIDSettings `json:"joinMeetingIdSettings,omitempty"`
	AllowedPresenters     string                 `json:"allowedPresenters,omitempty"`
	VideoTeleconferenceID string                 `json:"videoTeleconferenceId,omitempty"`
}

// ChatInfo names the meeting chat.
type ChatInfo struct {
	ThreadID  string `json:"threadId,omitempty"`
	MessageID string `json:"messageId,omitempty"`
}

// MeetingParticipants is the organiser and attendees of an online meeting.
type MeetingParticipants struct {
	Organizer *MeetingParticipant  `json:"organizer,omitempty"`
	Attendees []MeetingParticipant `json:"attendees,omitempty"`
}

// MeetingParticipant is one participant of an online meeting.
type MeetingParticipant struct {
	UPN      string       `json:"upn,omitempty"`
	Role     string       `json:"role,omitempty"`
	Identity *IdentitySet `json:"identity,omitempty"`
}

// IdentitySet holds the identity of a participant.
type IdentitySet struct {
	User *Identity `json:"user,omitempty"`
}

// Identity is a user in a directory.
type Identity struct {
	ID               string `json:"id,omitempty"`
	DisplayName      string `json:"displayName,omitempty"`
	TenantID         string `json:"tenantId,omitempty"`
	IdentityProvider string `json:"identityProvider,omitempty"`
}

// JoinMeetingIDSettings is the numeric meeting ID and passcode people type
// to join; Graph leaves it out for meetings created before the feature.
type JoinMeetingIDSettings struct {
	JoinMeetingID      string `json:"joinMeetingId,omitempty"`
	Passcode           string `json:"passcode,omitempty"`
	IsPasscodeRequired bool   `json:"isPasscodeRequired"`
}
