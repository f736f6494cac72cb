package notify

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Syncer runs, or schedules, the delta sync of one resource of one user.
// The Router calls it for change notifications, missed notifications and
// recreated subscriptions. A SyncFunc syncs at once, in the caller's
// goroutine; a *Debouncer coalesces bursts into one sync per Key.
// Implementations must be safe for concurrent use when the Handler has
// more than one worker or serves POSTs concurrently.
type Syncer interface {
	Sync(ctx context.Context, k Key) error
}

// SyncFunc runs the delta sync of one resource of one user: typically
// calendar or mail Sync from the cursor stored for the Key.
type SyncFunc func(ctx context.Context, k Key) error

// Sync calls f: one sync per call, no debouncing.
func (f SyncFunc) Sync(ctx context.Context, k Key) error { return f(ctx, k) }

// Defaults of a Debouncer.
const (
	// DefaultDelay is how long a Debouncer waits after the first
	// notification of a Key before it syncs.
	DefaultDelay = 10 * time.Second
	// DefaultMaxConcurrent bounds the syncs a Debouncer runs at once.
	DefaultMaxConcurrent = 4
)

// DebouncerConfig configures a Debouncer. It is plain data, read once by
// NewDebouncer; zero fields take the defaults given.
type DebouncerConfig struct {
	// Sync runs one sync. Required.
	Sync SyncFunc
	// Delay is how long after the first request for a Key its sync starts
	// (default DefaultDelay).
	Delay time.Duration
	// MaxConcurrent bounds how many syncs run at once across keys
	// (default DefaultMaxConcurrent). A Key never has two syncs at once.
	MaxConcurrent int
	// OnError, when set, receives every error a sync returns and every
	// panic it raises (as an error). It must be safe for concurrent use.
	OnError func(k Key, err error)
	// Logger logs the same errors (default: none).
	Logger *slog.Logger
}

// keyState is the Debouncer's state for one key.
type keyState struct {
	scheduled bool // a timer is pending
	waiting   bool // due, waiting for a free sync slot
	running   bool // a sync is running
	again     bool // the timer fired during the sync: run once more after it
}

// Debouncer turns bursts of notifications into one sync per Key. The first
// Sync of a Key starts a timer of the configured delay; calls before it
// fires join it. When it fires, the sync runs (once a slot of
// MaxConcurrent is free). A Sync call during a sync starts a new timer,
// and if that fires before the sync ends the Key syncs once more right
// after it, so no change is left unsynced. A burst of any size within the
// delay therefore costs one sync, and a notification is never more than
// about one delay plus one sync from its sync.
//
// There is no loop to start: timers run the syncs. Shutdown stops it. A
// Debouncer is safe for concurrent use.
type Debouncer struct {
	cfg DebouncerConfig
	sem chan struct{}
	// ctx is the syncs' context, cancelled when Shutdown gives up waiting.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	keys   map[Key]*keyState
	timers map[Key]*time.Timer
	closed bool
	wg     sync.WaitGroup // running and waiting syncs
}

