package graphtest

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
)

// maxBatch is Graph's limit of requests in one JSON batch.
const maxBatch = 20

// batchItem is one request of a JSON batch.
type batchItem struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      json.RawMessage   `json:"body,omitempty"`
	DependsOn []string          `json:"dependsOn,omitempty"`
}

// batchResult is one response of a JSON batch.
type batchResult struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body,omitempty"`
}

// handleBatch serves POST /$batch: it validates the batch, runs each item
// through the Graph routes in-process with the batch's Authorization,
// honours dependsOn (424 for dependents of a failed request) and applies
// injected faults per item. Responses come back in reverse order, as Graph
// is free to order them.
func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Requests []batchItem `json:"requests"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&in); err != nil {
		writeGraphError(w, http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
		return
	}
	order, msg := batchOrder(in.Requests)
	if msg != "" {
		writeGraphError(w, http.StatusBadRequest, "BadRequest", msg)
		return
	}
	status := map[string]int{} // by lower-case id
	var out []batchResult
	for _, i := range order {
		it := in.Requests[i]
		res := s.runBatchItem(r, it, status)
		s.logBatchItem(r, it, res.Status)
		status[strings.ToLower(it.ID)] = res.Status
		out = append(out, res)
	}
	slices.Reverse(out)
	writeJSON(w, http.StatusOK, map[string]any{"responses": out})
}

// batchOrder validates the items and returns an execution order that puts
// every item after the ones it depends on, or a Graph error message. Ids
// are not case-sensitive, as Graph's JSON batching reference says: two ids
// differing only in case are duplicates, and dependsOn names an id in any
// case. An item that writes (POST, PUT, PATCH) or carries a body must have
// both a body and a Content-Type header, or the whole batch fails with 400.
func batchOrder(items []batchItem) ([]int, string) {
	switch {
	case len(items) == 0:
		return nil, "Invalid batch payload format: the batch has no requests."
	case len(items) > maxBatch:
		return nil, fmt.Sprintf("Number of batch request steps exceeds the maximum of %d.", maxBatch)
	}
	index := map[string]int{}
	for i, it := range items {
		switch {
		case it.ID == "":
			return nil, fmt.Sprintf("Batch request %d has no id.", i+1)
		case it.Method == "" || it.URL == "":
			return nil, fmt.Sprintf("Batch request '%s' needs a method and a url.", it.ID)
		}
		if _, dup := index[strings.ToLower(it.ID)]; dup {
			return nil, fmt.Sprintf("Batch request ids must be unique: '%s' appears twice.", it.ID)
		}
		if (it.hasBody() || isWrite(it.Method)) && (!it.hasBody() || it.header("Content-Type") == "") {
			return nil, fmt.Sprintf("Write request id : %s does not contain Content-Type header or body.", it.ID)
		}
		index[strings.ToLower(it.ID)] = i
	}
	var order []int
	state := make([]int, len(items)) // 0 new, 1 visiting, 2 done
	var visit func(i int) string
	visit = func(i int) string {
		switch state[i] {
		case 1:
			return fmt.Sprintf("Batch request '%s' depends on itself through dependsOn.", items[i].ID)
		case 2:
			return ""
		}
		state[i] = 1
		for _, d := range items[i].DependsOn {
			j, ok := index[strings.ToLower(d)]
			if !ok {
				return fmt.Sprintf("Batch request '%s' depends on unknown request '%s'.", items[i].ID, d)
			}
			if msg := visit(j); msg != "" {
				return msg
			}
		}
		state[i] = 2
		order = append(order, i)
		return ""
	}
	for i := range items {
		if msg := visit(i); msg != "" {
			return nil, msg
		}
	}
	return order, ""
}

// hasBody reports whether the item carries a body ("body": null is none).
func (it batchItem) hasBody() bool {
	return len(it.Body) > 0 && string(it.Body) != "null"
}

// header returns the item's header named name, matched without regard to
// case as HTTP header names are.
func (it batchItem) header(name string) string {
	for k, v := range it.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// isWrite reports whether method is one whose request Graph expects a
// body for.
func isWrite(method string) bool {
	switch strings.ToUpper(method) {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return true
	}
	return false
}

// runBatchItem runs one item through the Graph mux.
func (s *Server) runBatchItem(outer *http.Request, it batchItem, status map[string]int) batchResult {
	for _, d := range it.DependsOn {
		if st := status[strings.ToLower(d)]; st >= 400 {
			return s.itemError(outer, it, http.StatusFailedDependency, "FailedDependency", fmt.Sprintf("The request depends on request '%s', which failed.", d))
		}
	}
	rel := it.URL
	if !strings.HasPrefix(rel, "/") {
		rel = "/" + rel
	}
	if strings.HasPrefix(rel, "/v1.0/") || strings.HasPrefix(rel, "/beta/") || strings.Contains(it.URL, "://") {
		return s.itemError(outer, it, http.StatusBadRequest, "BadRequest", "A batch request url must be relative to the version, such as /me/events.")
	}
	version := batchVersion(outer)
	target, err := url.Parse("https://" + GraphHost + version + rel)
	if err != nil {
		return s.itemError(outer, it, http.StatusBadRequest, "BadRequest", "Invalid request url.")
	}
	if strings.HasPrefix(target.Path, version+"/$batch") {
		return s.itemError(outer, it, http.StatusBadRequest, "BadRequest", "A batch cannot contain a batch.")
	}
	var body io.Reader
	if it.hasBody() {
		body = bytes.NewReader(it.Body)
	}
	req, err := http.NewRequestWithContext(outer.Context(), strings.ToUpper(it.Method), target.String(), body)
	if err != nil {
		return s.itemError(outer, it, http.StatusBadRequest, "BadRequest", "Invalid request method or url.")
	}
	req.Host = GraphHost
	req.RemoteAddr = outer.RemoteAddr
	for _, h := range []string{"Authorization", "client-request-id"} {
		if v := outer.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	for k, v := range it.Headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	w := &statusWriter{ResponseWriter: rec, now: s.now} // stamps the server clock
	if f, ok := s.takeFault(it.Method, target.Path, target.Query(), true); ok {
		writeFault(w, f)
	} else {
		s.serveGraphMux(w, req)
	}
	return recorded(it.ID, rec)
}

// batchVersion returns the version segment of a batch request, "/v1.0"
// or "/beta": its items run under the same version.
func batchVersion(outer *http.Request) string {
	if strings.HasPrefix(outer.URL.Path, "/beta/") {
		return "/beta"
	}
	return "/v1.0"
}

// recorded converts a recorded response into a batch response: a JSON body
// stays JSON, any other body is base64-encoded, as Graph does.
func recorded(id string, rec *httptest.ResponseRecorder) batchResult {
	res := batchResult{ID: id, Status: rec.Code, Headers: map[string]string{}}
	for k, v := range rec.Header() {
		if len(v) > 0 && k != "Content-Length" {
			res.Headers[k] = v[0]
		}
	}
	if b := bytes.TrimSpace(rec.Body.Bytes()); len(b) > 0 {
		if json.Valid(b) {
			res.Body = json.RawMessage(b)
		} else {
			res.Body = base64.StdEncoding.EncodeToString(b)
		}
	}
	return res
}

// itemError is a batch response carrying Graph's error envelope, with the
// item's client-request-id (else the batch's) echoed as for a request
// that ran.
func (s *Server) itemError(outer *http.Request, it batchItem, status int, code, msg string) batchResult {
	rec := httptest.NewRecorder()
	if id := cmp.Or(it.header("client-request-id"), outer.Header.Get("client-request-id")); id != "" {
		rec.Header().Set("client-request-id", id)
	}
	writeGraphError(&statusWriter{ResponseWriter: rec, now: s.now}, status, code, msg)
	return recorded(it.ID, rec)
}
