package notify_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/m365kit/m365kit/notify"
)

// syncLog records the syncs a Debouncer runs, with the fake time each
// started.
type syncLog struct {
	mu    sync.Mutex
	start time.Time
	runs  []string
	block chan struct{} // when set, each sync waits on it
}

func (l *syncLog) sync(ctx context.Context, k notify.Key) error {
	l.mu.Lock()
	l.runs = append(l.runs, k.Owner+"@"+time.Since(l.start).String())
	block := l.block
	l.mu.Unlock()
	if block != nil {
		<-block
	}
	return nil
}

func (l *syncLog) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.runs...)
}

func runDebouncer(t *testing.T, d *notify.Debouncer) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v", err)
		}
	}
}

func TestDebouncerBurstCostsOneSync(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		log := &syncLog{start: time.Now()}
		d, err := notify.NewDebouncer(10*time.Second, log.sync)
		if err != nil {
			t.Fatal(err)
		}
		stop := runDebouncer(t, d)
		adele := notify.Key{Owner: "adele", Resource: "me/events"}
		alex := notify.Key{Owner: "alex", Resource: "me/events"}
		for range 100 {
			d.Trigger(adele)
			time.Sleep(50 * time.Millisecond) // fake time: the burst spans 5 s
		}
		d.Trigger(alex)
		time.Sleep(20 * time.Second)
		synctest.Wait()
		// adele's timer started at 0 and fired at 10 s; alex's at 5 s, 15 s.
		if diff := cmp.Diff([]string{"adele@10s", "alex@15s"}, log.got()); diff != "" {
			t.Errorf("syncs (-want +got):\n%s", diff)
		}
		d.Trigger(adele) // a later notification syncs again
		time.Sleep(11 * time.Second)
		synctest.Wait()
		if got := log.got(); len(got) != 3 || got[2] != "adele@35s" {
			t.Errorf("syncs = %v, want a third at 35s", got)
		}
		stop()
	})
}

func TestDebouncerChangeDuringSyncRunsOnceMore(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		log := &syncLog{start: time.Now(), block: make(chan struct{})}
		d, err := notify.NewDebouncer(time.Second, log.sync)
		if err != nil {
			t.Fatal(err)
		}
		stop := runDebouncer(t, d)
		k := notify.Key{Owner: "adele", Resource: "me/events"}
		d.Trigger(k)
		time.Sleep(time.Second)
		synctest.Wait() // the first sync is running, blocked
		for range 10 {
			d.Trigger(k) // changes the running sync may have missed
		}
		time.Sleep(5 * time.Second) // their timer fires while the sync runs
		synctest.Wait()
		if got := log.got(); len(got) != 1 {
			t.Fatalf("syncs while one runs = %v, want 1 (never two at once)", got)
		}
		log.block <- struct{}{} // first sync ends; the second starts at once
		synctest.Wait()
		close(log.block)
		synctest.Wait()
		if diff := cmp.Diff([]string{"adele@1s", "adele@6s"}, log.got()); diff != "" {
			t.Errorf("syncs (-want +got):\n%s", diff)
		}
		stop()
	})
}

func TestDebouncerLimitsConcurrencyAndReportsErrors(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		running, peak := 0, 0
		var failed []string
		release := make(chan struct{})
		d, err := notify.NewDebouncer(time.Second, func(ctx context.Context, k notify.Key) error {
			mu.Lock()
			running++
			peak = max(peak, running)
			mu.Unlock()
			<-release
			mu.Lock()
			running--
			mu.Unlock()
			if k.Owner == "u3" {
				return errors.New("token revoked")
			}
			if k.Owner == "u4" {
				panic("bug in the sync")
			}
			return nil
		}, notify.WithMaxConcurrent(2), notify.WithSyncError(func(k notify.Key, err error) {
			mu.Lock()
			failed = append(failed, k.Owner+": "+err.Error())
			mu.Unlock()
		}))
		if err != nil {
			t.Fatal(err)
		}
		stop := runDebouncer(t, d)
		for _, o := range []string{"u1", "u2", "u3", "u4", "u5"} {
			d.Trigger(notify.Key{Owner: o, Resource: "me/events"})
		}
		time.Sleep(time.Second)
		synctest.Wait()
		close(release)
		synctest.Wait()
		stop()
		mu.Lock()
		defer mu.Unlock()
		if peak != 2 {
			t.Errorf("peak concurrency %d, want 2", peak)
		}
		if len(failed) != 2 || !strings.Contains(strings.Join(failed, "|"), "u3: token revoked") || !strings.Contains(strings.Join(failed, "|"), "u4: notify: sync panicked") {
			t.Errorf("reported errors %q", failed)
		}
	})
}

func TestNewDebouncerRejectsBadInput(t *testing.T) {
	t.Parallel()
	sync := func(context.Context, notify.Key) error { return nil }
	for name, build := range map[string]func() (*notify.Debouncer, error){
		"delay": func() (*notify.Debouncer, error) { return notify.NewDebouncer(-time.Second, sync) },
		"sync":  func() (*notify.Debouncer, error) { return notify.NewDebouncer(time.Second, nil) },
		"WithClock": func() (*notify.Debouncer, error) {
			return notify.NewDebouncer(time.Second, sync, notify.WithClock(nil))
		},
		"WithMaxConcurrent": func() (*notify.Debouncer, error) {
			return notify.NewDebouncer(time.Second, sync, notify.WithMaxConcurrent(0))
		},
	} {
		if _, err := build(); !errors.Is(err, notify.ErrInvalidInput) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// firingClock fires every timer at once, on the caller's goroutine.
type firingClock struct{}

func (firingClock) AfterFunc(_ time.Duration, f func()) { f() }

func TestDebouncerKeyDueTwiceSyncsOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		log := &syncLog{start: time.Now()}
		d, err := notify.NewDebouncer(0, log.sync, notify.WithClock(firingClock{}))
		if err != nil {
			t.Fatal(err)
		}
		k := notify.Key{Owner: "adele", Resource: "me/events"}
		// With no Run yet, each Trigger's timer fires at once and k falls
		// due again while it is still waiting: that is one sync, not three
		// syncs of one key at the same time.
		for range 3 {
			d.Trigger(k)
		}
		stop := runDebouncer(t, d)
		synctest.Wait()
		stop()
		if diff := cmp.Diff([]string{"adele@0s"}, log.got()); diff != "" {
			t.Errorf("syncs (-want +got):\n%s", diff)
		}
	})
}
