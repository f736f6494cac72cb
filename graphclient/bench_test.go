package graphclient

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchEvent and benchMessage mirror the shape of Graph's event and
// message resources (the fields area packages decode), so the benchmarks
// measure realistic decoding work.
type benchDateTimeTZ struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

type benchEmail struct {
	EmailAddress struct {
		Name    string `json:"name"`
		Address string `json:"address"`
	} `json:"emailAddress"`
}

type benchBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

type benchEvent struct {
	ID                   string          `json:"id"`
	ICalUID              string          `json:"iCalUId"`
	ChangeKey            string          `json:"changeKey"`
	Subject              string          `json:"subject"`
	BodyPreview          string          `json:"bodyPreview"`
	Body                 benchBody       `json:"body"`
	Start                benchDateTimeTZ `json:"start"`
	End                  benchDateTimeTZ `json:"end"`
	IsAllDay             bool            `json:"isAllDay"`
	IsCancelled          bool            `json:"isCancelled"`
	IsOnlineMeeting      bool            `json:"isOnlineMeeting"`
	ShowAs               string          `json:"showAs"`
	Type                 string          `json:"type"`
	WebLink              string          `json:"webLink"`
	LastModifiedDateTime time.Time       `json:"lastModifiedDateTime"`
	Categories           []string        `json:"categories"`
	Organizer            benchEmail      `json:"organizer"`
	Attendees            []struct {
		Type   string `json:"type"`
		Status struct {
			Response string `json:"response"`
			Time     string `json:"time"`
		} `json:"status"`
		EmailAddress struct {
			Name    string `json:"name"`
			Address string `json:"address"`
		} `json:"emailAddress"`
	} `json:"attendees"`
	Location struct {
		DisplayName  string `json:"displayName"`
		LocationType string `json:"locationType"`
	} `json:"location"`
	OnlineMeeting *struct {
		JoinURL string `json:"joinUrl"`
	} `json:"onlineMeeting"`
}

type benchMessage struct {
	ID                   string       `json:"id"`
	ChangeKey            string       `json:"changeKey"`
	Subject              string       `json:"subject"`
	BodyPreview          string       `json:"bodyPreview"`
	Body                 benchBody    `json:"body"`
	ReceivedDateTime     time.Time    `json:"receivedDateTime"`
	SentDateTime         time.Time    `json:"sentDateTime"`
	HasAttachments       bool         `json:"hasAttachments"`
	InternetMessageID    string       `json:"internetMessageId"`
	ConversationID       string       `json:"conversationId"`
	IsRead               bool         `json:"isRead"`
	IsDraft              bool         `json:"isDraft"`
	Importance           string       `json:"importance"`
	ParentFolderID       string       `json:"parentFolderId"`
	WebLink              string       `json:"webLink"`
	Categories           []string     `json:"categories"`
	From                 benchEmail   `json:"from"`
	Sender               benchEmail   `json:"sender"`
	ToRecipients         []benchEmail `json:"toRecipients"`
	CcRecipients         []benchEmail `json:"ccRecipients"`
	LastModifiedDateTime time.Time    `json:"lastModifiedDateTime"`
}

var benchHTML = "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head><body><div>" +
	strings.Repeat("Agenda: review the quarterly pipeline, customer escalations and the renewal plan. ", 22) +
	"</div></body></html>" // ~2 KB, like a real Outlook body

