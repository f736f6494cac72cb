package graphtest

import (
	"net"
	"net/http"
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
}

// requestLog records every request. Its own mutex guards it.
type requestLog struct {
	mu   sync.Mutex
	reqs []Request
}

// Requests returns every request the server has received so far, in the
// order they were answered. Requests inside a $batch are not listed
// separately. The fake only sees requests for its own hosts: to prove
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
		entry.Status = sw.status
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
	status int
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
