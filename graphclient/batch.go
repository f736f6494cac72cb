package graphclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MaxBatchSize is the number of requests Graph accepts in one $batch call.
const MaxBatchSize = 20

// BatchRequest is one request of a [Client.Batch] call. Batch only reads
// it, so one value may be shared by concurrent calls.
type BatchRequest struct {
	// ID identifies the request within the batch; required, unique
	// (ignoring case).
	ID string
	// Method is the HTTP method; empty means GET.
	Method string
	// URL is the path relative to the base URL, with its query, e.g.
	// "me/events?$top=5" (a leading slash is accepted).
	URL string
	// Headers are the request's headers. Content-Type application/json
	// is added when Body is set and no Content-Type is given; the
	// client's Prefer defaults are added unless Prefer is set.
	Headers map[string]string
	// Body, if not nil, is marshalled as JSON.
	Body any
	// DependsOn lists the IDs of requests that must succeed before this
	// one runs. A request and everything it depends on, directly or not,
	// are always sent in the same $batch call.
	DependsOn []string
}

// BatchResponse is the result of one [BatchRequest], a plain value owned
// by the caller.
type BatchResponse struct {
	// ID is the request's ID.
	ID string
	// Status is the HTTP status of the request (424 when a request it
	// depends on failed); 0 when it was never answered.
	Status int
	// Headers are the response headers Graph reported for the request.
	Headers map[string]string
	// Body is the response body: JSON, or a base64 JSON string for
	// binary content.
	Body json.RawMessage
	// Err is nil for a 2xx Status, an [*Error] for any other status, or
	// the failure that kept the request from being answered.
	Err error
}

type batchWireReq struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      json.RawMessage   `json:"body,omitempty"`
	DependsOn []string          `json:"dependsOn,omitempty"`
}

type batchWireResp struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// Batch sends reqs through JSON batching (POST $batch), at most
// [MaxBatchSize] per call, splitting automatically. Requests linked by
// DependsOn stay in one call (a dependency group larger than
// MaxBatchSize is an error), and calls are sent one after another.
//
// An item throttled inside a batch (429, or 503; 504 for idempotent
// methods) is sent again in a new $batch call after its own Retry-After
// (the longest among the items retried together), within the client's
// RetryPolicy attempts and the context's deadline; the items that failed
// with 424 because of it are resent with it. Results come back in the
// order of reqs, matched by ID.
//
// The returned error is for failures of Batch itself: invalid input, or a
// $batch call that failed (then the items of that and later calls carry
// the same error in Err and the earlier results are kept).
//
// Graph API: POST /$batch
func (c *Client) Batch(ctx context.Context, reqs []BatchRequest) ([]BatchResponse, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	wire, err := c.batchWire(reqs)
	if err != nil {
		return nil, err
	}
	groups, err := batchGroups(reqs)
	if err != nil {
		return nil, err
	}
	out := make([]BatchResponse, len(reqs))
	for i, r := range reqs {
		out[i].ID = r.ID
	}
	for _, chunk := range packGroups(groups) {
		if err := c.runBatchChunk(ctx, reqs, wire, chunk, out); err != nil {
			for i := range out {
				if out[i].Status == 0 && out[i].Err == nil {
					out[i].Err = err
				}
			}
			return out, err
		}
	}
	return out, nil
}

