package graphtest

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind is what an injected fault does to a Graph request.
type FaultKind int

// The kinds of fault Inject and Chaos apply.
const (
	// Throttle answers 429 TooManyRequests with Graph's documented body
	// and the fault's Retry-After.
	Throttle FaultKind = iota
	// Unavailable answers 503 serviceNotAvailable.
	Unavailable
	// GatewayTimeout answers 504.
	GatewayTimeout
	// DropConnection closes the connection (resets the HTTP/2 stream)
	// without a response.
	DropConnection
	// TruncateBody serves the real response but declares its full
	// Content-Length, sends half the body and drops the connection.
	TruncateBody
	// SyncReset answers 410 SyncStateNotFound to a delta request that
	// carries a $deltatoken or $skiptoken; other requests pass untouched
	// and do not use the fault up.
	SyncReset
	// Latency delays the request by the fault's Latency, then serves it.
	Latency
)

// String returns the kind's name, such as "Throttle".
func (k FaultKind) String() string {
	switch k {
	case Throttle:
		return "Throttle"
	case Unavailable:
		return "Unavailable"
	case GatewayTimeout:
		return "GatewayTimeout"
	case DropConnection:
		return "DropConnection"
	case TruncateBody:
		return "TruncateBody"
	case SyncReset:
		return "SyncReset"
	case Latency:
		return "Latency"
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// Fault is a failure injected into Graph requests that match it.
type Fault struct {
	// Method matches the request method; empty matches any.
	Method string
	// PathPrefix matches the start of the path, with or without the
	// version ("/v1.0/me/events" or "/me/events"); empty matches any.
	PathPrefix string
	// Kind is what happens to a matching request.
	Kind FaultKind
	// Times is how many matching requests the fault hits: 0 means one,
	// a negative number means every one until ClearFaults.
	Times int
	// RetryAfter is the Retry-After header of Throttle and Unavailable
	// answers, as Graph sends it ("10"; "0.5" for fast tests); empty
	// omits the header.
	RetryAfter string
	// Latency delays the request before the fault applies; it is the
	// whole effect of the Latency kind.
	Latency time.Duration
}

// ChaosConfig sets the rates of random faults Chaos applies to every Graph
// request. Rates are probabilities between 0 and 1; their sum should stay
// below 1.
type ChaosConfig struct {
	// Seed makes the sequence of faults repeatable.
	Seed int64
	// Throttle, Unavailable, Drop and Truncate are the rates of 429, 503,
	// dropped connections and truncated bodies.
	Throttle, Unavailable, Drop, Truncate float64
	// SyncResets is how many delta requests carrying a token answer 410
	// SyncStateNotFound: the first SyncResets of them.
	SyncResets int
	// RetryAfter is the Retry-After of chaos 429s and 503s; empty means "0".
	RetryAfter string
}

// faultState holds injected faults and chaos. Its own mutex guards it.
type faultState struct {
	mu     sync.Mutex
	faults []*Fault
	chaos  *chaosState
}

type chaosState struct {
	cfg    ChaosConfig
	rng    *rand.Rand
	resets int
}

// Inject adds a fault for Graph requests. Faults apply in the order they
// were injected; each request takes at most one.
func (s *Server) Inject(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.faults = append(s.faults.faults, &f)
}

// Chaos applies random faults with the given rates to every later Graph
// request, $batch items included (where only Throttle and Unavailable
// apply). A zero ChaosConfig turns chaos off.
func (s *Server) Chaos(c ChaosConfig) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if c == (ChaosConfig{}) {
		s.faults.chaos = nil
		return
	}
	if c.RetryAfter == "" {
		c.RetryAfter = "0"
	}
	s.faults.chaos = &chaosState{cfg: c, rng: rand.New(rand.NewPCG(uint64(c.Seed), 0x6d333635))}
}

// ClearFaults removes every injected fault and turns chaos off.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.faults = nil
	s.faults.chaos = nil
}

// isDeltaFollowUp reports a delta request that carries a state token.
func isDeltaFollowUp(path string, q url.Values) bool {
	if !strings.Contains(strings.ToLower(path), "/delta") {
		return false
	}
	for k := range q {
		switch strings.ToLower(strings.TrimPrefix(k, "$")) {
		case "deltatoken", "skiptoken":
			return true
		}
	}
	return false
}

