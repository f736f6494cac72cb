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

// Defaults of a Handler.
const (
	// DefaultMaxBodySize bounds a notification request body.
	DefaultMaxBodySize = 1 << 20
	// DefaultQueueSize bounds the notifications waiting for a worker when
	// HandlerConfig.Workers is set.
	DefaultQueueSize = 1024
	// maxValidationToken bounds the validationToken echoed back.
	maxValidationToken = 8 << 10
	// retryAfter is the Retry-After of a 503: Graph delivers again later.
	retryAfter = "30"
)

// HandlerConfig configures a Handler. It is plain data, read once by
// NewHandler; zero fields take the defaults given.
type HandlerConfig struct {
	// Store holds the Registrations the Handler verifies notifications
	// against (it only calls Load). Required.
	Store Store
	// Deliver receives the verified notifications of one POST, change and
	// lifecycle notifications alike, in the order Graph sent them. Router.Deliver is
	// one; a durable intake (insert jobs in a database) is another.
	// Required.
	//
	// Without Workers, the Handler calls Deliver with the request's
	// context before it answers: 202 Accepted when Deliver returns nil,
	// 503 with Retry-After when it returns an error or panics, so Graph
	// delivers the whole POST again later (for up to four hours).
	// Deliver must then return well within Graph's 3-second budget, and
	// may see a notification twice.
	Deliver func(ctx context.Context, batch []ChangeNotification) error
	// Workers, when positive, makes the Handler answer 202 at once and
	// call Deliver from that many goroutines of its own, fed by an
	// in-memory queue: a simple program's mode, where a notification
	// Deliver fails on is logged and lost, as are those still queued
	// when the process ends. Deliver then gets a context of the Handler's
	// own, cancelled when Shutdown stops waiting. Default 0: Deliver runs
	// before the answer.
	Workers int
	// QueueSize bounds the notifications waiting for a worker (default
	// DefaultQueueSize; only with Workers). When a POST's notifications do
	// not all fit, the Handler answers 503 with Retry-After and queues
	// none of them.
	QueueSize int
	// MaxBodySize bounds a request body (default DefaultMaxBodySize);
	// larger ones are rejected.
	MaxBodySize int64
	// RejectStatus is the status of every rejected request (default 202
	// Accepted, with an empty body like an accepted one, as Microsoft
	// advises: a forger learns nothing about the clientState). Whatever
	// the status, oversized bodies, bad JSON, unknown subscriptions and
	// wrong clientStates get the same status and the same empty body.
	RejectStatus int
	// OnReject, when set, is called for each rejected notification or
	// request, with an error matching ErrMalformed,
	// ErrUnknownSubscription or ErrClientState, before the response is
	// written. Use it to count and investigate forged traffic. It must be
	// fast and safe for concurrent use.
	OnReject func(r *http.Request, err error)
	// Logger logs rejected requests, store failures and Deliver's errors
	// (default: none). Logs never carry a clientState or a validation
	// token.
	Logger *slog.Logger
}

// Handler is the webhook endpoint for Graph change and lifecycle
// notifications; Manager.Create gives Graph the same URL for both.
//
//   - A POST with a validationToken query parameter is the validation
//     handshake: it answers 200 with the decoded token as text/plain at
//     once, without reading the body.
//   - Any other POST is a notification collection. Each notification's
//     Registration is loaded from the Store by the ID its clientState
//     carries, and the clientState compared in constant time; verified
//     notifications go to Deliver (see HandlerConfig.Deliver and
//     HandlerConfig.Workers). Notifications that fail are dropped
//     (OnReject sees them); when none passes, the request is rejected
//     (see HandlerConfig.RejectStatus).
//   - When the Store fails (not for an unknown ID), Deliver fails, the
//     queue is full or the Handler is shut down, the answer is 503 with
//     Retry-After, so Graph delivers again later.
//
// There is no loop to start: the Handler serves as soon as NewHandler
// returns. Shutdown stops it. A Handler is safe for concurrent use.
type Handler struct {
	cfg HandlerConfig

	// The queue of the Workers mode. The workers start with the first
	// queued POST and stop when Shutdown closes the queue.
	ctx     context.Context // the workers' context, cancelled when Shutdown gives up waiting
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	queue   chan []ChangeNotification
	waiting int // notifications in the queue
	started bool
	closed  bool
}

// NewHandler returns a Handler that verifies notifications against
// cfg.Store and hands them to cfg.Deliver.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	const op = "NewHandler"
	switch {
	case cfg.Store == nil:
		return nil, invalid(op, "HandlerConfig.Store", "is nil")
	case cfg.Deliver == nil:
		return nil, invalid(op, "HandlerConfig.Deliver", "is nil")
	case cfg.Workers < 0:
		return nil, invalid(op, "HandlerConfig.Workers", fmt.Sprintf("%d is negative", cfg.Workers))
	case cfg.QueueSize < 0:
		return nil, invalid(op, "HandlerConfig.QueueSize", fmt.Sprintf("%d is negative", cfg.QueueSize))
	case cfg.QueueSize > 0 && cfg.Workers == 0:
		return nil, invalid(op, "HandlerConfig.QueueSize", "needs Workers: without them nothing is queued")
	case cfg.MaxBodySize < 0:
		return nil, invalid(op, "HandlerConfig.MaxBodySize", fmt.Sprintf("%d is negative", cfg.MaxBodySize))
	case cfg.RejectStatus != 0 && (cfg.RejectStatus < 200 || cfg.RejectStatus > 599):
		return nil, invalid(op, "HandlerConfig.RejectStatus", fmt.Sprintf("%d is not an HTTP status", cfg.RejectStatus))
	}
	if cfg.MaxBodySize == 0 {
		cfg.MaxBodySize = DefaultMaxBodySize
	}
	if cfg.RejectStatus == 0 {
		cfg.RejectStatus = http.StatusAccepted
	}
	h := &Handler{cfg: cfg}
	if cfg.Workers > 0 {
		if cfg.QueueSize == 0 {
			h.cfg.QueueSize = DefaultQueueSize
		}
		h.queue = make(chan []ChangeNotification, h.cfg.QueueSize) // a batch holds at least one notification
		h.ctx, h.cancel = context.WithCancel(context.Background())
	}
	return h, nil
}

