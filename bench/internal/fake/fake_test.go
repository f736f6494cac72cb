package fake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type testPage struct {
	Value []struct {
		ID        string `json:"id"`
		Body      *struct{ Content string }
		Attendees []json.RawMessage `json:"attendees"`
		Online    *struct {
			JoinURL string `json:"joinUrl"`
		} `json:"onlineMeeting"`
	} `json:"value"`
	NextLink  string `json:"@odata.nextLink"`
	DeltaLink string `json:"@odata.deltaLink"`
}

// walk follows a round through the handler and returns its pages.
func walk(t *testing.T, srv *httptest.Server, first string) []testPage {
	t.Helper()
	var pages []testPage
	for link := first; link != ""; {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, link, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+Token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var p testPage
		err = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d, %v", link, resp.StatusCode, err)
		}
		pages = append(pages, p)
		link = p.NextLink
		if len(pages) > 100 {
			t.Fatal("round does not end")
		}
	}
	return pages
}

func TestRounds(t *testing.T) {
	t.Parallel()
	p := NewPages(250)
	srv := httptest.NewTLSServer(p)
	t.Cleanup(srv.Close)
	tests := []struct {
		name, first string
		body        bool
	}{
		{"calendar", srv.URL + "/v1.0/me/calendarView/delta?startDateTime=2026-11-01T00:00:00Z&endDateTime=2026-12-01T00:00:00Z", true},
		{"mail, body selected", srv.URL + "/v1.0/me/mailFolders/inbox/messages/delta?$select=id,subject,body", true},
		{"mail, no $select", srv.URL + "/v1.0/me/mailFolders/inbox/messages/delta", true},
		{"calendar, function-call form", srv.URL + "/v1.0/me/calendarView/delta()?startDateTime=2026-11-01T00:00:00Z&endDateTime=2026-12-01T00:00:00Z", true},
		{"mail, function-call form", srv.URL + "/v1.0/me/mailFolders('inbox')/messages/delta()?$select=body", true},
		{"mail, body not selected", srv.URL + "/v1.0/me/mailFolders/inbox/messages/delta?$select=id,subject,bodyPreview", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages := walk(t, srv, tt.first)
			if len(pages) != 3 {
				t.Fatalf("%d pages, want 3", len(pages))
			}
			if pages[2].DeltaLink == "" || pages[0].DeltaLink != "" {
				t.Errorf("deltaLink only on the last page: got %q, %q", pages[0].DeltaLink, pages[2].DeltaLink)
			}
			ids := map[string]bool{}
			for i, pg := range pages {
				if want := []int{100, 100, 50}[i]; len(pg.Value) != want {
					t.Errorf("page %d has %d items, want %d", i, len(pg.Value), want)
				}
				for _, it := range pg.Value {
					if ids[it.ID] {
						t.Errorf("duplicate ID %s", it.ID)
					}
					ids[it.ID] = true
					if got := it.Body != nil; got != tt.body {
						t.Fatalf("item %s has a body: %v, want %v", it.ID, got, tt.body)
					}
					if it.Body != nil && (len(it.Body.Content) < 1900 || !strings.Contains(it.Body.Content, "teams.microsoft.com/l/meetup-join/")) {
						t.Fatalf("item %s: body of %d bytes without a join link", it.ID, len(it.Body.Content))
					}
					if strings.HasPrefix(tt.name, "calendar") && (len(it.Attendees) != 5 || it.Online == nil || it.Online.JoinURL == "") {
						t.Fatalf("event %s: %d attendees, onlineMeeting %v", it.ID, len(it.Attendees), it.Online)
					}
				}
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(NewPages(10))
	t.Cleanup(srv.Close)
	tests := []struct {
		name, path, token string
		want              int
	}{
		{"no token", "/v1.0/me/calendarView/delta?startDateTime=a&endDateTime=b", "", http.StatusUnauthorized},
		{"no window", "/v1.0/me/calendarView/delta", Token, http.StatusBadRequest},
		{"bad skiptoken", "/v1.0/me/calendarView/delta?$skiptoken=x", Token, http.StatusBadRequest},
		{"unknown path", "/v1.0/me/events", Token, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}
