package reliability_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/calendar"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/mail"
	"github.com/m365kit/m365kit/notify"
)

// Fuzz targets for parsers that see network or stored input and had none
// in their own package, written against the public API.

// cannedGraph is a transport that answers every request itself: the first
// with first (status 200), the later ones with a last delta page. It
// records where requests went and with which Authorization header.
type cannedGraph struct {
	first []byte

	mu   sync.Mutex
	n    int
	sent []string // host, and "+auth" when a token went along
}

const lastDeltaPage = `{"value":[],"@odata.deltaLink":"https://graph.microsoft.com/v1.0/me/delta?$deltatoken=end"}`

func (c *cannedGraph) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	c.mu.Lock()
	c.n++
	n := c.n
	h := r.URL.Host
	if r.Header.Get("Authorization") != "" {
		h += "+auth"
	}
	c.sent = append(c.sent, h)
	c.mu.Unlock()
	body := []byte(lastDeltaPage)
	if n == 1 && c.first != nil {
		body = c.first
	}
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
}

// checkSent fails t if a request left for a host other than Graph's.
func (c *cannedGraph) checkSent(t *testing.T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, h := range c.sent {
		// Host names are case-insensitive: grAph.miCrosoft.Com is Graph.
		if !strings.EqualFold(strings.TrimSuffix(h, "+auth"), graphtest.GraphHost) {
			t.Fatalf("a request went to %q", h)
		}
	}
}

