package graphclient

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type testEvent struct {
	ID      string `json:"id"`
	Subject string `json:"subject"`
}

type pageSummary struct {
	IDs     []string
	Removed []Removed
	Cursor  string
	Reset   bool
	Done    bool
}

func summarize(p *DeltaPage[testEvent], base string) pageSummary {
	s := pageSummary{Removed: p.Removed, Cursor: strings.TrimPrefix(p.Cursor, base), Reset: p.Reset, Done: p.Done}
	for _, e := range p.Items {
		s.IDs = append(s.IDs, e.ID)
	}
	return s
}

// eventsDeltaServer serves the documented calendarView delta round. fail,
// if set, may answer a request instead (return true when it did).
type deltaLog struct {
	mu   sync.Mutex
	reqs []string
}

func (l *deltaLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r.URL.RawQuery)
}

func eventsDeltaServer(t *testing.T, fail func(w http.ResponseWriter, r *http.Request) bool) (*Client, string, *deltaLog) {
	t.Helper()
	c, mux, srv, _ := setup(t)
	base := srv.URL + "/v1.0/"
	root := srv.URL + "/"
	log := &deltaLog{}
	mux.HandleFunc("GET /v1.0/me/calendarView/delta", func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		if got := strings.Join(r.Header.Values("Prefer"), ", "); !strings.Contains(got, "odata.maxpagesize=2") || !strings.Contains(got, `outlook.timezone="UTC"`) {
			t.Errorf("Prefer = %q", got)
		}
		if fail != nil && fail(w, r) {
			return
		}
		q := r.URL.Query()
		switch {
		case q.Get("startdatetime") != "":
			serve(w, 200, fixture(t, "events-delta-1.json", root))
		case q.Get("$skiptoken") == "R0usmcCM996atia_s":
			serve(w, 200, fixture(t, "events-delta-2.json", root))
		case q.Get("$skiptoken") == "R0usmci39OQxqJrxK4":
			serve(w, 200, fixture(t, "events-delta-3.json", root))
		case q.Get("$deltatoken") == "R0usmcMDNGg0J1E":
			serve(w, 200, fixture(t, "events-delta-next.json", root))
		default:
			t.Errorf("unexpected delta request %q", r.URL.RawQuery)
			serve(w, 400, nil)
		}
	})
	return c, base, log
}

const initialEvents = "me/calendarView/delta?startdatetime=2016-12-01T00:00:00Z&enddatetime=2016-12-30T00:00:00Z"

func collect(t *testing.T, c *Client, base, cursor string) ([]pageSummary, error) {
	t.Helper()
	var got []pageSummary
	for p, err := range Delta[testEvent](t.Context(), c, initialEvents, cursor, WithMaxPageSize(2)) {
		if err != nil {
			return got, err
		}
		got = append(got, summarize(p, base))
	}
	return got, nil
}

var fullRound = []pageSummary{
	{IDs: []string{"AAMkADNVxRAAA=", "AAMkADVxSAAA="}, Cursor: "me/calendarView/delta?$skiptoken=R0usmcCM996atia_s"},
	{IDs: []string{"AAMkADVxTAAA=", "AAMkADVxUAAA="}, Cursor: "me/calendarView/delta?$skiptoken=R0usmci39OQxqJrxK4"},
	{IDs: []string{"AAMkADj1HuAAA="}, Cursor: "me/calendarView/delta?$deltatoken=R0usmcMDNGg0J1E", Done: true},
}

func TestDeltaDocumentedRound(t *testing.T) {
	t.Parallel()
	c, base, log := eventsDeltaServer(t, nil)
	got, err := collect(t, c, base, "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fullRound, got); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	// Only the first request carries the window; then links are followed whole.
	if len(log.reqs) != 3 || !strings.Contains(log.reqs[0], "startdatetime") || strings.Contains(log.reqs[1], "startdatetime") {
		t.Errorf("requests = %q", log.reqs)
	}
}

func TestDeltaResumesFromCursor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cursor string
		want   []pageSummary
	}{
		{"mid-round nextLink", "me/calendarView/delta?$skiptoken=R0usmci39OQxqJrxK4", fullRound[2:]},
		{"next round from deltaLink", "me/calendarView/delta?$deltatoken=R0usmcMDNGg0J1E", []pageSummary{{
			IDs:     []string{"AAMkADj1HvAAA="},
			Removed: []Removed{{ID: "AAMkADk0MGFkODE3LWE4MmYtNDRhOS04OGQLkRkXbBznTvAADb6ytyAAA=", Reason: "deleted"}},
			Cursor:  "me/calendarView/delta?$deltatoken=R0usmcFuQtZdtpk4", Done: true,
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, base, log := eventsDeltaServer(t, nil)
			got, err := collect(t, c, base, base+tt.cursor)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("pages (-want +got):\n%s", diff)
			}
			if len(log.reqs) != len(tt.want) {
				t.Errorf("requests = %q", log.reqs)
			}
		})
	}
}

