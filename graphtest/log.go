package graphtest

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Request is one request the server received, on either host, as Requests
// lists it.
type Request struct {
	// Time is when the request arrived, by the server's clock.
	Time time.Time
	// Method, Host (without port), Path and RawQuery are as received.
	Method   string
	Host     string
	Path     string
	RawQuery string
	// Header holds the request headers, Authorization included, so a
	// test can check which token reached which host.
	Header http.Header
	// Status is the response status; 0 when the connection was dropped
	// before a status was written.
	Status int
	// End is when the answer was finished (or the connection dropped), by
	// the server's clock: with Time, the interval the request was in flight.
	End time.Time
	// UserID is the object ID of the user whose access token a Graph
	// request carried, or whose authorization code or refresh token a
	// token request redeemed (also when refused, as for a revoked user);
	// "" for other requests and unknown tokens or codes.
	UserID string
	// InFlight is how many Graph requests of the same app for the same
	// user were being served when this one arrived, itself included (see
	// WithMailboxConcurrency); 0 when UserID is "".
	InFlight int
	// BatchItem is the item's id for a request that arrived inside a
	// POST /$batch (Header then holds the item's headers and the batch's
	// Authorization), "" for one that arrived on its own.
	BatchItem string
}

// requestLog records every request. Its own mutex guards it.
type requestLog struct {
	mu   sync.Mutex
	reqs []Request
}

// Requests returns every request the server has received so far, in the
// order they were answered. Each item of a $batch is listed too (see
// Request.BatchItem), before the $batch request that carried it. The fake only sees requests for its own hosts: to prove
// that no token went elsewhere, give code under test HTTPClient, which
// refuses every other host.
func (s *Server) Requests() []Request {
	s.reqlog.mu.Lock()
	defer s.reqlog.mu.Unlock()
	out := make([]Request, len(s.reqlog.reqs))
	for i, r := range s.reqlog.reqs {
		r.Header = r.Header.Clone()
		out[i] = r
	}
	return out
}

// ResetRequests forgets the requests recorded so far.
func (s *Server) ResetRequests() {
	s.reqlog.mu.Lock()
	defer s.reqlog.mu.Unlock()
	s.reqlog.reqs = nil
}

// logged wraps w to remember the status and returns a function that
// records the request; call it deferred, so a dropped connection (a
// handler panicking with http.ErrAbortHandler) is recorded too.
func (s *Server) logged(w http.ResponseWriter, r *http.Request) (*statusWriter, func()) {
	sw := &statusWriter{ResponseWriter: w, now: s.now}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	entry := Request{
		Time: s.now(), Method: r.Method, Host: strings.ToLower(host),
		Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(),
	}
	return sw, func() {
		entry.Status, entry.End = sw.status, s.now()
		entry.UserID, entry.InFlight = sw.userID, sw.inFlight
		s.reqlog.mu.Lock()
		defer s.reqlog.mu.Unlock()
		s.reqlog.reqs = append(s.reqlog.reqs, entry)
	}
}

// statusWriter remembers the status written through it, and carries the
// server clock to the error writers (see clock).
type statusWriter struct {
	now func() time.Time
	http.ResponseWriter
	status   int
	userID   string // set for Graph requests by serveGraphLimited (serve.go)
	inFlight int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes flushes through.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logBatchItem records one $batch item and the status it was answered
// with, also when it did not run (a failed dependency, a bad url). Its
// headers are the item's own and the batch's Authorization.
func (s *Server) logBatchItem(outer *http.Request, it batchItem, status int) {
	h := http.Header{}
	if v := outer.Header.Get("Authorization"); v != "" {
		h.Set("Authorization", v)
	}
	for k, v := range it.Headers {
		h.Set(k, v)
	}
	entry := Request{Time: s.now(), Method: strings.ToUpper(it.Method), Host: GraphHost, Header: h, Status: status, BatchItem: it.ID}
	rel := "/" + strings.TrimPrefix(it.URL, "/")
	if u, err := url.Parse("https://" + GraphHost + batchVersion(outer) + rel); err == nil && !strings.Contains(it.URL, "://") {
		entry.Path, entry.RawQuery = u.Path, u.RawQuery
	} else {
		entry.Path = it.URL // not a relative URL: as sent
	}
	s.reqlog.mu.Lock()
	defer s.reqlog.mu.Unlock()
	s.reqlog.reqs = append(s.reqlog.reqs, entry)
}
