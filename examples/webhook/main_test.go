package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365kit/m365kit/examples/internal/programtest"
	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/notify"
)

// output collects the program's output and lets the test wait for a line.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newOutput() *output { return &output{changed: make(chan struct{}, 1)} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	o.buf.Write(p)
	o.mu.Unlock()
	select {
	case o.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor waits until the output after offset from holds want, and returns
// the offset after it.
func (o *output) waitFor(t *testing.T, from int, want string, errc <-chan error) int {
	t.Helper()
	for {
		s := o.String()
		if i := strings.Index(s[from:], want); i >= 0 {
			return from + i + len(want)
		}
		select {
		case <-o.changed:
		case err := <-errc:
			t.Fatalf("the program ended (%v) before printing %q:\n%s", err, want, s)
		case <-t.Context().Done():
			t.Fatalf("waiting for %q:\n%s", want, s)
		}
	}
}

// start runs the program against d until the test stops it.
func start(t *testing.T, d *m365test.Sandbox, args ...string) (out *output, errc chan error, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out, errc = newOutput(), make(chan error, 1)
	go func() {
		errc <- runEnv(ctx, args, out, new(bytes.Buffer), setup.Env{Getenv: programtest.NoEnv, Demo: d})
	}()
	stop = func() error {
		cancel()
		return <-errc
	}
	t.Cleanup(func() { cancel() })
	return out, errc, stop
}

// TestSubscribeReceiveResync: the program subscribes to Adele's calendar,
// and each change made in Outlook reaches it as a notification and a
// resync from the cursor; stopping it deletes the subscription.
func TestSubscribeReceiveResync(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	out, errc, stop := start(t, d)
	at := out.waitFor(t, 0, "waiting for notifications", errc)
	subs := d.Server.Subscriptions()
	if len(subs) != 1 || subs[0].Resource != "me/events" || !strings.HasPrefix(subs[0].NotificationURL, "https://127.0.0.1:") || subs[0].LifecycleNotificationURL != subs[0].NotificationURL {
		t.Fatalf("Graph's subscriptions: %+v", subs)
	}

	tomorrow := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	ev := d.Demo.Adele.AddEvent(graphtest.Event{Subject: "Pricing review with Fabrikam", Start: tomorrow.Add(10 * time.Hour), End: tomorrow.Add(11 * time.Hour)})
	at = out.waitFor(t, at, "notification: created "+ev.ID, errc)
	at = out.waitFor(t, at, "resync: 1 changed, 0 removed", errc)
	at = out.waitFor(t, at, "(Pricing review with Fabrikam)", errc)

	if err := d.Demo.Adele.DeleteEvent(ev.ID); err != nil {
		t.Fatal(err)
	}
	at = out.waitFor(t, at, "resync: 0 changed, 1 removed", errc)

	// Lifecycle: a reauthorization renews, a removal recreates and resyncs.
	if err := d.Server.SendLifecycle(subs[0].ID, notify.ReauthorizationRequired); err != nil {
		t.Fatal(err)
	}
	at = out.waitFor(t, at, "handled reauthorizationRequired", errc)
	if renewed := d.Server.Subscriptions(); len(renewed) != 1 || renewed[0].Renewed != 1 || renewed[0].NeedsReauthorization {
		t.Errorf("after reauthorizationRequired: %+v", renewed)
	}
	if err := d.Server.SendLifecycle(subs[0].ID, notify.SubscriptionRemoved); err != nil {
		t.Fatal(err)
	}
	at = out.waitFor(t, at, "notification: subscriptionRemoved", errc)
	at = out.waitFor(t, at, "resync: 0 changed, 0 removed", errc)
	out.waitFor(t, at, "handled subscriptionRemoved", errc)
	now := d.Server.Subscriptions()
	if len(now) != 1 || now[0].ID == subs[0].ID || now[0].Resource != "me/events" {
		t.Errorf("after subscriptionRemoved Graph has %+v, want one new subscription", now)
	}
	if strings.Contains(out.String(), "failed") {
		t.Errorf("output:\n%s", out.String())
	}

	if err := stop(); err != nil {
		t.Fatalf("stopping the program: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "unsubscribed from me/events") {
		t.Errorf("output:\n%s", out.String())
	}
	if left := d.Server.Subscriptions(); len(left) != 0 {
		t.Errorf("subscriptions left after stopping: %+v", left)
	}
	for _, dl := range d.Server.Deliveries() {
		if dl.Kind != "validation" && dl.Status != 202 {
			t.Errorf("a delivery was answered %d (%s): %+v", dl.Status, dl.Err, dl)
		}
	}
}

// TestRenewsBeforeExpiry: the renewal loop renews the subscription when
// it falls within the renewal window (here every subscription does).
func TestRenewsBeforeExpiry(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	out, errc, stop := start(t, d, "-renew-every", "10ms", "-renew-within", "1000h")
	at := out.waitFor(t, 0, "subscribed to me/events", errc)
	out.waitFor(t, at, "renewed me/events until", errc)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "unsubscribed") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestRunServesUntilStopped(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	programtest.ServesUntilStopped(t, runEnv, setup.Env{Getenv: programtest.NoEnv, Demo: d}, "waiting for notifications")
}

func TestBadFlags(t *testing.T) {
	t.Parallel()
	programtest.RejectsArgs(t, runEnv, []programtest.BadArgs{
		{Args: []string{"-days", "0"}, Want: "-days 0"},
		{Args: []string{"-renew-every", "0s"}, Want: "-renew-every"},
		{Args: []string{"-renew-within", "-1h"}, Want: "-renew-within"},
		{Args: []string{"-url", "http://example.com/hook"}, Want: "-url"},
		{Args: []string{"now"}, Want: `unexpected argument "now"`},
	})
}
