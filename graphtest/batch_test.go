package graphtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type batchAnswer struct {
	status    int
	responses map[string]batchResult
	order     []string
	body      map[string]any
}

// postBatch posts a JSON batch to /v1.0/$batch with token.
func postBatch(t *testing.T, srv *Server, token, payload string) batchAnswer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://"+GraphHost+"/v1.0/$batch", strings.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw struct {
		Responses []batchResult `json:"responses"`
		Error     any           `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	a := batchAnswer{status: resp.StatusCode, responses: map[string]batchResult{}}
	if raw.Error != nil {
		a.body = map[string]any{"error": raw.Error}
	}
	for _, r := range raw.Responses {
		a.responses[r.ID] = r
		a.order = append(a.order, r.ID)
	}
	return a
}

func TestBatch(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := f.srv.IssueToken(f.adele, appClientID, "User.Read")
	a := postBatch(t, f.srv, tok, `{"requests":[
		{"id":"1","method":"GET","url":"/me?$select=displayName"},
		{"id":"2","method":"GET","url":"/me/nothing-here"},
		{"id":"3","method":"GET","url":"me","dependsOn":["1"]},
		{"id":"4","method":"GET","url":"/me","dependsOn":["2"]},
		{"id":"5","method":"GET","url":"/me","dependsOn":["4"]}]}`)
	if a.status != 200 {
		t.Fatalf("status %d", a.status)
	}
	got := map[string]int{}
	for id, r := range a.responses {
		got[id] = r.Status
	}
	if diff := cmp.Diff(map[string]int{"1": 200, "2": 400, "3": 200, "4": 424, "5": 424}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	var me map[string]any
	b, _ := json.Marshal(a.responses["1"].Body)
	_ = json.Unmarshal(b, &me)
	if me["displayName"] != "Adele Vance" || me["id"] != nil {
		t.Errorf("item 1 body = %s", b)
	}
	if a.order[0] == "1" {
		t.Errorf("responses in request order %v; the fake answers out of order on purpose", a.order)
	}
}

func TestBatchUsesTheBatchToken(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := f.srv.IssueToken(f.adele, appClientID, "Calendars.Read")
	a := postBatch(t, f.srv, tok, `{"requests":[{"id":"1","method":"GET","url":"/me"}]}`)
	if r := a.responses["1"]; r.Status != http.StatusForbidden {
		t.Errorf("item without User.Read: %d", r.Status)
	}
}

func TestBatchInvalid(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := f.srv.IssueToken(f.adele, appClientID, "User.Read")
	var items []string
	for i := range 21 {
		items = append(items, fmt.Sprintf(`{"id":"%d","method":"GET","url":"/me"}`, i))
	}
	tests := []struct{ name, payload string }{
		{"21 requests", `{"requests":[` + strings.Join(items, ",") + `]}`},
		{"duplicate id", `{"requests":[{"id":"1","method":"GET","url":"/me"},{"id":"1","method":"GET","url":"/me"}]}`},
		{"unknown dependency", `{"requests":[{"id":"1","method":"GET","url":"/me","dependsOn":["9"]}]}`},
		{"cycle", `{"requests":[{"id":"1","method":"GET","url":"/me","dependsOn":["2"]},{"id":"2","method":"GET","url":"/me","dependsOn":["1"]}]}`},
		{"no url", `{"requests":[{"id":"1","method":"GET"}]}`},
		{"empty", `{"requests":[]}`},
		{"not JSON", `requests`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if a := postBatch(t, f.srv, tok, tt.payload); a.status != http.StatusBadRequest || a.body == nil {
				t.Errorf("status %d body %v, want 400 with an error", a.status, a.body)
			}
		})
	}
	// Exactly 20 is fine.
	if a := postBatch(t, f.srv, tok, `{"requests":[`+strings.Join(items[:20], ",")+`]}`); a.status != 200 || len(a.responses) != 20 {
		t.Errorf("20 requests: status %d, %d responses", a.status, len(a.responses))
	}
}

func TestBatchItemThrottle(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := f.srv.IssueToken(f.adele, appClientID, "User.Read")
	f.srv.Inject(Fault{Kind: Throttle, PathPrefix: "/me", RetryAfter: "4"})
	f.srv.Inject(Fault{Kind: DropConnection, PathPrefix: "/me"}) // never applies inside a batch
	a := postBatch(t, f.srv, tok, `{"requests":[{"id":"a","method":"GET","url":"/me"},{"id":"b","method":"GET","url":"/me","dependsOn":["a"]},{"id":"c","method":"GET","url":"/me"}]}`)
	if a.status != 200 {
		t.Fatalf("batch status %d", a.status)
	}
	ra := a.responses["a"]
	if ra.Status != 429 || ra.Headers["Retry-After"] != "4" {
		t.Errorf("item a: %d Retry-After %q", ra.Status, ra.Headers["Retry-After"])
	}
	if a.responses["b"].Status != 424 || a.responses["c"].Status != 200 {
		t.Errorf("items b, c: %d %d", a.responses["b"].Status, a.responses["c"].Status)
	}
}

func TestBatchChaosThrottlesItems(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := f.srv.IssueToken(f.adele, appClientID, "User.Read")
	var items []string
	for i := range 20 {
		items = append(items, fmt.Sprintf(`{"id":"%d","method":"GET","url":"/me"}`, i))
	}
	payload := `{"requests":[` + strings.Join(items, ",") + `]}`
	f.srv.Chaos(ChaosConfig{Seed: 3, Throttle: 0.5, RetryAfter: "2"})
	var a batchAnswer
	for range 10 { // the batch itself may be throttled too
		if a = postBatch(t, f.srv, tok, payload); a.status == 200 {
			break
		}
	}
	count := map[int]int{}
	for _, r := range a.responses {
		count[r.Status]++
		if r.Status == 429 && r.Headers["Retry-After"] != "2" {
			t.Errorf("throttled item without Retry-After: %+v", r)
		}
	}
	if count[429] == 0 || count[200] == 0 {
		t.Errorf("item statuses %v: want some throttled and some served", count)
	}
}

// TestBatchItemsAreLogged: every item of a batch, run or not, is in
// Requests with its id, the path and query it named, the batch's token and
// the status it got, before the $batch request itself.
func TestBatchItemsAreLogged(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := f.srv.IssueToken(f.adele, appClientID, "User.Read")
	f.srv.ResetRequests()
	postBatch(t, f.srv, tok, `{"requests":[
		{"id":"a","method":"get","url":"/me?$select=displayName","headers":{"ConsistencyLevel":"eventual"}},
		{"id":"b","method":"GET","url":"/me/nothing-here"},
		{"id":"c","method":"GET","url":"me","dependsOn":["b"]}]}`)
	type row struct{ BatchItem, Method, Path, RawQuery, Auth, Consistency string }
	var got []row
	var status []int
	for _, r := range f.srv.Requests() {
		got = append(got, row{r.BatchItem, r.Method, r.Path, r.RawQuery, r.Header.Get("Authorization"), r.Header.Get("ConsistencyLevel")})
		status = append(status, r.Status)
	}
	want := []row{
		{"a", "GET", "/v1.0/me", "$select=displayName", "Bearer " + tok, "eventual"},
		{"b", "GET", "/v1.0/me/nothing-here", "", "Bearer " + tok, ""},
		{"c", "GET", "/v1.0/me", "", "Bearer " + tok, ""},
		{"", "POST", "/v1.0/$batch", "", "Bearer " + tok, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{200, 400, 424, 200}, status); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

// A batch item's error carries the server clock too, as a direct
// request's does (TestErrorDateFollowsClock): the fake reads one clock.
func TestBatchItemErrorDateFollowsClock(t *testing.T) {
	t.Parallel()
	srv := New(t, WithClock(func() time.Time { return testNow }))
	ten := srv.AddTenant("contoso.com")
	tok := srv.IssueToken(ten.AddUser("adele@contoso.com", "Adele Vance"), appClientID, "User.Read")
	a := postBatch(t, srv, tok, `{"requests":[
		{"id":"1","method":"GET","url":"/me/events"},
		{"id":"2","method":"GET","url":"/v1.0/me"}]}`)
	want := testNow.UTC().Format("2006-01-02T15:04:05")
	for _, id := range []string{"1", "2"} {
		var body struct {
			Error struct {
				InnerError struct {
					Date string `json:"date"`
				} `json:"innerError"`
			} `json:"error"`
		}
		raw, _ := json.Marshal(a.responses[id].Body)
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatal(err)
		}
		if got := body.Error.InnerError.Date; got != want || a.responses[id].Status < 400 {
			t.Errorf("item %s (status %d): innerError.date = %q, want %q", id, a.responses[id].Status, got, want)
		}
	}
}

// An item with a body and no Content-Type, or a write without a body,
// fails the whole batch with 400, as Graph refuses it ("Write request id :
// … does not contain Content-Type header or body."); the header's name is
// matched in any case.
func TestBatchBodyNeedsContentType(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := f.srv.IssueToken(f.adele, appClientID, "User.Read", "Calendars.ReadWrite")
	for name, item := range map[string]string{
		"body without Content-Type": `{"id":"1","method":"PATCH","url":"/me/events/x","body":{"subject":"s"}}`,
		"body, other headers only":  `{"id":"1","method":"PATCH","url":"/me/events/x","body":{"subject":"s"},"headers":{"Prefer":"x"}}`,
		"POST without body":         `{"id":"1","method":"POST","url":"/subscriptions","headers":{"Content-Type":"application/json"}}`,
	} {
		a := postBatch(t, f.srv, tok, `{"requests":[`+item+`]}`)
		if a.status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(a.body), "does not contain Content-Type header or body") {
			t.Errorf("%s: batch = %d %v, want 400 naming the Content-Type", name, a.status, a.body)
		}
	}
	a := postBatch(t, f.srv, tok, `{"requests":[{"id":"1","method":"PATCH","url":"/me/events/x","body":{"subject":"s"},"headers":{"content-type":"application/json"}}]}`)
	if a.status != http.StatusOK || a.responses["1"].Status != http.StatusNotFound {
		t.Errorf("with content-type: batch = %d, item %d; want 200 and the item's own 404", a.status, a.responses["1"].Status)
	}
}

// Batch ids are not case-sensitive: "A" and "a" are duplicates, and
// dependsOn names an id in any case.
func TestBatchIDsIgnoreCase(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := f.srv.IssueToken(f.adele, appClientID, "User.Read")
	a := postBatch(t, f.srv, tok, `{"requests":[
		{"id":"A","method":"GET","url":"/me"},
		{"id":"a","method":"GET","url":"/me"}]}`)
	if a.status != http.StatusBadRequest {
		t.Errorf("ids A and a: batch = %d, want 400", a.status)
	}
	a = postBatch(t, f.srv, tok, `{"requests":[
		{"id":"First","method":"GET","url":"/me/nothing-here"},
		{"id":"second","method":"GET","url":"/me","dependsOn":["FIRST"]}]}`)
	if a.status != http.StatusOK || a.responses["second"].Status != http.StatusFailedDependency {
		t.Errorf("dependsOn FIRST: batch = %d, second = %d, want 200 and 424", a.status, a.responses["second"].Status)
	}
}

// An item whose url names no route gets Graph's JSON error envelope, the
// client-request-id of the item echoed in it.
func TestBatchUnknownSegment(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := f.srv.IssueToken(f.adele, appClientID, "User.Read")
	a := postBatch(t, f.srv, tok, `{"requests":[{"id":"1","method":"GET","url":"/me/nothing-here","headers":{"client-request-id":"item-crid"}}]}`)
	var body graphError
	raw, _ := json.Marshal(a.responses["1"].Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("item body %s: %v", raw, err)
	}
	if body.Error.Code != "BadRequest" || body.Error.Message != "Resource not found for the segment 'nothing-here'." || body.Error.InnerError.ClientRequestID != "item-crid" {
		t.Errorf("item body = %+v", body.Error)
	}
}

// An item that fails without running (a failed dependency) echoes the
// client-request-id too: the item's own, else the batch's.
func TestBatchItemErrorEchoesClientRequestID(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := f.srv.IssueToken(f.adele, appClientID, "User.Read")
	a := postBatch(t, f.srv, tok, `{"requests":[
		{"id":"1","method":"GET","url":"/me/nothing-here"},
		{"id":"2","method":"GET","url":"/me","dependsOn":["1"],"headers":{"client-request-id":"crid-2"}}]}`)
	var body graphError
	raw, _ := json.Marshal(a.responses["2"].Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	if a.responses["2"].Status != http.StatusFailedDependency || body.Error.InnerError.ClientRequestID != "crid-2" || a.responses["2"].Headers["Client-Request-Id"] != "crid-2" {
		t.Errorf("item 2 = %d %+v headers %v, want 424 echoing crid-2", a.responses["2"].Status, body.Error, a.responses["2"].Headers)
	}
}
