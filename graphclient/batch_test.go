package graphclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type batchCall struct {
	Requests []struct {
		ID        string            `json:"id"`
		Method    string            `json:"method"`
		URL       string            `json:"url"`
		Headers   map[string]string `json:"headers"`
		Body      json.RawMessage   `json:"body"`
		DependsOn []string          `json:"dependsOn"`
	} `json:"requests"`
}

func (b batchCall) ids() []string {
	var ids []string
	for _, r := range b.Requests {
		ids = append(ids, r.ID)
	}
	return ids
}

// batchServer records each $batch call and answers with respond.
func batchServer(t *testing.T, respond func(call int, b batchCall) any) (*Client, *[]batchCall, *fakeClock) {
	t.Helper()
	c, mux, _, clk := setup(t)
	var mu sync.Mutex
	var calls []batchCall
	mux.HandleFunc("POST /v1.0/$batch", func(w http.ResponseWriter, r *http.Request) {
		var b batchCall
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			t.Errorf("decoding $batch body: %v", err)
		}
		mu.Lock()
		calls = append(calls, b)
		n := len(calls)
		mu.Unlock()
		out, _ := json.Marshal(respond(n, b))
		serve(w, 200, out)
	})
	return c, &calls, clk
}

func okResponses(b batchCall) map[string]any {
	var rs []map[string]any
	for _, r := range b.Requests {
		rs = append(rs, map[string]any{"id": r.ID, "status": 200, "body": map[string]string{"id": r.ID}})
	}
	return map[string]any{"responses": rs}
}