// TestDeltaSyncReset: a 410 SyncStateNotFound in the middle of a round
// restarts it once from the initial query and marks that page Reset.
func TestDeltaSyncReset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		location func(base string) string
	}{
		{"no Location", func(string) string { return "" }},
		{"Location on the Graph host", func(base string) string { return base + initialEvents }},
		{"Location elsewhere falls back to initial", func(string) string {
			return "https://evil.example/v1.0/" + initialEvents
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var once sync.Once
			var base string
			c, b, log := eventsDeltaServer(t, func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Query().Get("$skiptoken") != "R0usmcCM996atia_s" {
					return false
				}
				failed := false
				once.Do(func() {
					if l := tt.location(base); l != "" {
						w.Header().Set("Location", l)
					}
					serve(w, 410, readTestdata(t, "error-sync-state-not-found.json"))
					failed = true
				})
				return failed
			})
			base = b
			got, err := collect(t, c, base, "")
			if err != nil {
				t.Fatal(err)
			}
			want := append([]pageSummary{fullRound[0]}, fullRound...)
			want[1].Reset = true
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("pages (-want +got):\n%s", diff)
			}
			if len(log.reqs) != 5 {
				t.Errorf("requests = %q", log.reqs)
			}
		})
	}
}

func TestDeltaSecondResetIsAnError(t *testing.T) {
	t.Parallel()
	c, base, _ := eventsDeltaServer(t, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Query().Get("$skiptoken") == "" {
			return false
		}
		serve(w, 400, []byte(`{"error":{"code":"invalidRequest","message":"m","innerError":{"code":"resyncRequired"}}}`))
		return true
	})
	got, err := collect(t, c, base, "")
	if !errors.Is(err, ErrSyncReset) {
		t.Fatalf("err = %v, want ErrSyncReset", err)
	}
	if len(got) != 2 || got[0].Reset || !got[1].Reset {
		t.Errorf("pages = %+v, want the first page twice, the second marked Reset", got)
	}
}

func TestDeltaErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		initial string
		cursor  string
		body    string
		status  int
		check   func(error) bool
	}{
		{"forbidden", "d", "", `{"error":{"code":"ErrorAccessDenied","message":"Access is denied."}}`, 403,
			func(err error) bool { return errors.Is(err, ErrForbidden) }},
		{"no links", "d", "", `{"value":[]}`, 200,
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "neither") }},
		{"foreign cursor", "d", "https://evil.example/v1.0/d?$deltatoken=x", `{}`, 200,
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "refusing") }},
		{"nothing to start from", "", "", `{}`, 200,
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "empty") }},
		{"reset without initial", "", "d?$deltatoken=x", `{"error":{"code":"SyncStateNotFound"}}`, 410,
			func(err error) bool { return errors.Is(err, ErrSyncReset) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _, _ := setup(t)
			mux.HandleFunc("GET /v1.0/d", func(w http.ResponseWriter, r *http.Request) {
				serve(w, tt.status, []byte(tt.body))
			})
			n := 0
			var last error
			for _, err := range Delta[testEvent](t.Context(), c, tt.initial, tt.cursor) {
				n++
				last = err
			}
			if n != 1 || !tt.check(last) {
				t.Errorf("yields = %d, err = %v", n, last)
			}
		})
	}
}

type testMessage struct {
	ID      string `json:"id"`
	Subject string `json:"subject"`
	Sender  struct {
		EmailAddress struct {
			Name    string `json:"name"`
			Address string `json:"address"`
		} `json:"emailAddress"`
	} `json:"sender"`
}

