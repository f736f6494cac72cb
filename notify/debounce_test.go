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
	"github.com/m365kit/m365kit/graphclient"
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

func newDebouncer(t *testing.T, cfg notify.DebouncerConfig) *notify.Debouncer {
	t.Helper()
	d, err := notify.NewDebouncer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// trigger asks d for a sync of k.
func trigger(t *testing.T, d *notify.Debouncer, k notify.Key) {
	t.Helper()
	if err := d.Sync(t.Context(), k); err != nil {
		t.Fatal(err)
	}
}

func TestDebouncerBurstCostsOneSync(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		log := &syncLog{start: time.Now()}
		d := newDebouncer(t, notify.DebouncerConfig{Sync: log.sync}) // the default delay, 10 s
		adele := notify.Key{Owner: "adele", Resource: "me/events"}
		alex := notify.Key{Owner: "alex", Resource: "me/events"}
		for range 100 {
			trigger(t, d, adele)
			time.Sleep(50 * time.Millisecond) // fake time: the burst spans 5 s
		}
		trigger(t, d, alex)
		time.Sleep(20 * time.Second)
		synctest.Wait()
		// adele's timer started at 0 and fired at 10 s; alex's at 5 s, 15 s.
		if diff := cmp.Diff([]string{"adele@10s", "alex@15s"}, log.got()); diff != "" {
			t.Errorf("syncs (-want +got):\n%s", diff)
		}
		trigger(t, d, adele) // a later notification syncs again
		time.Sleep(11 * time.Second)
		synctest.Wait()
		if got := log.got(); len(got) != 3 || got[2] != "adele@35s" {
			t.Errorf("syncs = %v, want a third at 35s", got)
		}
		if err := d.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDebouncerChangeDuringSyncRunsOnceMore(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		log := &syncLog{start: time.Now(), block: make(chan struct{})}
		d := newDebouncer(t, notify.DebouncerConfig{Delay: time.Second, Sync: log.sync})
		k := notify.Key{Owner: "adele", Resource: "me/events"}
		trigger(t, d, k)
		time.Sleep(time.Second)
		synctest.Wait() // the first sync is running, blocked
		for range 10 {
			trigger(t, d, k) // changes the running sync may have missed
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
		if err := d.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDebouncerLimitsConcurrencyAndReportsErrors(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		running, peak := 0, 0
		var failed []string
		release := make(chan struct{})
		d := newDebouncer(t, notify.DebouncerConfig{Delay: time.Second, MaxConcurrent: 2, Sync: func(ctx context.Context, k notify.Key) error {
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
		}, OnError: func(k notify.Key, err error) {
			mu.Lock()
			failed = append(failed, k.Owner+": "+err.Error())
			mu.Unlock()
		}})
		for _, o := range []string{"u1", "u2", "u3", "u4", "u5"} {
			trigger(t, d, notify.Key{Owner: o, Resource: "me/events"})
		}
		time.Sleep(time.Second)
		synctest.Wait()
		close(release)
		if err := d.Shutdown(t.Context()); err != nil { // waits for the five
			t.Fatal(err)
		}
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
	for input, cfg := range map[string]notify.DebouncerConfig{
		"DebouncerConfig.Sync":          {},
		"DebouncerConfig.Delay":         {Sync: sync, Delay: -time.Second},
		"DebouncerConfig.MaxConcurrent": {Sync: sync, MaxConcurrent: -1},
	} {
		if _, err := notify.NewDebouncer(cfg); !errors.Is(err, graphclient.ErrInvalidInput) || !strings.Contains(err.Error(), input) {
			t.Errorf("%s: %v", input, err)
		}
	}
}

// TestDebouncerKeyDueTwiceSyncsOnce: a key whose timer fires again while
// its sync waits for a free slot syncs once, not twice at the same time.
func TestDebouncerKeyDueTwiceSyncsOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		log := &syncLog{start: time.Now(), block: make(chan struct{})}
		d := newDebouncer(t, notify.DebouncerConfig{Delay: time.Second, MaxConcurrent: 1, Sync: log.sync})
		adele := notify.Key{Owner: "adele", Resource: "me/events"}
		alex := notify.Key{Owner: "alex", Resource: "me/events"}
		trigger(t, d, adele)
		time.Sleep(time.Second)
		synctest.Wait() // adele's sync holds the only slot
		for range 3 {
			trigger(t, d, alex) // alex falls due, waits, and falls due again
			time.Sleep(2 * time.Second)
			synctest.Wait()
		}
		close(log.block)
		if err := d.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"adele@1s", "alex@7s"}, log.got()); diff != "" {
			t.Errorf("syncs (-want +got):\n%s", diff)
		}
	})
}

// TestDebouncerShutdown: Shutdown drops the timers that have not fired,
// waits for the sync in progress, and refuses later requests.
func TestDebouncerShutdown(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		log := &syncLog{start: time.Now(), block: make(chan struct{})}
		d := newDebouncer(t, notify.DebouncerConfig{Delay: time.Second, Sync: log.sync})
		trigger(t, d, notify.Key{Owner: "adele"})
		time.Sleep(time.Second)
		synctest.Wait() // adele's sync runs
		trigger(t, d, notify.Key{Owner: "alex"})
		done := make(chan error)
		go func() { done <- d.Shutdown(t.Context()) }()
		synctest.Wait() // Shutdown waits for adele's sync
		select {
		case err := <-done:
			t.Fatalf("Shutdown returned %v while a sync runs", err)
		default:
		}
		close(log.block)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		if diff := cmp.Diff([]string{"adele@1s"}, log.got()); diff != "" {
			t.Errorf("syncs (-want +got):\n%s", diff)
		}
		if err := d.Sync(t.Context(), notify.Key{Owner: "adele"}); !errors.Is(err, notify.ErrClosed) {
			t.Errorf("Sync after Shutdown = %v, want ErrClosed", err)
		}
	})
}