// NewDebouncer returns a Debouncer that runs cfg.Sync cfg.Delay after the
// first request for a Key.
func NewDebouncer(cfg DebouncerConfig) (*Debouncer, error) {
	const op = "NewDebouncer"
	switch {
	case cfg.Sync == nil:
		return nil, invalid(op, "DebouncerConfig.Sync", "is nil")
	case cfg.Delay < 0:
		return nil, invalid(op, "DebouncerConfig.Delay", fmt.Sprintf("%v is negative", cfg.Delay))
	case cfg.MaxConcurrent < 0:
		return nil, invalid(op, "DebouncerConfig.MaxConcurrent", fmt.Sprintf("%d is negative", cfg.MaxConcurrent))
	}
	if cfg.Delay == 0 {
		cfg.Delay = DefaultDelay
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Debouncer{
		cfg:    cfg,
		sem:    make(chan struct{}, cfg.MaxConcurrent),
		ctx:    ctx,
		cancel: cancel,
		keys:   map[Key]*keyState{},
		timers: map[Key]*time.Timer{},
	}, nil
}

// Sync asks for a sync of k and returns at once, without waiting for it;
// the sync runs later with the Debouncer's own context, not ctx. After
// Shutdown it returns an error matching ErrClosed.
func (d *Debouncer) Sync(ctx context.Context, k Key) error {
	_ = ctx // the sync runs later, with the Debouncer's own context
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return &Error{Op: "Debouncer.Sync", Err: ErrClosed}
	}
	st := d.keys[k]
	if st == nil {
		st = &keyState{}
		d.keys[k] = st
	}
	if !st.scheduled {
		st.scheduled = true
		d.timers[k] = time.AfterFunc(d.cfg.Delay, func() { d.fire(k) })
	}
	return nil
}

// fire runs when k's timer fires.
func (d *Debouncer) fire(k Key) {
	d.mu.Lock()
	st := d.keys[k]
	if st == nil || d.closed {
		d.mu.Unlock()
		return
	}
	st.scheduled = false
	delete(d.timers, k)
	switch {
	case st.running:
		st.again = true
		d.mu.Unlock()
		return
	case st.waiting:
		// Due and not started: the sync to come covers this request too.
		// Starting another would run two syncs of one key at once.
		d.mu.Unlock()
		return
	}
	st.waiting = true
	d.wg.Add(1)
	d.mu.Unlock()
	defer d.wg.Done()
	for d.runOnce(k, st) {
	}
}

// runOnce waits for a slot and syncs k, and reports whether k must sync
// again (its timer fired during the sync).
func (d *Debouncer) runOnce(k Key, st *keyState) bool {
	select {
	case d.sem <- struct{}{}:
	case <-d.ctx.Done():
		d.finish(k, st)
		return false
	}
	d.mu.Lock()
	st.waiting, st.running = false, true
	d.mu.Unlock()
	d.runSync(k)
	<-d.sem
	d.mu.Lock()
	defer d.mu.Unlock()
	st.running = false
	if st.again && !d.closed {
		st.again = false
		st.waiting = true
		return true
	}
	st.again = false
	if !st.scheduled {
		delete(d.keys, k)
	}
	return false
}

// finish forgets k's pending sync when the Debouncer stops.
func (d *Debouncer) finish(k Key, st *keyState) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st.waiting = false
	if !st.scheduled {
		delete(d.keys, k)
	}
}

func (d *Debouncer) runSync(k Key) {
	defer func() {
		if p := recover(); p != nil {
			d.report(k, fmt.Errorf("notify: sync panicked: %v", p))
		}
	}()
	if err := d.cfg.Sync(d.ctx, k); err != nil {
		d.report(k, err)
	}
}

func (d *Debouncer) report(k Key, err error) {
	if d.cfg.OnError != nil {
		d.cfg.OnError(k, err)
	}
	if d.cfg.Logger != nil {
		d.cfg.Logger.ErrorContext(d.ctx, "notify: sync failed", "owner", k.Owner, "resource", k.Resource, "error", err.Error())
	}
}

// Shutdown stops the Debouncer: timers that have not fired are stopped
// (their syncs do not run) and later Sync calls fail with ErrClosed. It
// waits for the syncs that are due or running until ctx is done; then it
// cancels their context, waits for them, and returns ctx's error.
func (d *Debouncer) Shutdown(ctx context.Context) error {
	d.mu.Lock()
	d.closed = true
	for k, t := range d.timers {
		if t.Stop() {
			delete(d.timers, k)
			if st := d.keys[k]; st != nil {
				st.scheduled = false
				if !st.waiting && !st.running {
					delete(d.keys, k)
				}
			}
		}
	}
	d.mu.Unlock()
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		d.cancel()
		<-done
		return ctx.Err()
	}
}