func TestDeltaMessages(t *testing.T) {
	t.Parallel()
	c, mux, srv, _ := setup(t)
	base := srv.URL + "/v1.0/"
	mux.HandleFunc("GET /v1.0/me/mailFolders/inbox/messages/delta", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 200, fixture(t, "messages-delta-1.json", srv.URL+"/"))
	})
	// The documented nextLink has the mailfolders('{id}') form; it is
	// followed whole, quotes and all.
	mux.HandleFunc("GET /v1.0/me/mailfolders('AQMkADNkNAAAgEMAAAA')/messages/delta", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("$skiptoken") != "GwcBoTmPuoTQWfcsAbkYM" {
			t.Errorf("query = %q", r.URL.RawQuery)
		}
		serve(w, 200, fixture(t, "messages-delta-next.json", srv.URL+"/"))
	})
	var pages []*DeltaPage[testMessage]
	for p, err := range Delta[testMessage](t.Context(), c, "me/mailFolders/inbox/messages/delta?$select=subject,sender,isRead", "") {
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
	}
	if len(pages) != 2 {
		t.Fatalf("pages = %d", len(pages))
	}
	if len(pages[0].Items) != 2 || pages[0].Done || pages[0].Items[1].Subject != "Holiday promotion sale" {
		t.Errorf("first page = %+v", pages[0])
	}
	p := pages[1]
	if len(p.Items) != 1 || p.Items[0].Subject != "Holiday hours update" || p.Items[0].Sender.EmailAddress.Address != "danas@contoso.com" {
		t.Errorf("items = %+v", p.Items)
	}
	if diff := cmp.Diff([]Removed{{ID: "AAMkADk0MGFkODE3LWE4MmYtNDRhOS0Dh_6qB-pB2Sa2pUum19a6YAAKnLuxoAAA=", Reason: "deleted"}}, p.Removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	if !p.Done || p.Cursor != base+"me/mailfolders('AQMkADNkNAAAgEMAAAA')/messages/delta?$deltatoken=GwcBoTmPuoGNlgXgF1nyUNMXY" {
		t.Errorf("Done = %v, Cursor = %q", p.Done, p.Cursor)
	}
}

// TestDeltaDecodeRemovedEdgeCases: "@removed" inside an item's text does
// not make it a removed entry; a page without the key decodes in one pass.
func TestDeltaDecodeRemovedEdgeCases(t *testing.T) {
	t.Parallel()
	body := `{"@odata.deltaLink":"https://graph.microsoft.com/v1.0/d?$deltatoken=1","value":[
		{"id":"1","subject":"about \"@removed\" entries"},
		{"id":"2","@removed":{"reason":"changed"}},
		{"id":"3","subject":"plain"}]}`
	for _, codec := range []*deltaCodec{nil, newDeltaCodec[testEvent]()} {
		w := deltaWire[testEvent]{codec: codec}
		if err := w.decodeRaw([]byte(body)); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]testEvent{{ID: "1", Subject: `about "@removed" entries`}, {ID: "3", Subject: "plain"}}, w.items); diff != "" {
			t.Errorf("codec %v: items (-want +got):\n%s", codec != nil, diff)
		}
		if diff := cmp.Diff([]Removed{{ID: "2", Reason: "changed"}}, w.removed); diff != "" {
			t.Errorf("codec %v: removed (-want +got):\n%s", codec != nil, diff)
		}
	}
}

func TestNewDeltaCodec(t *testing.T) {
	t.Parallel()
	type noID struct {
		Subject string `json:"subject"`
	}
	type intID struct {
		ID int `json:"id"`
	}
	type embeds struct {
		testEvent
	}
	type claimsRemoved struct {
		R any `json:"@removed"`
	}
	tests := []struct {
		name  string
		codec *deltaCodec
		want  bool
	}{
		{"struct with id", newDeltaCodec[testEvent](), true},
		{"struct without id", newDeltaCodec[noID](), true},
		{"map", newDeltaCodec[map[string]any](), false},
		{"raw message", newDeltaCodec[json.RawMessage](), false},
		{"pointer", newDeltaCodec[*testEvent](), false},
		{"non-string id", newDeltaCodec[intID](), false},
		{"embedded struct", newDeltaCodec[embeds](), false},
		{"field named @removed", newDeltaCodec[claimsRemoved](), false},
		{"type with methods", newDeltaCodec[time.Time](), false},
	}
	for _, tt := range tests {
		if (tt.codec != nil) != tt.want {
			t.Errorf("%s: codec = %v, want %v", tt.name, tt.codec != nil, tt.want)
		}
	}
	// Without an id field of its own, T still yields removed IDs.
	w := deltaWire[noID]{codec: newDeltaCodec[noID]()}
	if err := w.decodeRaw([]byte(`{"value":[{"id":"x","@removed":{"reason":"deleted"}},{"id":"y","subject":"s"}]}`)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Removed{{ID: "x", Reason: "deleted"}}, w.removed); diff != "" || len(w.items) != 1 || w.items[0].Subject != "s" {
		t.Errorf("removed diff %s, items %+v", diff, w.items)
	}
}