// batchWire validates reqs and builds their wire form.
func (c *Client) batchWire(reqs []BatchRequest) ([]batchWireReq, error) {
	ids := make(map[string]int, len(reqs))
	for i, r := range reqs {
		if r.ID == "" {
			return nil, fmt.Errorf("graphclient: Batch: request %d has no ID: %w", i, ErrInvalidInput)
		}
		k := strings.ToLower(r.ID)
		if j, dup := ids[k]; dup {
			return nil, fmt.Errorf("graphclient: Batch: requests %d and %d share the ID %q: %w", j, i, r.ID, ErrInvalidInput)
		}
		ids[k] = i
	}
	wire := make([]batchWireReq, len(reqs))
	for i, r := range reqs {
		m := strings.ToUpper(r.Method)
		if m == "" {
			m = http.MethodGet
		}
		u := strings.TrimPrefix(r.URL, "/")
		if u == "" || strings.Contains(strings.SplitN(u, "?", 2)[0], "://") || strings.HasPrefix(u, "/") {
			return nil, fmt.Errorf("graphclient: Batch: request %q: URL %q must be a path relative to the base URL: %w", r.ID, r.URL, ErrInvalidInput)
		}
		if strings.ContainsAny(u, "\r\n\x00") {
			return nil, fmt.Errorf("graphclient: Batch: request %q: URL contains control characters: %w", r.ID, ErrInvalidInput)
		}
		w := batchWireReq{ID: r.ID, Method: m, URL: "/" + u}
		for _, d := range r.DependsOn {
			if _, ok := ids[strings.ToLower(d)]; !ok {
				return nil, fmt.Errorf("graphclient: Batch: request %q depends on unknown ID %q: %w", r.ID, d, ErrInvalidInput)
			}
			if strings.EqualFold(d, r.ID) {
				return nil, fmt.Errorf("graphclient: Batch: request %q depends on itself: %w", r.ID, ErrInvalidInput)
			}
		}
		w.DependsOn = r.DependsOn
		if len(r.Headers) > 0 || r.Body != nil || len(c.prefer) > 0 {
			w.Headers = make(map[string]string, len(r.Headers)+2)
		}
		hasCT, hasPrefer := false, false
		for k, v := range r.Headers {
			if strings.ContainsAny(k+v, "\r\n\x00") {
				return nil, fmt.Errorf("graphclient: Batch: request %q: header %q contains control characters: %w", r.ID, k, ErrInvalidInput)
			}
			if strings.EqualFold(k, "Authorization") {
				return nil, fmt.Errorf("graphclient: Batch: request %q: Authorization header not allowed: %w", r.ID, ErrInvalidInput)
			}
			hasCT = hasCT || strings.EqualFold(k, "Content-Type")
			hasPrefer = hasPrefer || strings.EqualFold(k, "Prefer")
			w.Headers[k] = v
		}
		if r.Body != nil {
			b, err := json.Marshal(r.Body)
			if err != nil {
				return nil, fmt.Errorf("graphclient: Batch: request %q: encoding body: %w", r.ID, err)
			}
			w.Body = b
			if !hasCT {
				w.Headers["Content-Type"] = "application/json"
			}
		}
		if !hasPrefer && len(c.prefer) > 0 {
			w.Headers["Prefer"] = strings.Join(c.prefer, ", ")
		}
		wire[i] = w
	}
	return wire, nil
}

