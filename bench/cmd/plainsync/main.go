// Command plainsync is the floor: the same delta walk as kitsync with
// nothing but net/http and encoding/json, decoding into structs with the
// fields m365kit's models hold. -chat (env PLAINSYNC_CHAT) posts a summary
// to a Teams chat the same way.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/m365kit/m365kit/bench/internal/client"
)

type emailAddress struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

type recipient struct {
	EmailAddress emailAddress `json:"emailAddress"`
}

type responseStatus struct {
	Response string    `json:"response"`
	Time     time.Time `json:"time"`
}

type itemBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

type dateTimeTimeZone struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

type location struct {
	DisplayName  string `json:"displayName"`
	LocationType string `json:"locationType"`
	UniqueID     string `json:"uniqueId"`
	UniqueIDType string `json:"uniqueIdType"`
}

type event struct {
	ID                    string           `json:"id"`
	ICalUID               string           `json:"iCalUId"`
	SeriesMasterID        string           `json:"seriesMasterId"`
	Type                  string           `json:"type"`
	ChangeKey             string           `json:"changeKey"`
	Subject               string           `json:"subject"`
	BodyPreview           string           `json:"bodyPreview"`
	Body                  *itemBody        `json:"body"`
	Start                 dateTimeTimeZone `json:"start"`
	End                   dateTimeTimeZone `json:"end"`
	OriginalStartTimeZone string           `json:"originalStartTimeZone"`
	OriginalEndTimeZone   string           `json:"originalEndTimeZone"`
	IsAllDay              bool             `json:"isAllDay"`
	IsCancelled           bool             `json:"isCancelled"`
	IsOrganizer           bool             `json:"isOrganizer"`
	IsDraft               bool             `json:"isDraft"`
	ShowAs                string           `json:"showAs"`
	Sensitivity           string           `json:"sensitivity"`
	Importance            string           `json:"importance"`
	Organizer             *recipient       `json:"organizer"`
	Attendees             []struct {
		Type         string          `json:"type"`
		Status       *responseStatus `json:"status"`
		EmailAddress emailAddress    `json:"emailAddress"`
	} `json:"attendees"`
	ResponseStatus        *responseStatus `json:"responseStatus"`
	Location              *location       `json:"location"`
	Locations             []location      `json:"locations"`
	IsOnlineMeeting       bool            `json:"isOnlineMeeting"`
	OnlineMeetingProvider string          `json:"onlineMeetingProvider"`
	OnlineMeeting         *struct {
		JoinURL string `json:"joinUrl"`
	} `json:"onlineMeeting"`
	OnlineMeetingURL     string    `json:"onlineMeetingUrl"`
	WebLink              string    `json:"webLink"`
	CreatedDateTime      time.Time `json:"createdDateTime"`
	LastModifiedDateTime time.Time `json:"lastModifiedDateTime"`
	Categories           []string  `json:"categories"`
	Removed              *struct {
		Reason string `json:"reason"`
	} `json:"@removed"`

	start, end time.Time
}

type message struct {
	ID                string      `json:"id"`
	InternetMessageID string      `json:"internetMessageId"`
	ConversationID    string      `json:"conversationId"`
	Subject           string      `json:"subject"`
	From              recipient   `json:"from"`
	Sender            recipient   `json:"sender"`
	ToRecipients      []recipient `json:"toRecipients"`
	CcRecipients      []recipient `json:"ccRecipients"`
	BccRecipients     []recipient `json:"bccRecipients"`
	ReplyTo           []recipient `json:"replyTo"`
	ReceivedDateTime  time.Time   `json:"receivedDateTime"`
	SentDateTime      time.Time   `json:"sentDateTime"`
	BodyPreview       string      `json:"bodyPreview"`
	HasAttachments    bool        `json:"hasAttachments"`
	Importance        string      `json:"importance"`
	Categories        []string    `json:"categories"`
	IsDraft           bool        `json:"isDraft"`
	IsRead            bool        `json:"isRead"`
	ParentFolderID    string      `json:"parentFolderId"`
	WebLink           string      `json:"webLink"`
	Body              *itemBody   `json:"body"`
	Removed           *struct {
		Reason string `json:"reason"`
	} `json:"@removed"`
}

type page[T any] struct {
	Value     []T    `json:"value"`
	NextLink  string `json:"@odata.nextLink"`
	DeltaLink string `json:"@odata.deltaLink"`
}

const wireLayout = "2006-01-02T15:04:05.0000000"

func main() {
	chat := os.Getenv("PLAINSYNC_CHAT")
	f := client.Parse()
	ctx := context.Background()
	hc := &http.Client{}
	base := "https://graph.microsoft.com/v1.0/"
	if f.Decode != "" {
		pg, err := os.ReadFile(f.Decode)
		if err != nil {
			client.Fatal(err)
		}
		hc.Transport = client.Memory{Page: pg}
	} else {
		t, err := client.Transport(f.CACert)
		if err != nil {
			client.Fatal(err)
		}
		hc.Transport = t
		if f.URL != "" {
			base = f.URL
		}
	}
	get := func(link string, v any) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+f.Token)
		req.Header.Set("Prefer", "odata.maxpagesize=100")
		req.Header.Add("Prefer", `outlook.timezone="UTC"`)
		req.Header.Add("Prefer", `outlook.body-content-type="html"`)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", req.URL.Path, resp.Status)
		}
		return json.NewDecoder(resp.Body).Decode(v)
	}
	var walk client.Walk
	switch f.Kind {
	case "calendar":
		first := base + "me/calendarView/delta?startDateTime=" + url.QueryEscape(client.WindowStart.Format(time.RFC3339)) +
			"&endDateTime=" + url.QueryEscape(client.WindowEnd.Format(time.RFC3339))
		walk = func() (items, pages int, err error) {
			for link := first; link != ""; {
				var p page[event]
				if err := get(link, &p); err != nil {
					return items, pages, err
				}
				for i := range p.Value {
					ev := &p.Value[i]
					if ev.start, err = time.Parse(wireLayout, ev.Start.DateTime); err != nil {
						return items, pages, err
					}
					if ev.end, err = time.Parse(wireLayout, ev.End.DateTime); err != nil {
						return items, pages, err
					}
				}
				items += len(p.Value)
				pages++
				link = p.NextLink
			}
			return items, pages, nil
		}
	case "mail":
		first := base + "me/mailFolders/inbox/messages/delta?$select=" + f.Select()
		walk = func() (items, pages int, err error) {
			for link := first; link != ""; {
				var p page[message]
				if err := get(link, &p); err != nil {
					return items, pages, err
				}
				items += len(p.Value)
				pages++
				link = p.NextLink
			}
			return items, pages, nil
		}
	default:
		client.Fatal(fmt.Errorf("unknown -kind %q (want calendar or mail)", f.Kind))
	}
	if chat != "" {
		inner := walk
		walk = func() (int, int, error) {
			items, pages, err := inner()
			if err != nil {
				return items, pages, err
			}
			b, _ := json.Marshal(map[string]any{"body": map[string]string{"content": fmt.Sprintf("synced %d %s items", items, f.Kind)}})
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"chats/"+url.PathEscape(chat)+"/messages", bytes.NewReader(b))
			if err != nil {
				return items, pages, err
			}
			req.Header.Set("Authorization", "Bearer "+f.Token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				return items, pages, err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				return items, pages, fmt.Errorf("POST chat message: %s", resp.Status)
			}
			return items, pages, nil
		}
	}
	client.Run(f, walk)
}