// stripVersion removes a leading /v1.0 or /beta.
func stripVersion(p string) string {
	for _, v := range []string{"/v1.0", "/beta"} {
		if rest, ok := strings.CutPrefix(p, v); ok && (rest == "" || rest[0] == '/') {
			return rest
		}
	}
	return p
}

// matches reports whether f applies to the request.
func (f *Fault) matches(method, path string, q url.Values, inBatch bool) bool {
	if f.Method != "" && !strings.EqualFold(f.Method, method) {
		return false
	}
	if f.PathPrefix != "" && !strings.HasPrefix(path, f.PathPrefix) && !strings.HasPrefix(stripVersion(path), f.PathPrefix) {
		return false
	}
	switch f.Kind {
	case SyncReset:
		return isDeltaFollowUp(path, q)
	case DropConnection, TruncateBody, Latency:
		return !inBatch
	}
	return true
}

// takeFault returns the fault for a request, using it up; inBatch limits
// it to faults a $batch item can show (status answers).
func (s *Server) takeFault(method, path string, q url.Values, inBatch bool) (Fault, bool) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	for i, f := range s.faults.faults {
		if !f.matches(method, path, q, inBatch) {
			continue
		}
		out := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults.faults = append(s.faults.faults[:i:i], s.faults.faults[i+1:]...)
			}
		}
		return out, true
	}
	c := s.faults.chaos
	if c == nil {
		return Fault{}, false
	}
	if c.resets < c.cfg.SyncResets && isDeltaFollowUp(path, q) {
		c.resets++
		return Fault{Kind: SyncReset}, true
	}
	x := c.rng.Float64()
	for _, k := range []struct {
		rate float64
		kind FaultKind
	}{{c.cfg.Throttle, Throttle}, {c.cfg.Unavailable, Unavailable}, {c.cfg.Drop, DropConnection}, {c.cfg.Truncate, TruncateBody}} {
		if x < k.rate {
			if inBatch && (k.kind == DropConnection || k.kind == TruncateBody) {
				return Fault{}, false
			}
			return Fault{Kind: k.kind, RetryAfter: c.cfg.RetryAfter}, true
		}
		x -= k.rate
	}
	return Fault{}, false
}

// serveGraph serves a Graph request through the fault injector.
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	f, ok := s.takeFault(r.Method, r.URL.Path, r.URL.Query(), false)
	if !ok {
		s.serveGraphMux(w, r)
		return
	}
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	switch f.Kind {
	case DropConnection:
		panic(http.ErrAbortHandler)
	case TruncateBody:
		rec := httptest.NewRecorder()
		s.serveGraphMux(rec, r)
		body := rec.Body.Bytes()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body[:len(body)/2])
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	case Latency:
		s.serveGraphMux(w, r)
	default:
		writeFault(w, f)
	}
}

// writeFault writes the status answer of a Throttle, Unavailable,
// GatewayTimeout or SyncReset fault.
func writeFault(w http.ResponseWriter, f Fault) {
	if f.RetryAfter != "" && (f.Kind == Throttle || f.Kind == Unavailable) {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	switch f.Kind {
	case Throttle:
		id := newID()
		w.Header().Set("request-id", id)
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{
			"code":    "TooManyRequests",
			"message": "Please retry again later.",
			"innerError": map[string]string{
				"code": "429", "date": clock(w).Format("2006-01-02T15:04:05"),
				"message": "Please retry after", "request-id": id, "status": "429",
			},
		}})
	case Unavailable:
		writeGraphError(w, http.StatusServiceUnavailable, "serviceNotAvailable", "The service is temporarily unavailable. Please retry after a delay.")
	case GatewayTimeout:
		writeGraphError(w, http.StatusGatewayTimeout, "gatewayTimeout", "The server, while acting as a proxy, did not receive a timely response from the upstream server.")
	case SyncReset:
		writeGraphError(w, http.StatusGone, "SyncStateNotFound", "The sync state generation is not found; generation=0;")
	default:
		writeGraphError(w, http.StatusInternalServerError, "generalException", fmt.Sprintf("graphtest: fault %s has no status answer", f.Kind))
	}
}