func cannedClient(t *testing.T, rt http.RoundTripper) *graphclient.Client {
	gc, err := graphclient.New(graphclient.StaticToken("fuzz-token"), graphclient.WithHTTPClient(&http.Client{Transport: rt}),
		graphclient.WithRetry(graphclient.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return gc
}

// FuzzCalendarCursor: a stored calendar cursor is input a database (or an
// attacker with write access to it) controls. Whatever it holds, Sync does
// not panic and sends nothing, token or not, anywhere but Graph.
func FuzzCalendarCursor(f *testing.F) {
	f.Add("cal1|2026-01-01T00:00:00Z|2026-02-01T00:00:00Z|https://graph.microsoft.com/v1.0/me/calendarView/delta?$deltatoken=abc")
	f.Add("cal1|2026-01-01T00:00:00Z|2026-02-01T00:00:00Z|https://evil.example.com/v1.0/me/calendarView/delta?$deltatoken=abc")
	f.Add("cal1|2026-01-01T00:00:00Z|2026-02-01T00:00:00Z|//evil.example.com/x")
	f.Add("cal1|2026-02-01T00:00:00Z|2026-01-01T00:00:00Z|https://graph.microsoft.com/v1.0/me/calendarView/delta")
	f.Add("cal1|||")
	f.Add("https://graph.microsoft.com/v1.0/me/calendarView/delta?$deltatoken=abc")
	f.Fuzz(func(t *testing.T, cursor string) {
		rt := &cannedGraph{}
		svc := calendar.New(cannedClient(t, rt))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		pages := 0
		for _, err := range svc.Sync(ctx, calendar.SyncRequest{Cursor: cursor}) {
			if err != nil {
				break
			}
			if pages++; pages > 3 {
				t.Fatal("more pages than the canned answers hold")
			}
		}
		rt.checkSent(t)
	})
}

// FuzzMailDeltaPage: whatever a messages/delta page holds, Sync yields
// pages or an error and does not panic; links off Graph are not followed.
func FuzzMailDeltaPage(f *testing.F) {
	f.Add([]byte(`{"value":[{"id":"AAMk1","subject":"Hi","isRead":"true","hasAttachments":1,"from":{"emailAddress":{"address":"a@b.c"}}},{"id":"AAMk2","@removed":{"reason":"deleted"}}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/me/mailFolders/inbox/messages/delta?$skiptoken=x"}`))
	f.Add([]byte(`{"value":[],"@odata.nextLink":"https://evil.example.com/v1.0/me/mailFolders/inbox/messages/delta?$skiptoken=x"}`))
	f.Add([]byte(`{"value":[{"id":1,"receivedDateTime":"yesterday","isDraft":null,"toRecipients":{}}],"@odata.deltaLink":"x"}`))
	f.Add([]byte(`{"value":null}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rt := &cannedGraph{first: body}
		svc := mail.New(cannedClient(t, rt))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		pages := 0
		for p, err := range svc.Sync(ctx, mail.SyncRequest{Folder: mail.Inbox, Filter: mail.All(mail.SkipAutomated(), mail.ExternalOnly("contoso.com"))}) {
			if err != nil {
				break
			}
			if p == nil {
				t.Fatal("nil page without an error")
			}
			if pages++; pages > 3 {
				t.Fatal("more pages than the canned answers hold")
			}
		}
		rt.checkSent(t)
	})
}

// FuzzBatchResponse: whatever a $batch response holds, Batch returns one
// result per request, in order, or an error, and does not panic.
func FuzzBatchResponse(f *testing.F) {
	f.Add([]byte(`{"responses":[{"id":"2","status":200,"body":{"id":"x"}},{"id":"1","status":404,"body":{"error":{"code":"ErrorItemNotFound","message":"gone"}}},{"id":"3","status":429,"headers":{"Retry-After":"99999"},"body":"eyJhIjoxfQ=="}]}`))
	f.Add([]byte(`{"responses":[{"id":"1","status":200},{"id":"1","status":500},{"id":"9","status":200}]}`))
	f.Add([]byte(`{"responses":[{"id":"1","status":-1,"body":"\u0000"}]}`))
	f.Add([]byte(`{"responses":null}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rt := &cannedGraph{first: body}
		gc := cannedClient(t, rt)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		reqs := []graphclient.BatchRequest{{ID: "1", URL: "me/events/a"}, {ID: "2", URL: "me/events/b"}, {ID: "3", URL: "me/events/c", DependsOn: []string{"2"}}}
		t0 := time.Now()
		res, err := gc.Batch(ctx, reqs)
		if d := time.Since(t0); d > 5*time.Second {
			t.Fatalf("Batch took %v with retries off (err %v)", d, err)
		}
		if err != nil {
			return
		}
		if len(res) != len(reqs) {
			t.Fatalf("%d results for %d requests", len(res), len(reqs))
		}
		for i, r := range res {
			if r.ID != reqs[i].ID {
				t.Fatalf("result %d is for %q, want %q", i, r.ID, reqs[i].ID)
			}
			if (r.Status >= 200 && r.Status <= 299) != (r.Err == nil) {
				t.Fatalf("result %q: status %d with err %v", r.ID, r.Status, r.Err)
			}
		}
		rt.checkSent(t)
	})
}

// FuzzSealedStoreLoad: a sealed store opens only what one of its keys
// sealed for that store key; anything else in the database (corrupted,
// truncated, copied from another user, sealed under another key) is an
// error, never a panic or a wrong value.
func FuzzSealedStoreLoad(f *testing.F) {
	inner := auth.NewMemoryStore()
	sealed, err := auth.Sealed(inner, sealKey(1))
	if err != nil {
		f.Fatal(err)
	}
	if err := sealed.Save(context.Background(), "oid.tid", []byte(`{"RefreshToken":{}}`), 0); err != nil {
		f.Fatal(err)
	}
	good, _, err := inner.Load(context.Background(), "oid.tid")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, "oid.tid")
	f.Add(good, "other.tid")
	f.Add(good[:len(good)/2], "oid.tid")
	f.Add([]byte{}, "oid.tid")
	f.Add([]byte("plaintext refresh token"), "oid.tid")
	f.Fuzz(func(t *testing.T, blob []byte, key string) {
		ctx := t.Context()
		inner := auth.NewMemoryStore()
		store, err := auth.Sealed(inner, sealKey(2), sealKey(1)) // rotated: 2 seals, 1 still opens
		if err != nil {
			t.Fatal(err)
		}
		if err := inner.Save(ctx, key, blob, 0); err != nil {
			return // an empty key: the store refuses it, nothing to open
		}
		v, _, err := store.Load(ctx, key)
		if err != nil {
			if errors.Is(err, auth.ErrNoToken) && len(blob) > 0 {
				t.Errorf("a corrupt value reads as absent: %v", err)
			}
			// The error may name the key (the fuzzer often makes key and
			// value equal); it must not quote the value. Long enough a
			// value that it cannot be a fragment of the fixed wording.
			msg := strings.ReplaceAll(strings.ReplaceAll(err.Error(), strconv.Quote(key), ""), key, "")
			if len(blob) >= 16 && strings.Contains(msg, string(blob)) {
				t.Errorf("the error quotes the stored value: %v", err)
			}
			return
		}
		// Only a value sealed under key 1 for "oid.tid" opens (the
		// fuzzer cannot forge AES-GCM).
		if key != "oid.tid" || string(v) != `{"RefreshToken":{}}` {
			t.Fatalf("Load(%q) of %q opened as %q", key, blob, v)
		}
	})
}

// FuzzNotifyHandler: the webhook endpoint is on the open internet. Whatever
// a request holds, the Handler does not panic, answers one of the statuses
// it documents, never echoes a subscription's clientState, and delivers
// only notifications that carry it.
func FuzzNotifyHandler(f *testing.F) {
	const state = "cmVnLTE.client-state-secret-0b1e"
	notification := func(sub, cs string) string {
		return `{"value":[{"subscriptionId":"` + sub + `","clientState":"` + cs + `","changeType":"created","resource":"Users/x/Messages/y","subscriptionExpirationDateTime":"2026-01-01T00:00:00Z","tenantId":"t","resourceData":{"id":"y"}}]}`
	}
	f.Add("", notification("sub-1", state))
	f.Add("", notification("sub-1", "wrong"))
	f.Add("", notification("sub-2", state))
	f.Add("validationToken=Validation%3A+Testing+client+application+reachability+for+subscription+Request-Id%3A+1", "")
	f.Add("validationToken=%3Cscript%3E", "")
	f.Add("", `{"value":[{"subscriptionId":"sub-1","lifecycleEvent":"missed","clientState":"`+state+`"}]}`)
	f.Add("", `{"value":null}`)
	f.Add("", `[`)
	f.Fuzz(func(t *testing.T, query, body string) {
		store := &notify.MemoryStore{}
		if err := store.Save(t.Context(), notify.Registration{ID: "cmVnLTE", Owner: "oid.tid", Subscription: notify.Subscription{ID: "sub-1", ClientState: state}}); err != nil {
			t.Fatal(err)
		}
		delivered := 0
		h, err := notify.NewHandler(notify.HandlerConfig{Store: store, Deliver: func(_ context.Context, batch []notify.ChangeNotification) error {
			delivered += len(batch)
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://app.example.com/webhook?"+query, strings.NewReader(body))
		if err != nil {
			return // a query no HTTP request can carry
		}
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusAccepted, http.StatusBadRequest, http.StatusForbidden, http.StatusUnauthorized,
			http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable, http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType:
		default:
			t.Fatalf("status %d", w.Code)
		}
		if strings.Contains(w.Body.String(), state) && !strings.Contains(query, state) {
			t.Fatalf("the response carries the clientState: %q", w.Body.String())
		}
		if w.Code == http.StatusOK && !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
			t.Fatalf("a 200 answer of type %q", w.Header().Get("Content-Type"))
		}
		if delivered > 0 && !strings.Contains(body, state) {
			t.Fatalf("%d notifications delivered from a body without the clientState", delivered)
		}
	})
}
