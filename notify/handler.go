package notify

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
)

// ProcessFunc handles one verified notification. The Handler calls it from
// its workers (see Handler.Run), never while Graph waits for the response,
// so it may call Graph. An error is logged; Graph already got its 202, so
// nothing is retried: persist what you must not lose.
type ProcessFunc func(ctx context.Context, n Notification) error

// Defaults of a Handler.
const (
	// DefaultMaxBodySize bounds a notification request body.
	DefaultMaxBodySize = 1 << 20
	// DefaultQueueSize bounds the notifications waiting for a worker.
	DefaultQueueSize = 1024
	// DefaultWorkers is how many notifications are processed at once.
	DefaultWorkers = 4
	// maxValidationToken bounds the validationToken echoed back.
	maxValidationToken = 8 << 10
)

type handlerOptions struct {
	maxBody      int64
	queue        int
	workers      int
	logger       *slog.Logger
	rejectStatus int
	onReject     func(r *http.Request, err error)
}

// HandlerOption configures a Handler.
type HandlerOption func(*handlerOptions) error

// WithMaxBodySize sets the largest notification body accepted (default
// 1 MiB); larger bodies are rejected.
func WithMaxBodySize(n int64) HandlerOption {
	return func(o *handlerOptions) error {
		if n <= 0 {
			return invalid("NewHandler", "WithMaxBodySize", fmt.Sprintf("%d is not positive", n))
		}
		o.maxBody = n
		return nil
	}
}

// WithQueueSize sets how many verified notifications may wait for a worker
// (default 1024). When a request's notifications do not all fit, the
// Handler answers 503 Service Unavailable with Retry-After and queues none
// of them: Graph retries the delivery later (for up to four hours).
func WithQueueSize(n int) HandlerOption {
	return func(o *handlerOptions) error {
		if n <= 0 {
			return invalid("NewHandler", "WithQueueSize", fmt.Sprintf("%d is not positive", n))
		}
		o.queue = n
		return nil
	}
}

// WithWorkers sets how many notifications Run processes at once (default 4).
func WithWorkers(n int) HandlerOption {
	return func(o *handlerOptions) error {
		if n <= 0 {
			return invalid("NewHandler", "WithWorkers", fmt.Sprintf("%d is not positive", n))
		}
		o.workers = n
		return nil
	}
}

// WithLogger logs rejected requests and callback errors (default: none).
// Logs never carry a clientState or a validation token.
func WithLogger(l *slog.Logger) HandlerOption {
	return func(o *handlerOptions) error {
		if l == nil {
			return invalid("NewHandler", "WithLogger", "is nil")
		}
		o.logger = l
		return nil
	}
}

// WithRejectStatus sets the status of every rejected request (default 202
// Accepted, with an empty body like an accepted one, as Microsoft advises:
// a forger learns nothing about the clientState). Whatever the status,
// oversized bodies, bad JSON, unknown subscriptions and wrong clientStates
// get the same status and the same empty body.
func WithRejectStatus(code int) HandlerOption {
	return func(o *handlerOptions) error {
		if code < 200 || code > 599 {
			return invalid("NewHandler", "WithRejectStatus", fmt.Sprintf("%d is not an HTTP status", code))
		}
		o.rejectStatus = code
		return nil
	}
}

// WithOnReject calls f for each rejected notification or request, with an
// error matching ErrMalformed, ErrUnknownSubscription or ErrClientState,
// before the response is written. Use it to count and investigate forged
// traffic. f must be fast and safe for concurrent use.
func WithOnReject(f func(r *http.Request, err error)) HandlerOption {
	return func(o *handlerOptions) error {
		if f == nil {
			return invalid("NewHandler", "WithOnReject", "is nil")
		}
		o.onReject = f
		return nil
	}
}

// Handler is the webhook endpoint for Graph change and lifecycle
// notifications; mount it at both the notification and the lifecycle URL.
//
//   - A POST with a validationToken query parameter is the validation
//     handshake: it answers 200 with the decoded token as text/plain at
//     once, without reading the body.
//   - Any other POST is a notification collection. Each notification's
//     subscription is looked up and its clientState compared in constant
//     time; verified notifications are queued and the response is 202
//     Accepted, written before any of them is processed. Notifications
//     that fail are dropped (WithOnReject sees them); when none passes,
//     the request is rejected (see WithRejectStatus).
//   - When the queue is full the response is 503 with Retry-After; when
//     the Lookup fails (not for an unknown ID) it is 503 too, so Graph
//     retries.
//
// Run processes the queue; until it runs, verified notifications wait
// there (and the 503s start once it is full). A Handler is safe for
// concurrent use.
type Handler struct {
	lookup  Lookup
	process ProcessFunc
	opt     handlerOptions

	enqueue sync.Mutex // makes a request's notifications enter the queue all or none
	queue   chan Notification
}

// NewHandler returns a Handler that verifies notifications against lookup
// and hands them to process.
func NewHandler(lookup Lookup, process ProcessFunc, opts ...HandlerOption) (*Handler, error) {
	if lookup == nil {
		return nil, invalid("NewHandler", "lookup", "is nil")
	}
	if process == nil {
		return nil, invalid("NewHandler", "process", "is nil")
	}
	o := handlerOptions{maxBody: DefaultMaxBodySize, queue: DefaultQueueSize, workers: DefaultWorkers, rejectStatus: http.StatusAccepted}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return &Handler{lookup: lookup, process: process, opt: o, queue: make(chan Notification, o.queue)}, nil
}