func benchEventJSON(i int) map[string]any {
	return map[string]any{
		"@odata.etag": fmt.Sprintf(`W/"EZ9r3czxY0m2jz8c45czkwAAFXcv%04d"`, i),
		"id":          fmt.Sprintf("AAMkAGI2TG93AAA%06d=", i), "iCalUId": fmt.Sprintf("040000008200E00074C5B7101A82E00800000000%08d", i),
		"changeKey": "EZ9r3czxY0m2jz8c45czkwAAFXcvIQ==", "subject": fmt.Sprintf("Customer call %d", i),
		"bodyPreview": benchHTML[100:355], "body": map[string]string{"contentType": "html", "content": benchHTML},
		"start":    map[string]string{"dateTime": "2026-12-09T20:30:00.0000000", "timeZone": "UTC"},
		"end":      map[string]string{"dateTime": "2026-12-09T21:00:00.0000000", "timeZone": "UTC"},
		"isAllDay": false, "isCancelled": false, "isOnlineMeeting": true, "showAs": "busy", "type": "singleInstance",
		"webLink":              "https://outlook.office365.com/owa/?itemid=AAMkAGI2TG93AAA%3D&exvsurl=1&path=/calendar/item",
		"lastModifiedDateTime": "2026-11-20T10:15:30.1234567Z", "categories": []string{"Customer"},
		"organizer": map[string]any{"emailAddress": map[string]string{"name": "Samantha Booth", "address": "samanthab@contoso.com"}},
		"attendees": []any{
			map[string]any{"type": "required", "status": map[string]string{"response": "accepted", "time": "2026-11-20T10:15:30Z"}, "emailAddress": map[string]string{"name": "Dana Swope", "address": "danas@contoso.com"}},
			map[string]any{"type": "optional", "status": map[string]string{"response": "none", "time": "0001-01-01T00:00:00Z"}, "emailAddress": map[string]string{"name": "Elliot Hyde", "address": "elliot@tailspintoys.com"}},
		},
		"location":      map[string]string{"displayName": "Microsoft Teams Meeting", "locationType": "default"},
		"onlineMeeting": map[string]string{"joinUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NzQ%40thread.v2/0?context=%7b%22Tid%22%3a%22x%22%7d"},
	}
}

func benchMessageJSON(i int) map[string]any {
	addr := func(n, a string) map[string]any {
		return map[string]any{"emailAddress": map[string]string{"name": n, "address": a}}
	}
	return map[string]any{
		"@odata.etag": fmt.Sprintf(`W/"CQAAABYAAAARn2vdzPFjSbaPPxzjlzOTAA%04d"`, i),
		"id":          fmt.Sprintf("AAMkADNkNAAASq35xAAA%06d=", i), "changeKey": "CQAAABYAAAARn2vdzPFjSbaPPxzjlzOTAAASsKZz",
		"subject": fmt.Sprintf("RE: Renewal plan %d", i), "bodyPreview": benchHTML[100:355],
		"body":             map[string]string{"contentType": "html", "content": benchHTML},
		"receivedDateTime": "2026-11-20T10:15:30Z", "sentDateTime": "2026-11-20T10:15:28Z", "hasAttachments": false,
		"internetMessageId": fmt.Sprintf("<BY5PR11MB%06d@BY5PR11MB.namprd11.prod.outlook.com>", i),
		"conversationId":    "AAQkADNkNAAQAKnLuxoAAA=", "isRead": true, "isDraft": false, "importance": "normal",
		"parentFolderId": "AQMkADNkNAAAgEMAAAA", "webLink": "https://outlook.office365.com/owa/?ItemID=AAMkADNkNAAASq35xAAA%3D&exvsurl=1",
		"categories": []string{}, "from": addr("Dana Swope", "danas@contoso.com"), "sender": addr("Dana Swope", "danas@contoso.com"),
		"toRecipients": []any{addr("Samantha Booth", "samanthab@contoso.com")}, "ccRecipients": []any{addr("Elliot Hyde", "elliot@tailspintoys.com")},
		"lastModifiedDateTime": "2026-11-20T10:15:31Z",
	}
}

func benchPage(n int, item func(int) map[string]any, removed int) []byte {
	var vals []any
	for i := range n {
		if i < removed {
			vals = append(vals, map[string]any{"@odata.type": "#microsoft.graph.event", "id": fmt.Sprintf("gone%d", i), "@removed": map[string]string{"reason": "deleted"}})
			continue
		}
		vals = append(vals, item(i))
	}
	b, err := json.Marshal(map[string]any{
		"@odata.context":  "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
		"@odata.nextLink": "https://graph.microsoft.com/v1.0/me/calendarView/delta?$skiptoken=R0usmcCM996atia_s",
		"value":           vals,
	})
	if err != nil {
		panic(err)
	}
	return b
}

// cpuTime returns the CPU time (user + system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// perItem reports ns, bytes and allocations per decoded item.
func perItem(b *testing.B, items int, run func()) {
	b.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&after)
	n := float64(b.N * items)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/item")
	// Process CPU time (GC included) is steadier than wall time on a busy
	// machine.
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/item")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/item")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/item")
}

