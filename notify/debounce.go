package notify

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// SyncFunc runs the delta sync of one resource of one user: typically
// calendar or mail Sync from the cursor stored for the Key.
type SyncFunc func(ctx context.Context, k Key) error

// Clock schedules the Debouncer's timers. The default uses time.AfterFunc,
// which testing/synctest controls; tests may inject their own.
// Implementations must be safe for concurrent use; f may run on any
// goroutine, even before AfterFunc returns.
type Clock interface {
	AfterFunc(d time.Duration, f func())
}

type realClock struct{}

func (realClock) AfterFunc(d time.Duration, f func()) { time.AfterFunc(d, f) }

type debounceOptions struct {
	clock   Clock
	max     int
	logger  *slog.Logger
	onError func(k Key, err error)
}

// DebounceOption configures a Debouncer.
type DebounceOption func(*debounceOptions) error

// WithClock makes the Debouncer schedule its timers on c.
func WithClock(c Clock) DebounceOption {
	return func(o *debounceOptions) error {
		if c == nil {
			return invalid("NewDebouncer", "WithClock", "is nil")
		}
		o.clock = c
		return nil
	}
}

// WithMaxConcurrent bounds how many syncs run at once across keys (default
// 4). A key never has two syncs at once.
func WithMaxConcurrent(n int) DebounceOption {
	return func(o *debounceOptions) error {
		if n <= 0 {
			return invalid("NewDebouncer", "WithMaxConcurrent", fmt.Sprintf("%d is not positive", n))
		}
		o.max = n
		return nil
	}
}

// WithSyncError calls f with every error a sync returns (default: logged
// through WithSyncLogger, else dropped). f must be safe for concurrent use.
func WithSyncError(f func(k Key, err error)) DebounceOption {
	return func(o *debounceOptions) error {
		if f == nil {
			return invalid("NewDebouncer", "WithSyncError", "is nil")
		}
		o.onError = f
		return nil
	}
}

// WithSyncLogger logs sync errors and recovered panics.
func WithSyncLogger(l *slog.Logger) DebounceOption {
	return func(o *debounceOptions) error {
		if l == nil {
			return invalid("NewDebouncer", "WithSyncLogger", "is nil")
		}
		o.logger = l
		return nil
	}
}

// keyState is the Debouncer's state for one key.
type keyState struct {
	scheduled bool // a timer is pending
	queued    bool // in the due list, waiting for Run
	running   bool // a sync is running
	again     bool // the timer fired during the sync: run once more after it
}

// Debouncer turns bursts of notifications into one sync per key. The first
// Trigger of a key starts a timer of the configured delay; Triggers before
// it fires join it. When it fires, Run starts the sync. A Trigger during a
// sync starts a new timer, and if that fires before the sync ends the key
// runs once more right after it, so no change is left unsynced. A burst of
// any size within the delay therefore costs one sync, and a notification
// is never more than about one delay plus one sync from its sync.
//
// A Debouncer is safe for concurrent use.
type Debouncer struct {
	delay time.Duration
	sync  SyncFunc
	opt   debounceOptions

	mu    sync.Mutex
	keys  map[Key]*keyState
	due   []Key
	ready chan struct{} // signals Run that due is not empty
}

// NewDebouncer returns a Debouncer that runs sync delay after the first
// Trigger of a key.
func NewDebouncer(delay time.Duration, sync SyncFunc, opts ...DebounceOption) (*Debouncer, error) {
	if delay < 0 {
		return nil, invalid("NewDebouncer", "delay", fmt.Sprintf("%v is negative", delay))
	}
	if sync == nil {
		return nil, invalid("NewDebouncer", "sync", "is nil")
	}
	o := debounceOptions{clock: realClock{}, max: 4}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return &Debouncer{delay: delay, sync: sync, opt: o, keys: map[Key]*keyState{}, ready: make(chan struct{}, 1)}, nil
}

// Trigger asks for a sync of k. It never blocks on the sync.
func (d *Debouncer) Trigger(k Key) {
	d.mu.Lock()
	st := d.keys[k]
	if st == nil {
		st = &keyState{}
		d.keys[k] = st
	}
	start := !st.scheduled
	st.scheduled = true
	d.mu.Unlock()
	if start {
		d.opt.clock.AfterFunc(d.delay, func() { d.fire(k) })
	}
}

// fire moves k to the due list when its timer fires.
func (d *Debouncer) fire(k Key) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.keys[k]
	st.scheduled = false
	switch {
	case st.running:
		st.again = true
	case st.queued:
		// Already due and not started: the sync to come covers this
		// trigger too. Queuing k twice would run two syncs of one key.
	default:
		st.queued = true
		d.due = append(d.due, k)
		d.signal()
	}
}

func (d *Debouncer) signal() {
	select {
	case d.ready <- struct{}{}:
	default:
	}
}

// Run runs the syncs that fall due until ctx is done, then waits for the
// syncs in progress and returns ctx's error. Syncs get ctx. Keys that fall
// due while Run is not running wait for the next Run.
func (d *Debouncer) Run(ctx context.Context) error {
	sem := make(chan struct{}, d.opt.max)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.ready:
		}
		d.mu.Lock()
		due := d.due
		d.due = nil
		for _, k := range due {
			st := d.keys[k]
			st.queued, st.running = false, true
		}
		d.mu.Unlock()
		for _, k := range due {
			wg.Go(func() {
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					d.finish(k, true) // not synced: due again for the next Run
					return
				}
				d.runSync(ctx, k)
				<-sem
				d.finish(k, false)
			})
		}
	}
}

func (d *Debouncer) runSync(ctx context.Context, k Key) {
	defer func() {
		if p := recover(); p != nil {
			d.report(ctx, k, fmt.Errorf("notify: sync panicked: %v", p))
		}
	}()
	if err := d.sync(ctx, k); err != nil {
		d.report(ctx, k, err)
	}
}

func (d *Debouncer) report(ctx context.Context, k Key, err error) {
	if d.opt.onError != nil {
		d.opt.onError(k, err)
	}
	if d.opt.logger != nil {
		d.opt.logger.ErrorContext(ctx, "notify: sync failed", "owner", k.Owner, "resource", k.Resource, "error", err.Error())
	}
}

// finish ends k's sync. When k's timer fired meanwhile, or the sync never
// ran (requeue), k is due again.
func (d *Debouncer) finish(k Key, requeue bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.keys[k]
	st.running = false
	if st.again || requeue {
		st.again = false
		st.queued = true
		d.due = append(d.due, k)
		d.signal()
		return
	}
	if !st.scheduled {
		delete(d.keys, k)
	}
}
