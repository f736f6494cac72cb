package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/mail"
)

// benchPageSize is the page size of the benchmark server (what
// Prefer: odata.maxpagesize=100 would give).
const benchPageSize = 100

// benchServer serves a delta round of n generated messages, benchPageSize a
// page. Pages are written from pre-rendered fragments into a reused
// buffer, so the server's own memory stays flat and small.
func benchServer(b *testing.B, n int) *httptest.Server {
	b.Helper()
	rest := make([]string, benchPageSize) // each message after its "id"
	for i := range rest {
		from := fmt.Sprintf("person%d@fabrikam.com", i)
		if i%3 == 0 {
			from = fmt.Sprintf("colleague%d@contoso.com", i)
		}
		rest[i] = `,"@odata.etag":"W/\"CQAAABYAAAARn2vdzPFjSbaPPxzjlzOTAAASsKZz\"","internetMessageId":"<MWHPR6E1BE060` + strconv.Itoa(i) +
			`@MWHPR1120.namprd22.prod.outlook.com>","conversationId":"AAQkADOUpag6yWs` + strconv.Itoa(i%17) +
			`=","subject":"RE: Quarterly pricing review for the 2026 renewal","from":{"emailAddress":{"name":"Person ` + strconv.Itoa(i) +
			`","address":"` + from + `"}},"sender":{"emailAddress":{"name":"Person ` + strconv.Itoa(i) + `","address":"` + from +
			`"}},"toRecipients":[{"emailAddress":{"name":"Adele Vance","address":"adelev@contoso.com"}},{"emailAddress":{"name":"Alex Wilber","address":"alexw@contoso.com"}}],` +
			`"ccRecipients":[{"emailAddress":{"name":"Megan Bowen","address":"meganb@contoso.com"}}],"bccRecipients":[],"replyTo":[],` +
			`"receivedDateTime":"2026-03-02T09:15:08Z","sentDateTime":"2026-03-02T09:15:06Z",` +
			`"bodyPreview":"Hi Adele, following up on our call: attached is the revised quote with the volume discount we discussed. Let me know if the terms work for your team and we can send the contract for signature this week.",` +
			`"hasAttachments":true,"importance":"normal","categories":[],"isDraft":false,"isRead":` + strconv.FormatBool(i%2 == 0) +
			`,"parentFolderId":"AAMkADcbAAAAAAEJAAA=","webLink":"https://outlook.office365.com/owa/?ItemID=AAMkADMGAAA%3D&exvsurl=1&viewmodel=ReadMessageItem"}`
	}
	pages := (n + benchPageSize - 1) / benchPageSize
	var srv *httptest.Server
	var buf bytes.Buffer
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/me/mailFolders/{id}/messages/delta", func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
		buf.Reset() // one request at a time: both clients page sequentially
		buf.WriteString(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Collection(message)",`)
		link := srv.URL + "/v1.0/me/mailFolders/inbox/messages/delta?"
		if page+1 < pages {
			buf.WriteString(`"@odata.nextLink":"` + link + `$skiptoken=` + strconv.Itoa(page+1) + `",`)
		} else {
			buf.WriteString(`"@odata.deltaLink":"` + link + `$deltatoken=done",`)
		}
		buf.WriteString(`"value":[`)
		for i := 0; i < benchPageSize && page*benchPageSize+i < n; i++ {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(`{"@odata.type":"#microsoft.graph.message","id":"AAMkAGI1AAA`)
			buf.WriteString(strconv.Itoa(page*benchPageSize + i))
			buf.WriteByte('"')
			buf.WriteString(rest[i])
		}
		buf.WriteString(`]}`)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
		_, _ = w.Write(buf.Bytes())
	})
	srv = httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv
}

// heapSampler tracks the peak of live and not-yet-collected heap objects.
type heapSampler struct {
	s    []metrics.Sample
	peak uint64
}

func newHeapSampler() *heapSampler {
	runtime.GC()
	return &heapSampler{s: []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}}
}

func (h *heapSampler) sample() {
	metrics.Read(h.s)
	h.peak = max(h.peak, h.s[0].Value.Uint64())
}

// report adds messages/s, allocs/message and the peak heap to the result.
func report(b *testing.B, n int, h *heapSampler, before *runtime.MemStats) {
	b.Helper()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	total := float64(n) * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/total, "allocs/msg")
	b.ReportMetric(float64(h.peak)/(1<<20), "peak-heap-MB")
}

