package calendar

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365kit/m365kit/graphclient"
)

// benchEvent is one event as calendarView/delta returns it (the shape of
// testdata/event-online-meeting.json, UTC times, a Teams invitation body).
// EVTID is replaced by a unique 12-character ID.
const benchEvent = `{"@odata.type":"#microsoft.graph.event","@odata.etag":"W/\"ZlnW4RIAV06KYYwlrfNZvQAALfZeRQ==\"",` +
	`"id":"AAMkAGI1AAAt8AHjAAEVTIDxxxxxx=","createdDateTime":"2026-11-01T03:00:50.7579581Z","lastModifiedDateTime":"2026-11-01T03:00:51.245372Z",` +
	`"changeKey":"ZlnW4RIAV06KYYwlrfNZvQAALfZeRQ==","categories":["Customer"],"transactionId":null,"originalStartTimeZone":"Pacific Standard Time",` +
	`"originalEndTimeZone":"Pacific Standard Time","iCalUId":"040000008200E00074C5B7101A82E00800000000DA2B357D94B5D2010000000000000000EVTIDxxxxxx",` +
	`"reminderMinutesBeforeStart":15,"isReminderOn":true,"hasAttachments":false,"subject":"Pipeline review with Fabrikam",` +
	`"bodyPreview":"Agenda: pricing, timeline.\r\n________________________________________________________________________________\r\nMicrosoft Teams meeting\r\nJoin on your computer, mobile app or room device\r\nClick here to join the meeting",` +
	`"importance":"normal","sensitivity":"normal","isAllDay":false,"isCancelled":false,"isOrganizer":false,"responseRequested":true,` +
	`"seriesMasterId":null,"showAs":"busy","type":"singleInstance","webLink":"https://outlook.office365.com/owa/?itemid=AAMkAGI1AAAt9AHjAAA%3D&exvsurl=1&path=/calendar/item",` +
	`"onlineMeetingUrl":null,"isOnlineMeeting":true,"onlineMeetingProvider":"teamsForBusiness","allowNewTimeProposals":true,"isDraft":false,"hideAttendees":false,` +
	`"responseStatus":{"response":"accepted","time":"2026-11-01T10:37:00Z"},` +
	`"body":{"contentType":"html","content":"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head><body><div>Agenda: pricing, timeline.</div><div style=\"width:100%\"><span>________________________________________________________________________________</span></div><div><span style=\"font-size:24px\">Microsoft Teams meeting</span></div><div><a href=\"https://teams.microsoft.com/l/meetup-join/19%3ameeting_NzIyNzhlMGEtM2YyZC00ZmY0LTlhNzUtZmZjNWFmZGNlNzE2%40thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%2c%22Oid%22%3a%22bc55b173-cff6-457d-b7a1-64bda7d7581a%22%7d\">Click here to join the meeting</a></div><div>Meeting ID: 259 882 031 234 Passcode: Ab3Cd4</div></body></html>"},` +
	`"start":{"dateTime":"2026-11-26T18:00:00.0000000","timeZone":"UTC"},"end":{"dateTime":"2026-11-26T19:00:00.0000000","timeZone":"UTC"},` +
	`"location":{"displayName":"Microsoft Teams Meeting","locationType":"default","uniqueId":"Microsoft Teams Meeting","uniqueIdType":"private"},` +
	`"locations":[{"displayName":"Microsoft Teams Meeting","locationType":"default","uniqueIdType":"unknown"}],"recurrence":null,` +
	`"attendees":[{"type":"required","status":{"response":"accepted","time":"2026-11-01T10:37:00Z"},"emailAddress":{"name":"Samantha Booth","address":"samanthab@contoso.com"}},` +
	`{"type":"required","status":{"response":"none","time":"0001-01-01T00:00:00Z"},"emailAddress":{"name":"Kim Lee","address":"kim@fabrikam.com"}},` +
	`{"type":"resource","status":{"response":"accepted","time":"0001-01-01T00:00:00Z"},"emailAddress":{"name":"Room 4B","address":"room4b@contoso.com"}}],` +
	`"organizer":{"emailAddress":{"name":"Dana Swope","address":"danas@contoso.com"}},` +
	`"onlineMeeting":{"joinUrl":"https://teams.microsoft.com/l/meetup-join/19%3ameeting_NzIyNzhlMGEtM2YyZC00ZmY0LTlhNzUtZmZjNWFmZGNlNzE2%40thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%2c%22Oid%22%3a%22bc55b173-cff6-457d-b7a1-64bda7d7581a%22%7d"}}`