// TestBatchDocumentedExample sends the json-batching.md request and decodes
// its documented response.
func TestBatchDocumentedExample(t *testing.T) {
	t.Parallel()
	c, calls, _ := batchServer(t, func(int, batchCall) any { return json.RawMessage(readTestdata(t, "batch-response.json")) })
	reqs := []BatchRequest{
		{ID: "1", Method: "GET", URL: "/me/memberOf"},
		{ID: "2", Method: "GET", URL: "me/planner/tasks"},
		{ID: "3", Method: "DELETE", URL: "/groups/0e226165-c685-41ce-8bfc-df8360ab325d"},
		{ID: "4", Method: "POST", URL: "/users/161ab652-cdbc-490d-82a4-0ada1f0db247/getPasswordSingleSignOnCredentials", Body: struct{}{}},
		{ID: "5", Method: "GET", URL: "users?$select=id,displayName,userPrincipalName&$filter=city eq null&$count=true", Headers: map[string]string{"ConsistencyLevel": "eventual"}},
	}
	got, err := c.Batch(t.Context(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	// The wire request matches the documented one (plus the Prefer default).
	var want batchCall
	if err := json.Unmarshal(readTestdata(t, "batch-request.json"), &want); err != nil {
		t.Fatal(err)
	}
	want.Requests[4].URL = "/" + want.Requests[4].URL
	for i := range want.Requests {
		if want.Requests[i].Headers == nil {
			want.Requests[i].Headers = map[string]string{}
		}
		want.Requests[i].Headers["Prefer"] = `outlook.timezone="UTC"`
	}
	if diff := cmp.Diff([]batchCall{want}, *calls); diff != "" {
		t.Errorf("$batch body (-want +got):\n%s", diff)
	}
	statuses := []int{}
	for i, r := range got {
		if r.ID != reqs[i].ID {
			t.Errorf("result %d has ID %q, want %q", i, r.ID, reqs[i].ID)
		}
		statuses = append(statuses, r.Status)
		if (r.Err == nil) != (r.Status == 200) {
			t.Errorf("result %s: Status %d, Err %v", r.ID, r.Status, r.Err)
		}
	}
	if diff := cmp.Diff([]int{200, 403, 403, 405, 200}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	var ge *Error
	if !errors.As(got[1].Err, &ge) || !errors.Is(got[1].Err, ErrForbidden) || ge.Code != "" ||
		ge.RequestID != "93b6f17e-c05d-4f45-ad2a-6665c708d8a0" || ge.ClientRequestID != "e70c5c1b-8b47-68c0-3171-3d22f5e0bd54" ||
		!ge.Date.Equal(time.Date(2025, 2, 13, 10, 17, 5, 0, time.UTC)) {
		t.Errorf("item 2 error = %#v", got[1].Err)
	}
	if !errors.As(got[3].Err, &ge) || !ge.HasCode("request_badrequest") || ge.Method != "POST" {
		t.Errorf("item 4 error = %#v", got[3].Err)
	}
	if !strings.Contains(string(got[4].Body), "Lynne Robbins") || got[4].Headers["OData-Version"] != "4.0" {
		t.Errorf("item 5 = %s %v", got[4].Body, got[4].Headers)
	}
}

func TestBatchOutOfOrderResponses(t *testing.T) {
	t.Parallel()
	c, _, _ := batchServer(t, func(_ int, b batchCall) any {
		resp := okResponses(b)
		rs := resp["responses"].([]map[string]any)
		slices.Reverse(rs)
		return resp
	})
	var reqs []BatchRequest
	for i := range 5 {
		reqs = append(reqs, BatchRequest{ID: fmt.Sprint("r", i), URL: "me"})
	}
	got, err := c.Batch(t.Context(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		if r.ID != reqs[i].ID || string(r.Body) != fmt.Sprintf(`{"id":"r%d"}`, i) {
			t.Errorf("result %d = %s %s", i, r.ID, r.Body)
		}
	}
}

func TestBatchSplitting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		reqs func() []BatchRequest
		want [][]string
	}{
		{"45 independent requests", func() []BatchRequest {
			var r []BatchRequest
			for i := range 45 {
				r = append(r, BatchRequest{ID: fmt.Sprint(i), URL: "me"})
			}
			return r
		}, nil},
		{"a dependency chain stays in one call", func() []BatchRequest {
			var r []BatchRequest
			for i := range 19 {
				r = append(r, BatchRequest{ID: fmt.Sprint(i), URL: "me"})
			}
			r = append(r,
				BatchRequest{ID: "a", URL: "me/events", Method: "POST", Body: map[string]string{"subject": "x"}},
				BatchRequest{ID: "b", URL: "me", DependsOn: []string{"a"}},
				BatchRequest{ID: "c", URL: "me", DependsOn: []string{"B"}})
			return r
		}, [][]string{
			{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18"},
			{"a", "b", "c"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, calls, _ := batchServer(t, func(_ int, b batchCall) any { return okResponses(b) })
			reqs := tt.reqs()
			got, err := c.Batch(t.Context(), reqs)
			if err != nil {
				t.Fatal(err)
			}
			var sizes []int
			var ids [][]string
			for _, call := range *calls {
				sizes = append(sizes, len(call.Requests))
				ids = append(ids, call.ids())
			}
			if tt.want == nil {
				if diff := cmp.Diff([]int{20, 20, 5}, sizes); diff != "" {
					t.Errorf("call sizes (-want +got):\n%s", diff)
				}
			} else if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			for i, r := range got {
				if r.ID != reqs[i].ID || r.Status != 200 {
					t.Errorf("result %d = %+v", i, r)
				}
			}
		})
	}
}

// TestBatchThrottledItemRetried: one item is throttled inside the batch and
// its dependent fails with 424; both are sent again, alone, after the
// item's own Retry-After, and the batch succeeds.
func TestBatchThrottledItemRetried(t *testing.T) {
	t.Parallel()
	c, calls, clk := batchServer(t, func(n int, b batchCall) any {
		if n > 1 {
			return okResponses(b)
		}
		return map[string]any{"responses": []map[string]any{
			{"id": "1", "status": 200, "body": map[string]string{"id": "1"}},
			{"id": "2", "status": 429, "headers": map[string]string{"Retry-After": "2.128"}, "body": json.RawMessage(readTestdata(t, "error-throttled-429.json"))},
			{"id": "3", "status": 424, "body": map[string]any{"error": map[string]string{"code": "FailedDependency", "message": "dependency failed"}}},
			{"id": "4", "status": 429, "headers": map[string]string{"retry-after": "1"}, "body": json.RawMessage(readTestdata(t, "error-throttled-429.json"))},
		}}
	})
	got, err := c.Batch(t.Context(), []BatchRequest{
		{ID: "1", URL: "me"},
		{ID: "2", Method: "POST", URL: "me/events", Body: map[string]string{"subject": "x"}},
		{ID: "3", URL: "me/events", DependsOn: []string{"2", "1"}},
		{ID: "4", URL: "me/messages"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if r.Status != 200 || r.Err != nil {
			t.Errorf("result %s = %d %v", r.ID, r.Status, r.Err)
		}
	}
	if len(*calls) != 2 {
		t.Fatalf("calls = %d, want 2", len(*calls))
	}
	second := (*calls)[1]
	if diff := cmp.Diff([]string{"2", "3", "4"}, second.ids()); diff != "" {
		t.Errorf("retried ids (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"2"}, second.Requests[1].DependsOn); diff != "" {
		t.Errorf("dependsOn of the resent item (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]time.Duration{2128 * time.Millisecond}, clk.Sleeps()); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
}

func TestBatchThrottledUntilAttemptsRunOut(t *testing.T) {
	t.Parallel()
	c, calls, _ := batchServer(t, func(_ int, b batchCall) any {
		return map[string]any{"responses": []map[string]any{
			{"id": "1", "status": 429, "headers": map[string]string{"Retry-After": "1"}, "body": json.RawMessage(readTestdata(t, "error-throttled-429.json"))},
		}}
	})
	c.retry.MaxAttempts = 3
	got, err := c.Batch(t.Context(), []BatchRequest{{ID: "1", URL: "me"}})
	if err != nil {
		t.Fatal(err)
	}
	var ge *Error
	if len(*calls) != 3 || got[0].Status != 429 || !errors.As(got[0].Err, &ge) || ge.RetryAfter != time.Second || !errors.Is(got[0].Err, ErrThrottled) {
		t.Errorf("calls = %d, result = %+v", len(*calls), got[0])
	}
}

func TestBatchInvalidInput(t *testing.T) {
	t.Parallel()
	c, calls, _ := batchServer(t, func(_ int, b batchCall) any { return okResponses(b) })
	big := make([]BatchRequest, 21)
	for i := range big {
		big[i] = BatchRequest{ID: fmt.Sprint(i), URL: "me"}
		if i > 0 {
			big[i].DependsOn = []string{fmt.Sprint(i - 1)}
		}
	}
	tests := []struct {
		name string
		reqs []BatchRequest
		want string
	}{
		{"missing ID", []BatchRequest{{URL: "me"}}, "request 0 has no ID"},
		{"duplicate ID ignoring case", []BatchRequest{{ID: "a", URL: "me"}, {ID: "A", URL: "me"}}, "share the ID"},
		{"unknown dependency", []BatchRequest{{ID: "a", URL: "me", DependsOn: []string{"z"}}}, `unknown ID "z"`},
		{"self dependency", []BatchRequest{{ID: "a", URL: "me", DependsOn: []string{"a"}}}, "depends on itself"},
		{"absolute URL", []BatchRequest{{ID: "a", URL: "https://evil.example/v1.0/me"}}, "must be a path relative"},
		{"Authorization header", []BatchRequest{{ID: "a", URL: "me", Headers: map[string]string{"authorization": "x"}}}, "Authorization header not allowed"},
		{"unencodable body", []BatchRequest{{ID: "a", URL: "me", Body: func() {}}}, "encoding body"},
		{"dependency group over 20", big, "dependency group of 21"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := c.Batch(t.Context(), tt.reqs); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	if got, err := c.Batch(t.Context(), nil); got != nil || err != nil {
		t.Errorf("Batch(nil) = %v, %v", got, err)
	}
	if len(*calls) != 0 {
		t.Errorf("invalid batches sent %d calls", len(*calls))
	}
}

func TestBatchCallFails(t *testing.T) {
	t.Parallel()
	c, mux, _, _ := setup(t)
	mux.HandleFunc("POST /v1.0/$batch", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 400, []byte(`{"error":{"code":"BadRequest","message":"Invalid batch payload format."}}`))
	})
	got, err := c.Batch(t.Context(), []BatchRequest{{ID: "1", URL: "me"}})
	var ge *Error
	if !errors.As(err, &ge) || ge.StatusCode != 400 || len(got) != 1 || !errors.Is(got[0].Err, err) {
		t.Errorf("got %+v, err %v", got, err)
	}
}

// TestBatchItemShouldRetrySeesTheItem: a custom ShouldRetry is asked about a
// throttled item with that item's method and URL, and decides alone.
func TestBatchItemShouldRetrySeesTheItem(t *testing.T) {
	t.Parallel()
	c, calls, _ := batchServer(t, func(n int, b batchCall) any {
		if n > 1 {
			return okResponses(b)
		}
		throttled := func(id string) map[string]any {
			return map[string]any{"id": id, "status": 429, "headers": map[string]string{"Retry-After": "1"}, "body": json.RawMessage(readTestdata(t, "error-throttled-429.json"))}
		}
		return map[string]any{"responses": []map[string]any{throttled("1"), throttled("2")}}
	})
	var mu sync.Mutex
	var asked []string
	c.retry.ShouldRetry = func(ctx context.Context, req *http.Request, resp *http.Response, err error) bool {
		if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
			mu.Lock()
			asked = append(asked, req.Method+" "+c.relPath(req.URL))
			mu.Unlock()
			return strings.HasSuffix(req.URL.Path, "/me/messages")
		}
		return DefaultShouldRetry(ctx, req, resp, err)
	}
	got, err := c.Batch(t.Context(), []BatchRequest{
		{ID: "1", Method: "POST", URL: "me/events", Body: map[string]string{"subject": "x"}},
		{ID: "2", URL: "/me/messages?$top=1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"POST me/events", "GET me/messages"}, asked); diff != "" {
		t.Errorf("ShouldRetry asked about (-want +got):\n%s", diff)
	}
	if len(*calls) != 2 || got[0].Status != 429 || got[1].Status != 200 {
		t.Errorf("calls = %d, results = %d %d; want the messages item alone retried", len(*calls), got[0].Status, got[1].Status)
	}
}