// Pending returns how many verified notifications wait for a worker.
func (h *Handler) Pending() int { return len(h.queue) }

// Run processes queued notifications with the configured number of
// workers until ctx is done, then waits for the callbacks in progress and
// returns ctx's error. Notifications still queued stay for the next Run.
// A panic in the callback is recovered and logged.
func (h *Handler) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range h.opt.workers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case n := <-h.queue:
					if ctx.Err() != nil {
						// select chose the queue over a done ctx: the
						// callback would only fail, losing n. Keep it for
						// the next Run.
						h.requeue(ctx, n)
						return
					}
					h.run(ctx, n)
				}
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

// requeue puts back a notification taken from the queue after ctx ended.
func (h *Handler) requeue(ctx context.Context, n Notification) {
	h.enqueue.Lock()
	defer h.enqueue.Unlock()
	select {
	case h.queue <- n:
	default: // a request filled the slot meanwhile
		h.log(ctx, slog.LevelWarn, "notify: queue full at shutdown; notification dropped", "subscription", n.SubscriptionID)
	}
}

func (h *Handler) run(ctx context.Context, n Notification) {
	defer func() {
		if p := recover(); p != nil {
			h.log(ctx, slog.LevelError, "notify: callback panicked", "subscription", n.SubscriptionID, "panic", fmt.Sprint(p))
		}
	}()
	if err := h.process(ctx, n); err != nil {
		h.log(ctx, slog.LevelError, "notify: callback failed", "subscription", n.SubscriptionID, "owner", n.Owner, "error", err.Error())
	}
}

func (h *Handler) log(ctx context.Context, level slog.Level, msg string, args ...any) {
	if h.opt.logger != nil {
		h.opt.logger.Log(ctx, level, msg, args...)
	}
}

// ServeHTTP answers the validation handshake and receives notifications.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	if q.Has("validationToken") {
		h.validate(w, q.Get("validationToken"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opt.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = fmt.Errorf("%w: body larger than %d bytes", ErrMalformed, h.opt.maxBody)
		} else {
			err = fmt.Errorf("%w: reading the body: %v", ErrMalformed, err)
		}
		h.reject(w, r, &Error{Op: "Handler", Err: err})
		return
	}
	items, err := Parse(body)
	if err != nil {
		h.reject(w, r, err)
		return
	}
	verified := make([]Notification, 0, len(items))
	var rejected []error
	type found struct {
		reg Registration
		err error
	}
	seen := map[string]found{} // one lookup per subscription per request
	for _, n := range items {
		f, ok := seen[n.SubscriptionID]
		if !ok {
			f.reg, f.err = h.lookup.Lookup(r.Context(), n.SubscriptionID)
			seen[n.SubscriptionID] = f
		}
		reg, err := f.reg, f.err
		switch {
		case errors.Is(err, ErrUnknownSubscription):
			rejected = append(rejected, &Error{Op: "Handler", SubscriptionID: n.SubscriptionID, Err: ErrUnknownSubscription})
			continue
		case err != nil:
			h.log(r.Context(), slog.LevelError, "notify: lookup failed; asking Graph to retry", "subscription", n.SubscriptionID, "error", err.Error())
			unavailable(w)
			return
		}
		if !sameSecret(n.ClientState, reg.Subscription.ClientState) {
			rejected = append(rejected, &Error{Op: "Handler", SubscriptionID: n.SubscriptionID, Err: ErrClientState})
			continue
		}
		n.ClientState = ""
		n.Owner = reg.Owner
		n.SubscriptionResource = reg.Subscription.Resource
		verified = append(verified, n)
	}
	for _, err := range rejected {
		h.rejected(r, err)
	}
	if len(verified) == 0 {
		h.respondRejected(w)
		return
	}
	if !h.push(verified) {
		h.log(r.Context(), slog.LevelWarn, "notify: queue full; asking Graph to retry", "notifications", len(verified))
		unavailable(w)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// sameSecret compares a received clientState with the stored one in
// constant time. An empty stored clientState matches nothing.
func sameSecret(got, want string) bool {
	if want == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// push queues all of items or none.
func (h *Handler) push(items []Notification) bool {
	h.enqueue.Lock()
	defer h.enqueue.Unlock()
	if cap(h.queue)-len(h.queue) < len(items) {
		return false
	}
	for _, n := range items {
		h.queue <- n // never blocks: only pushers fill the queue, under the lock
	}
	return true
}

func (h *Handler) validate(w http.ResponseWriter, token string) {
	if token == "" || len(token) > maxValidationToken {
		http.Error(w, "bad validation token", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// The token is attacker-chosen text echoed verbatim (Graph wants it
	// unchanged): a browser must neither sniff it as HTML nor run anything.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, token)
}

func (h *Handler) reject(w http.ResponseWriter, r *http.Request, err error) {
	h.rejected(r, err)
	h.respondRejected(w)
}

func (h *Handler) rejected(r *http.Request, err error) {
	h.log(r.Context(), slog.LevelWarn, "notify: notification rejected", "remote", r.RemoteAddr, "reason", err.Error())
	if h.opt.onReject != nil {
		h.opt.onReject(r, err)
	}
}

func (h *Handler) respondRejected(w http.ResponseWriter) {
	w.WriteHeader(h.opt.rejectStatus)
}

func unavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "30")
	http.Error(w, "busy, retry later", http.StatusServiceUnavailable)
}