const benchPageSize = 100

// deltaServer serves a delta round of n events in pages of benchPageSize,
// built from one template per request, under a path prefix.
type deltaServer struct {
	srv   *httptest.Server
	base  string
	pages int
	tmpl  []byte // the events of one page, IDs to patch
	ids   []int  // offsets of the 12-byte ID slots in tmpl
	pool  sync.Pool
}

func newDeltaServer(b *testing.B, n int) *deltaServer {
	d := &deltaServer{pages: (n + benchPageSize - 1) / benchPageSize}
	var sb strings.Builder
	for i := range benchPageSize {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(benchEvent)
	}
	d.tmpl = []byte(sb.String())
	for i := 0; ; {
		k := strings.Index(string(d.tmpl[i:]), "EVTIDxxxxxx")
		if k < 0 {
			break
		}
		d.ids = append(d.ids, i+k)
		i += k + 11
	}
	const prefix = "/bench/v1.0"
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"/me/calendarView/delta", d.serve)
	d.srv = httptest.NewServer(mux)
	b.Cleanup(d.srv.Close)
	d.base = d.srv.URL + prefix + "/"
	d.pool.New = func() any { return new([]byte) }
	return d
}

func (d *deltaServer) serve(w http.ResponseWriter, r *http.Request) {
	page := 0
	if s := r.URL.Query().Get("$skiptoken"); s != "" {
		page, _ = strconv.Atoi(s)
	}
	bp := d.pool.Get().(*[]byte)
	buf := append((*bp)[:0], `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Collection(event)",`...)
	if page+1 < d.pages {
		buf = append(buf, `"@odata.nextLink":"`...)
		buf = append(buf, d.base...)
		buf = append(buf, `me/calendarView/delta?$skiptoken=`...)
		buf = strconv.AppendInt(buf, int64(page+1), 10)
	} else {
		buf = append(buf, `"@odata.deltaLink":"`...)
		buf = append(buf, d.base...)
		buf = append(buf, `me/calendarView/delta?$deltatoken=final`...)
	}
	buf = append(buf, `","value":[`...)
	start := len(buf)
	buf = append(buf, d.tmpl...)
	for j, off := range d.ids {
		// Two slots per event (id and iCalUId) share the event number.
		id := page*benchPageSize + j/2
		var num [11]byte
		s := strconv.AppendInt(num[:0], int64(id), 10)
		slot := buf[start+off : start+off+11]
		for k := range slot {
			slot[k] = '0'
		}
		copy(slot[11-len(s):], s)
	}
	buf = append(buf, "]}"...)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf)
	*bp = buf
	d.pool.Put(bp)
}

// peak samples the heap in use while a benchmark runs.
type peak struct {
	max uint64
	ms  runtime.MemStats
}

func (p *peak) sample() {
	runtime.ReadMemStats(&p.ms)
	if p.ms.HeapInuse > p.max {
		p.max = p.ms.HeapInuse
	}
}

// runSync is the SDK loop: Service.Sync over the round.
func runSync(ctx context.Context, svc *Service, p *peak) (int, error) {
	n, pages := 0, 0
	for page, err := range svc.Sync(ctx, SyncRequest{
		Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), PageSize: benchPageSize,
	}) {
		if err != nil {
			return n, err
		}
		n += len(page.Events)
		if pages++; pages%25 == 0 {
			p.sample()
		}
	}
	return n, nil
}