// BenchmarkSync compares Sync with a plain net/http + encoding/json loop
// over the same pages, at 10,000 and 100,000 messages. Allocation and heap
// figures include the in-process server's (the same for every variant;
// "fetch-only" shows them). Run briefly:
//
//	go test -run '^$' -bench Sync -benchtime 1x ./mail/
func BenchmarkSync(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		srv := benchServer(b, n)
		gc, err := graphclient.New(graphclient.StaticToken("bench-token"),
			graphclient.WithBaseURL(srv.URL+"/v1.0/"), graphclient.WithHTTPClient(srv.Client()))
		if err != nil {
			b.Fatal(err)
		}
		svc := mail.New(gc)
		filter := mail.All(mail.SkipDrafts(), mail.SkipCategories("Personal", "Private"), mail.SkipAutomated(), mail.ExternalOnly("contoso.com"))

		sync := func(b *testing.B, f mail.Filter) {
			h := newHeapSampler()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for range b.N {
				got := 0
				for p, err := range svc.Sync(b.Context(), mail.SyncRequest{Folder: mail.Inbox, Filter: f, PageSize: benchPageSize}) {
					if err != nil {
						b.Fatal(err)
					}
					got += len(p.Messages) + p.Filtered()
					h.sample()
				}
				if got != n {
					b.Fatalf("synced %d messages, want %d", got, n)
				}
			}
			b.StopTimer()
			report(b, n, h, &before)
		}
		b.Run(fmt.Sprintf("n=%d/mail.Sync", n), func(b *testing.B) { sync(b, nil) })
		b.Run(fmt.Sprintf("n=%d/mail.Sync+filters", n), func(b *testing.B) { sync(b, filter) })
		b.Run(fmt.Sprintf("n=%d/plain", n), func(b *testing.B) {
			hc := srv.Client()
			h := newHeapSampler()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for range b.N {
				if got := plainLoop(b.Context(), b, hc, srv.URL+"/v1.0/me/mailFolders/inbox/messages/delta", h); got != n {
					b.Fatalf("plain loop read %d messages, want %d", got, n)
				}
			}
			b.StopTimer()
			report(b, n, h, &before)
		})
		b.Run(fmt.Sprintf("n=%d/fetch-only", n), func(b *testing.B) {
			hc := srv.Client()
			h := newHeapSampler()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for range b.N {
				for page := 0; page*benchPageSize < n; page++ {
					resp, err := hc.Get(srv.URL + "/v1.0/me/mailFolders/inbox/messages/delta?$skiptoken=" + strconv.Itoa(page))
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					h.sample()
				}
			}
			b.StopTimer()
			report(b, n, h, &before)
		})
	}
}

// plainLoop is the baseline: net/http and encoding/json, following links
// until the deltaLink, decoding each page into the same Message model.
func plainLoop(ctx context.Context, b *testing.B, hc *http.Client, next string, h *heapSampler) int {
	n := 0
	for next != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer bench-token")
		req.Header.Set("Prefer", "odata.maxpagesize="+strconv.Itoa(benchPageSize))
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var page struct {
			Value     []mail.Message `json:"value"`
			NextLink  string         `json:"@odata.nextLink"`
			DeltaLink string         `json:"@odata.deltaLink"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("page: %v (status %d)", err, resp.StatusCode)
		}
		for i := range page.Value {
			page.Value[i].ReceivedDateTime = page.Value[i].ReceivedDateTime.UTC()
		}
		n += len(page.Value)
		next = page.NextLink
		if strings.Contains(next, "$deltatoken=") {
			next = ""
		}
		h.sample()
	}
	return n
}

// BenchmarkFilters measures the built-in filters on one message.
func BenchmarkFilters(b *testing.B) {
	m := &mail.Message{
		From:             named("Pat", "Pat+quotes@Sales.Fabrikam.com"),
		Sender:           named("Pat", "Pat+quotes@Sales.Fabrikam.com"),
		ToRecipients:     []mail.Recipient{rcpt("adele@contoso.com"), rcpt("alex@contoso.com")},
		CcRecipients:     []mail.Recipient{rcpt("megan@contoso.com")},
		Categories:       []string{"Blue"},
		ReceivedDateTime: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
	}
	f := mail.All(mail.SkipDrafts(), mail.SkipCategories("Personal", "Private"), mail.SkipAutomated(), mail.ExternalOnly("contoso.com"))
	b.ReportAllocs()
	for b.Loop() {
		if f(m) != "" {
			b.Fatal("skipped")
		}
	}
}
