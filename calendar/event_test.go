package calendar

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func TestDecodeDocumentedEvent(t *testing.T) {
	t.Parallel()
	var ev Event
	readJSON(t, "event-online-meeting.json", &ev)
	pst, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	want := Event{
		ID:                    "AAMkAGI1AAAt8AHjAAA=",
		ICalUID:               "040000008200E00074C5B7101A82E00800000000DA2B357D94B5D201000000000000000010000000EC4597557F0CB34EA4CC2887EA7B17C3",
		Type:                  SingleInstance,
		ChangeKey:             "ZlnW4RIAV06KYYwlrfNZvQAALfZeRQ==",
		Subject:               "Let's go brunch",
		BodyPreview:           "Does noon work for you?",
		Body:                  &ItemBody{ContentType: "html", Content: "<html><head></head><body>Does late morning work for you?</body></html>"},
		Start:                 DateTimeTimeZone{Time: time.Date(2017, 4, 15, 11, 0, 0, 0, pst).UTC(), TimeZone: "Pacific Standard Time"},
		End:                   DateTimeTimeZone{Time: time.Date(2017, 4, 15, 12, 0, 0, 0, pst).UTC(), TimeZone: "Pacific Standard Time"},
		OriginalStartTimeZone: "Pacific Standard Time",
		OriginalEndTimeZone:   "Pacific Standard Time",
		IsOrganizer:           true,
		ShowAs:                ShowAsBusy,
		Sensitivity:           Normal,
		Importance:            "normal",
		Organizer:             &Recipient{EmailAddress: EmailAddress{Name: "Dana Swope", Address: "danas@contoso.onmicrosoft.com"}},
		Attendees: []Attendee{{
			Type:         Required,
			Status:       &ResponseStatus{Response: ResponseNone, Time: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
			EmailAddress: EmailAddress{Name: "Samantha Booth", Address: "samanthab@contoso.onmicrosoft.com"},
		}},
		ResponseStatus:        &ResponseStatus{Response: ResponseOrganizer, Time: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		Location:              &Location{DisplayName: "Harry's Bar", LocationType: "default", UniqueID: "Harry's Bar", UniqueIDType: "private"},
		Locations:             []Location{{DisplayName: "Harry's Bar", LocationType: "default", UniqueIDType: "unknown"}},
		IsOnlineMeeting:       true,
		OnlineMeetingProvider: "teamsForBusiness",
		OnlineMeeting: &OnlineMeetingInfo{
			JoinURL:      "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NzIyNzhlMGEtM2YyZC00ZmY0LTlhNzUtZmZjNWFmZGNlNzE2%40thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%2c%22Oid%22%3a%22bc55b173-cff6-457d-b7a1-64bda7d7581a%22%7d",
			ConferenceID: "177513992",
			TollNumber:   "+1 425 555 0123",
		},
		WebLink:              "https://outlook.office365.com/owa/?itemid=AAMkAGI1AAAt9AHjAAA%3D&exvsurl=1&path=/calendar/item",
		CreatedDateTime:      time.Date(2017, 4, 15, 3, 0, 50, 757958100, time.UTC),
		LastModifiedDateTime: time.Date(2017, 4, 15, 3, 0, 51, 245372000, time.UTC),
		Categories:           []string{},
	}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Errorf("decoded event mismatch (-want +got):\n%s", diff)
	}
	if got := ev.Start.Time.Format(time.RFC3339); got != "2017-04-15T18:00:00Z" {
		t.Errorf("Start = %s, want 2017-04-15T18:00:00Z (11:00 PDT)", got)
	}
	link, ok := FindMeetingLink(&ev)
	if !ok || link.Provider != Teams || link.Field != FieldJoinURL || link.TenantID != "72f988bf-86f1-41af-91ab-2d7cd011db47" {
		t.Errorf("FindMeetingLink = %v %+v, want the Teams joinUrl", ok, link)
	}
}

func TestDateTimeTimeZone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Time
		zone    string
		wantErr bool
	}{
		{`{"dateTime":"2016-12-09T20:30:00.0000000","timeZone":"UTC"}`, time.Date(2016, 12, 9, 20, 30, 0, 0, time.UTC), "UTC", false},
		{`{ "dateTime" : "2016-12-09T20:30:00.1234567" , "timeZone" : "UTC" }`, time.Date(2016, 12, 9, 20, 30, 0, 123456700, time.UTC), "UTC", false},
		{`{"timeZone":"UTC","dateTime":"2016-12-09T20:30:00"}`, time.Date(2016, 12, 9, 20, 30, 0, 0, time.UTC), "UTC", false},
		{`{"dateTime":"2017-01-15T11:00:00.0000000","timeZone":"Pacific Standard Time"}`, time.Date(2017, 1, 15, 19, 0, 0, 0, time.UTC), "Pacific Standard Time", false},
		{`{"dateTime":"2017-07-15T11:00:00.0000000","timeZone":"Europe/Berlin"}`, time.Date(2017, 7, 15, 9, 0, 0, 0, time.UTC), "Europe/Berlin", false},
		{`{"dateTime":"2017-07-15T11:00:00+02:00","timeZone":"Whatever"}`, time.Date(2017, 7, 15, 9, 0, 0, 0, time.UTC), "Whatever", false},
		{`{"dateTime":"2017-07-15T11:00:00Z"}`, time.Date(2017, 7, 15, 11, 0, 0, 0, time.UTC), "", false},
		{`{"dateTime":"2017-07-15T11:00:00","timeZone":"Mars\/Olympus"}`, time.Time{}, "", true},
		{`{"dateTime":"tomorrow","timeZone":"UTC"}`, time.Time{}, "", true},
		{`{"dateTime":"2017-13-15T11:00:00","timeZone":"UTC"}`, time.Time{}, "", true},
		{`{"dateTime":5}`, time.Time{}, "", true},
		{`{"dateTime":"2017-07-15T11:00:00","timeZone":"Local"}`, time.Time{}, "", true},
		{`{"dateTime":"2017-07-15T11:00:00","timeZone":"../../etc/passwd"}`, time.Time{}, "", true},
		{`null`, time.Time{}, "", false},
	}
	for _, tc := range tests {
		var d DateTimeTimeZone
		err := json.Unmarshal([]byte(tc.in), &d)
		if (err != nil) != tc.wantErr {
			t.Errorf("Unmarshal(%s) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && (!d.Time.Equal(tc.want) || d.Time.Location() != time.UTC || d.TimeZone != tc.zone) {
			t.Errorf("Unmarshal(%s) = %v %q, want %v %q (in UTC)", tc.in, d.Time, d.TimeZone, tc.want, tc.zone)
		}
	}
	b, err := json.Marshal(DateTimeTimeZone{Time: time.Date(2017, 7, 15, 11, 0, 0, 5e8, time.FixedZone("x", 3600))})
	if err != nil || string(b) != `{"dateTime":"2017-07-15T10:00:00.5000000","timeZone":"UTC"}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
}

func TestDecodeDocumentedCollections(t *testing.T) {
	t.Parallel()
	var cals struct{ Value []Calendar }
	readJSON(t, "calendars.json", &cals)
	wantCal := []Calendar{{
		ID: "AAMkAGI2TGuLAAA=", Name: "Calendar", Color: "auto", ChangeKey: "nfZyf7VcrEKLNoU37KWlkQAAA0x0+w==",
		CanShare: true, CanViewPrivateItems: true, CanEdit: true, IsTallyingResponses: true,
		AllowedOnlineMeetingProviders: []string{"teamsForBusiness"}, DefaultOnlineMeetingProvider: "teamsForBusiness",
		Owner: EmailAddress{Name: "Samantha Booth", Address: "samanthab@contoso.com"},
	}}
	if diff := cmp.Diff(wantCal, cals.Value); diff != "" {
		t.Errorf("calendars mismatch (-want +got):\n%s", diff)
	}
	var meetings struct{ Value []OnlineMeeting }
	readJSON(t, "onlinemeeting-joinurl.json", &meetings)
	if len(meetings.Value) != 1 || meetings.Value[0].JoinMeetingIDSettings == nil || meetings.Value[0].JoinMeetingIDSettings.JoinMeetingID != "1234567890" ||
		meetings.Value[0].Participants.Organizer.Identity.User.IdentityProvider != "AAD" {
		t.Errorf("online meetings = %+v", meetings.Value)
	}
}

// TestWindowsZonesLoad proves every Windows zone the decoder maps names a
// zone the time-zone database knows, so a Prefer: outlook.timezone in
// Windows form decodes.
func TestWindowsZonesLoad(t *testing.T) {
	t.Parallel()
	names := []string{"Dateline Standard Time", "Hawaiian Standard Time", "Alaskan Standard Time", "Pacific Standard Time",
		"US Mountain Standard Time", "Mountain Standard Time", "Central Standard Time", "Central America Standard Time",
		"Canada Central Standard Time", "Eastern Standard Time", "US Eastern Standard Time", "Atlantic Standard Time",
		"Newfoundland Standard Time", "E. South America Standard Time", "Argentina Standard Time", "SA Pacific Standard Time",
		"Pacific SA Standard Time", "Mexico Standard Time", "Central Standard Time (Mexico)", "GMT Standard Time",
		"Greenwich Standard Time", "W. Europe Standard Time", "Romance Standard Time", "Central Europe Standard Time",
		"Central European Standard Time", "GTB Standard Time", "FLE Standard Time", "E. Europe Standard Time",
		"Israel Standard Time", "South Africa Standard Time", "Egypt Standard Time", "Turkey Standard Time",
		"Russian Standard Time", "Arabian Standard Time", "Arab Standard Time", "Iran Standard Time", "Pakistan Standard Time",
		"India Standard Time", "Nepal Standard Time", "Bangladesh Standard Time", "SE Asia Standard Time", "China Standard Time",
		"Singapore Standard Time", "Taipei Standard Time", "W. Australia Standard Time", "Tokyo Standard Time",
		"Korea Standard Time", "Cen. Australia Standard Time", "AUS Eastern Standard Time", "E. Australia Standard Time",
		"New Zealand Standard Time", "UTC-11", "UTC-02", "UTC+12"}
	for _, n := range names {
		iana := windowsZone(n)
		if iana == "" {
			t.Errorf("windowsZone(%q) is empty", n)
			continue
		}
		if _, err := zoneLocation(n); err != nil {
			t.Errorf("zoneLocation(%q) via %s: %v", n, iana, err)
		}
	}
	var d DateTimeTimeZone
	if err := json.Unmarshal([]byte(`{"dateTime":"2026-07-01T09:00:00.0000000","timeZone":"Tokyo Standard Time"}`), &d); err != nil || d.Time.Hour() != 0 {
		t.Errorf("Tokyo 09:00 = %v, %v; want 00:00 UTC", d.Time, err)
	}
}

func FuzzDateTimeTimeZone(f *testing.F) {
	for _, s := range []string{
		`{"dateTime":"2016-12-09T20:30:00.0000000","timeZone":"UTC"}`,
		`{"dateTime":"2017-04-15T11:00:00.0000000","timeZone":"Pacific Standard Time"}`,
		`{"timeZone":"Europe/Berlin","dateTime":"2017-07-15T11:00:00+02:00"}`,
		`{"dateTime":"2017-07-15T24:00:00.9999999999Z"}`,
		`{"dateTime":"0000-00-00T00:00:00","timeZone":""}`,
		`{"dateTime":"2017-07-15T11:00:00","timeZone":"\u0055TC"}`,
		`null`, `{}`, `{"dateTime":null}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var d DateTimeTimeZone
		if err := json.Unmarshal([]byte(s), &d); err != nil {
			return
		}
		if d.Time.Location() != time.UTC {
			t.Fatalf("%s decoded to a non-UTC time %v", s, d.Time)
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var again DateTimeTimeZone
		if err := json.Unmarshal(b, &again); err != nil {
			if d.Time.Year() < 0 || d.Time.Year() > 9999 {
				return // outside what the wire format can carry
			}
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if !again.Time.Equal(d.Time.Truncate(100 * time.Nanosecond)) {
			t.Fatalf("round trip %s -> %s: %v != %v", s, b, again.Time, d.Time)
		}
	})
}