// runPlain is the baseline: net/http and encoding/json over the same
// pages into the same Event type, with nothing else.
func runPlain(ctx context.Context, hc *http.Client, base string, p *peak) (int, error) {
	link := base + "me/calendarView/delta?startDateTime=2026-11-01T00%3A00%3A00Z&endDateTime=2026-12-01T00%3A00%3A00Z"
	n, pages := 0, 0
	for link != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
		if err != nil {
			return n, err
		}
		req.Header.Set("Authorization", "Bearer test-token")
		req.Header.Set("Prefer", "odata.maxpagesize=100")
		resp, err := hc.Do(req)
		if err != nil {
			return n, err
		}
		var page struct {
			Value     []Event `json:"value"`
			NextLink  string  `json:"@odata.nextLink"`
			DeltaLink string  `json:"@odata.deltaLink"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return n, err
		}
		if resp.StatusCode != http.StatusOK {
			return n, fmt.Errorf("status %d", resp.StatusCode)
		}
		n += len(page.Value)
		link = page.NextLink
		if pages++; pages%25 == 0 {
			p.sample()
		}
	}
	return n, nil
}

// BenchmarkSync compares Service.Sync with a plain net/http +
// encoding/json loop over the same delta pages (100 events each, ~3 KB per
// event). Run the 100k case with -benchtime=1x on a shared machine:
//
//	go test -run X -bench 'Sync/events=10000$' -benchtime=3x
//	go test -run X -bench 'Sync/events=100000$' -benchtime=1x
func BenchmarkSync(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		d := newDeltaServer(b, n)
		gc, err := graphclient.New(graphclient.StaticToken("test-token"), graphclient.WithBaseURL(d.base), graphclient.WithHTTPClient(d.srv.Client()))
		if err != nil {
			b.Fatal(err)
		}
		svc := New(gc)
		loops := []struct {
			name string
			run  func(context.Context, *peak) (int, error)
		}{
			{"sdk", func(ctx context.Context, p *peak) (int, error) { return runSync(ctx, svc, p) }},
			{"plain", func(ctx context.Context, p *peak) (int, error) { return runPlain(ctx, d.srv.Client(), d.base, p) }},
		}
		for _, l := range loops {
			b.Run(fmt.Sprintf("events=%d/%s", n, l.name), func(b *testing.B) {
				var p peak
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				total := 0
				b.ResetTimer()
				for b.Loop() {
					got, err := l.run(b.Context(), &p)
					if err != nil {
						b.Fatal(err)
					}
					if got != n {
						b.Fatalf("synced %d events, want %d", got, n)
					}
					total += got
				}
				b.StopTimer()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "events/s")
				b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(total), "allocs/event")
				b.ReportMetric(float64(p.max)/(1<<20), "peak-heap-MB")
			})
		}
	}
}

// BenchmarkDecodeEvent measures decoding one event, the unit of sync work.
func BenchmarkDecodeEvent(b *testing.B) {
	data := []byte(strings.ReplaceAll(benchEvent, "EVTIDxxxxxx", "00000000001"))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var ev Event
		if err := json.Unmarshal(data, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFindMeetingLink measures link detection on a body-only event
// (the slow path: HTML stripping and scanning).
func BenchmarkFindMeetingLink(b *testing.B) {
	var ev Event
	if err := json.Unmarshal([]byte(strings.ReplaceAll(benchEvent, "EVTIDxxxxxx", "00000000001")), &ev); err != nil {
		b.Fatal(err)
	}
	b.Run("joinUrl", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := FindMeetingLink(&ev); !ok {
				b.Fatal("no link")
			}
		}
	})
	body := ev
	body.OnlineMeeting, body.Location, body.Locations = nil, nil, nil
	b.Run("body", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := FindMeetingLink(&body); !ok {
				b.Fatal("no link")
			}
		}
	})
}