// Shutdown stops the Handler: from then on every notification POST is
// answered 503 with Retry-After (validation handshakes still succeed).
// With Workers, it waits until the queued notifications are delivered or
// ctx is done; then it cancels the context of the deliveries in progress,
// waits for them, and returns ctx's error. Call it after the HTTP server's
// own Shutdown.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	already := h.closed
	h.closed = true
	if !already && h.queue != nil {
		close(h.queue)
	}
	h.mu.Unlock()
	if h.queue == nil {
		return nil
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		h.cancel()
		<-done
		return ctx.Err()
	}
}

// push queues all of batch or none, starting the workers on first use.
// It reports ErrClosed after Shutdown, and false when the queue is full.
func (h *Handler) push(batch []ChangeNotification) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false, ErrClosed
	}
	if h.waiting+len(batch) > h.cfg.QueueSize {
		return false, nil
	}
	if !h.started {
		h.started = true
		for range h.cfg.Workers {
			h.wg.Go(h.work)
		}
	}
	h.waiting += len(batch)
	h.queue <- batch // never blocks: fewer batches than notifications wait
	return true, nil
}

// work delivers queued batches until Shutdown closes the queue.
func (h *Handler) work() {
	for batch := range h.queue {
		h.mu.Lock()
		h.waiting -= len(batch)
		h.mu.Unlock()
		if err := h.deliver(h.ctx, batch); err != nil {
			h.log(h.ctx, slog.LevelError, "notify: delivery failed; the notifications are lost", "notifications", len(batch), "error", err.Error())
		}
	}
}

// deliver calls Deliver, turning a panic into an error.
func (h *Handler) deliver(ctx context.Context, batch []ChangeNotification) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("notify: Deliver panicked: %v", p)
		}
	}()
	return h.cfg.Deliver(ctx, batch)
}

func (h *Handler) log(ctx context.Context, level slog.Level, msg string, args ...any) {
	if h.cfg.Logger != nil {
		h.cfg.Logger.Log(ctx, level, msg, args...)
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
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodySize))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = fmt.Errorf("%w: body larger than %d bytes", ErrMalformed, h.cfg.MaxBodySize)
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
	verified := make([]ChangeNotification, 0, len(items))
	var rejected []error
	type found struct {
		reg Registration
		err error
	}
	seen := map[string]found{} // one Load per registration per request
	for _, n := range items {
		id, ok := registrationIDOf(n.ClientState)
		if !ok {
			rejected = append(rejected, &Error{Op: "Handler", Err: fmt.Errorf("subscription %s: %w", n.SubscriptionID, ErrClientState)})
			continue
		}
		f, ok := seen[id]
		if !ok {
			f.reg, f.err = h.cfg.Store.Load(r.Context(), id)
			seen[id] = f
		}
		reg, err := f.reg, f.err
		switch {
		case errors.Is(err, ErrUnknownSubscription),
			err == nil && reg.Subscription.ID != "" && reg.Subscription.ID != n.SubscriptionID:
			rejected = append(rejected, &Error{Op: "Handler", Err: fmt.Errorf("subscription %s: %w", n.SubscriptionID, ErrUnknownSubscription)})
			continue
		case err != nil:
			h.log(r.Context(), slog.LevelError, "notify: loading the registration failed; asking Graph to retry", "subscription", n.SubscriptionID, "error", err.Error())
			unavailable(w)
			return
		}
		if !sameSecret(n.ClientState, reg.Subscription.ClientState) {
			rejected = append(rejected, &Error{Op: "Handler", Err: fmt.Errorf("subscription %s: %w", n.SubscriptionID, ErrClientState)})
			continue
		}
		n.ClientState = ""
		n.Owner = reg.Owner
		n.SubscriptionResource = reg.Subscription.Resource
		n.RegistrationID = reg.ID
		verified = append(verified, n)
	}
	for _, err := range rejected {
		h.rejected(r, err)
	}
	if len(verified) == 0 {
		h.respondRejected(w)
		return
	}
	if h.queue == nil {
		if h.isClosed() {
			unavailable(w)
			return
		}
		if err := h.deliver(r.Context(), verified); err != nil {
			h.log(r.Context(), slog.LevelError, "notify: delivery failed; asking Graph to retry", "notifications", len(verified), "error", err.Error())
			unavailable(w)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}
	ok, err := h.push(verified)
	switch {
	case err != nil:
		unavailable(w)
		return
	case !ok:
		h.log(r.Context(), slog.LevelWarn, "notify: queue full; asking Graph to retry", "notifications", len(verified))
		unavailable(w)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (h *Handler) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// sameSecret compares a received clientState with the stored one in
// constant time. An empty stored clientState matches nothing.
func sameSecret(got, want string) bool {
	if want == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
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
	if h.cfg.OnReject != nil {
		h.cfg.OnReject(r, err)
	}
}

func (h *Handler) respondRejected(w http.ResponseWriter) {
	w.WriteHeader(h.cfg.RejectStatus)
}

func unavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", retryAfter)
	http.Error(w, "busy, retry later", http.StatusServiceUnavailable)
}