// batchGroups partitions request indices into dependency groups
// (connected through DependsOn), each in request order, groups ordered
// by their first request.
func batchGroups(reqs []BatchRequest) ([][]int, error) {
	parent := make([]int, len(reqs))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	idx := make(map[string]int, len(reqs))
	for i, r := range reqs {
		idx[strings.ToLower(r.ID)] = i
	}
	for i, r := range reqs {
		for _, d := range r.DependsOn {
			a, b := find(i), find(idx[strings.ToLower(d)])
			if a != b {
				if a < b {
					parent[b] = a
				} else {
					parent[a] = b
				}
			}
		}
	}
	byRoot := map[int]int{}
	var groups [][]int
	for i := range reqs {
		root := find(i)
		g, ok := byRoot[root]
		if !ok {
			g = len(groups)
			byRoot[root] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	for _, g := range groups {
		if len(g) > MaxBatchSize {
			return nil, fmt.Errorf("graphclient: Batch: request %q is in a dependency group of %d requests; one $batch call holds at most %d: %w", reqs[g[0]].ID, len(g), MaxBatchSize, ErrInvalidInput)
		}
	}
	return groups, nil
}

// packGroups fills calls of up to MaxBatchSize with whole groups, in order.
func packGroups(groups [][]int) [][]int {
	var chunks [][]int
	var cur []int
	for _, g := range groups {
		if len(cur)+len(g) > MaxBatchSize {
			chunks = append(chunks, cur)
			cur = nil
		}
		cur = append(cur, g...)
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}

// runBatchChunk sends one chunk, then resends its throttled items (and
// their failed dependents) until they succeed or retries run out.
func (c *Client) runBatchChunk(ctx context.Context, reqs []BatchRequest, wire []batchWireReq, chunk []int, out []BatchResponse) error {
	pending := chunk
	for attempt := 1; ; attempt++ {
		body := struct {
			Requests []batchWireReq `json:"requests"`
		}{Requests: make([]batchWireReq, 0, len(pending))}
		in := make(map[string]bool, len(pending))
		for _, i := range pending {
			in[strings.ToLower(reqs[i].ID)] = true
		}
		for _, i := range pending {
			w := wire[i]
			if len(w.DependsOn) > 0 {
				deps := make([]string, 0, len(w.DependsOn))
				for _, d := range w.DependsOn {
					if in[strings.ToLower(d)] {
						deps = append(deps, d)
					}
				}
				w.DependsOn = deps
			}
			body.Requests = append(body.Requests, w)
		}
		req, err := c.NewRequest(ctx, http.MethodPost, "$batch", body)
		if err != nil {
			return err
		}
		var resp struct {
			Responses []batchWireResp `json:"responses"`
		}
		if _, err := c.Do(req, &resp); err != nil {
			return err
		}
		byID := make(map[string]*batchWireResp, len(resp.Responses))
		for k := range resp.Responses {
			byID[strings.ToLower(resp.Responses[k].ID)] = &resp.Responses[k]
		}
		now := c.now()
		var retry []int
		var wait time.Duration
		retrySet := map[string]bool{}
		for _, i := range pending {
			r := byID[strings.ToLower(reqs[i].ID)]
			if r == nil {
				out[i] = BatchResponse{ID: reqs[i].ID, Err: fmt.Errorf("graphclient: $batch: no response for request %q", reqs[i].ID)}
				continue
			}
			out[i] = c.batchResult(reqs[i], wire[i], r, now)
			if c.batchItemRetryable(ctx, wire[i], r) {
				retry = append(retry, i)
				retrySet[strings.ToLower(reqs[i].ID)] = true
				d := c.retry.Backoff(attempt, &http.Response{StatusCode: r.Status, Header: headerOf(r.Headers)})
				wait = max(wait, d)
			}
		}
		if len(retry) == 0 || attempt >= c.retry.MaxAttempts {
			return nil
		}
		// Failed dependents (424) of a retried item go again with it.
		for changed := true; changed; {
			changed = false
			for _, i := range pending {
				id := strings.ToLower(reqs[i].ID)
				if retrySet[id] || out[i].Status != http.StatusFailedDependency {
					continue
				}
				for _, d := range reqs[i].DependsOn {
					if retrySet[strings.ToLower(d)] {
						retrySet[id] = true
						changed = true
						break
					}
				}
			}
		}
		retry = retry[:0]
		for _, i := range pending {
			if retrySet[strings.ToLower(reqs[i].ID)] {
				retry = append(retry, i)
			}
		}
		if dl, ok := ctx.Deadline(); ok && c.now().Add(wait).After(dl) {
			return nil
		}
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("graphclient: POST $batch: waiting to retry throttled items: %w", err)
		}
		pending = retry
	}
}

func (c *Client) batchItemRetryable(ctx context.Context, w batchWireReq, r *batchWireResp) bool {
	if r.Status < 400 {
		return false
	}
	// The item as a request: a ShouldRetry may look at its method and URL.
	hr, err := http.NewRequestWithContext(ctx, w.Method, c.base.String()+strings.TrimPrefix(w.URL, "/"), nil)
	if err != nil {
		return false
	}
	return c.retry.ShouldRetry(ctx, hr, &http.Response{StatusCode: r.Status, Header: headerOf(r.Headers), Request: hr}, nil)
}

func headerOf(m map[string]string) http.Header {
	h := make(http.Header, len(m))
	for k, v := range m {
		h.Set(k, v)
	}
	return h
}

func (c *Client) batchResult(req BatchRequest, w batchWireReq, r *batchWireResp, now time.Time) BatchResponse {
	br := BatchResponse{ID: req.ID, Status: r.Status, Headers: r.Headers, Body: r.Body}
	if r.Status < 200 || r.Status > 299 {
		u := c.base.String() + strings.TrimPrefix(w.URL, "/")
		if pu, err := url.Parse(u); err == nil {
			u = sanitizeURL(pu)
		}
		path := strings.SplitN(strings.TrimPrefix(w.URL, "/"), "?", 2)[0]
		body := []byte(r.Body)
		if len(body) > 0 && body[0] == '"' {
			// A base64 or string body: keep it as is for the snippet.
			var s string
			if json.Unmarshal(body, &s) == nil {
				body = []byte(s)
			}
		}
		br.Err = newError(r.Status, headerOf(r.Headers), body, w.Method, u, path, now)
	}
	return br
}