func benchDecode[T any](b *testing.B, page []byte, items int) {
	b.Run("encoding_json", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		perItem(b, items, func() {
			var p struct {
				Value    []T    `json:"value"`
				NextLink string `json:"@odata.nextLink"`
			}
			if err := json.Unmarshal(page, &p); err != nil || len(p.Value) != items {
				b.Fatal(err)
			}
		})
	})
	b.Run("All", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		perItem(b, items, func() {
			var p listPage[T]
			if err := json.Unmarshal(page, &p); err != nil || len(p.Value) != items {
				b.Fatal(err)
			}
		})
	})
	codec := newDeltaCodec[T]()
	b.Run("Delta", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		perItem(b, items, func() {
			p := deltaWire[T]{codec: codec}
			if err := p.decodeRaw(page); err != nil || len(p.items) != items {
				b.Fatal(err)
			}
		})
	})
}

func BenchmarkDecodeEventPage(b *testing.B) {
	benchDecode[benchEvent](b, benchPage(100, benchEventJSON, 0), 100)
	// A page with one @removed entry: the one-pass codec, and the
	// element-by-element path used for T the codec cannot embed.
	withRemoved := benchPage(100, benchEventJSON, 1)
	for _, codec := range []*deltaCodec{newDeltaCodec[benchEvent](), nil} {
		name := "Delta_with_removed"
		if codec == nil {
			name += "_per_element"
		}
		b.Run(name, func(b *testing.B) {
			perItem(b, 100, func() {
				p := deltaWire[benchEvent]{codec: codec}
				if err := p.decodeRaw(withRemoved); err != nil || len(p.items) != 99 || len(p.removed) != 1 {
					b.Fatal(err)
				}
			})
		})
	}
}

func BenchmarkDecodeMessagePage(b *testing.B) {
	benchDecode[benchMessage](b, benchPage(100, benchMessageJSON, 0), 100)
}

// BenchmarkAll pages through items from an httptest server, 100 per page,
// end to end (HTTP, retries machinery, decode).
func BenchmarkAll(b *testing.B) {
	for _, total := range []int{1_000, 10_000} {
		b.Run(fmt.Sprint(total), func(b *testing.B) {
			pages := total / 100
			mux := http.NewServeMux()
			srv := httptest.NewServer(mux)
			defer srv.Close()
			bodies := make([][]byte, pages)
			for p := range pages {
				page := map[string]any{"value": func() []any {
					var v []any
					for i := range 100 {
						v = append(v, benchEventJSON(p*100+i))
					}
					return v
				}()}
				if p+1 < pages {
					page["@odata.nextLink"] = fmt.Sprintf("%s/v1.0/me/events?$skiptoken=%d", srv.URL, p+1)
				}
				bodies[p], _ = json.Marshal(page)
			}
			mux.HandleFunc("GET /v1.0/me/events", func(w http.ResponseWriter, r *http.Request) {
				var p int
				fmt.Sscan(r.URL.Query().Get("$skiptoken"), &p)
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(bodies[p])
			})
			c, err := New(StaticToken("t"), WithBaseURL(srv.URL+"/v1.0/"), WithHTTPClient(srv.Client()))
			if err != nil {
				b.Fatal(err)
			}
			perItem(b, total, func() {
				n := 0
				for _, err := range All[benchEvent](b.Context(), c, "me/events") {
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != total {
					b.Fatalf("got %d items", n)
				}
			})
			// Live heap while iterating, over the baseline (the server's
			// pre-built pages included): one page's worth, whatever the total.
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			base, growth := ms.HeapAlloc, uint64(0)
			n := 0
			for _, err := range All[benchEvent](b.Context(), c, "me/events") {
				if err != nil {
					b.Fatal(err)
				}
				if n++; n%250 == 50 {
					runtime.GC()
					runtime.ReadMemStats(&ms)
					if ms.HeapAlloc > base {
						growth = max(growth, ms.HeapAlloc-base)
					}
				}
			}
			b.ReportMetric(float64(growth)/(1<<10), "live-heap-growth-KiB")
		})
	}
}
