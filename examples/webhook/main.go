// Webhook keeps the signed-in user's calendar in sync with Microsoft Graph
// change notifications instead of polling: it subscribes to the calendar
// (notify.Manager), serves the webhook Graph posts to (notify.Handler),
// resyncs the calendar from its delta cursor on each notification
// (notify.Router with a notify.SyncFunc), renews the subscription before it
// expires (Manager.RenewDue), and answers lifecycle notifications (renew on
// reauthorizationRequired, recreate and resync on subscriptionRemoved and
// missed). On Ctrl-C it deletes the subscription.
//
// Against the demo tenant (nothing configured) the webhook is an HTTPS
// server on loopback that the fake Microsoft 365 trusts:
//
//	go run ./examples/webhook
//
// Against your tenant (sign in once with the quickstart first), Graph must
// reach the webhook over HTTPS: run it behind a TLS tunnel or proxy and give
// the public URL that forwards to -listen:
//
//	go run ./examples/webhook -listen localhost:8080 -url https://abc.example-tunnel.app/graph/notifications
//
// Flags: -listen (default 127.0.0.1:0: any free port), -url (the public
// https URL; required against a real tenant), -days 7 (the calendar window
// ahead), -renew-every 1h and -renew-within 12h (how often RenewDue runs and
// how close to expiry it renews), -account oid.tid.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/m365kit/m365kit/calendar"
	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/notify"
	"github.com/m365kit/m365kit/scopes"
)

func main() { setup.Main("webhook", runEnv) }

// path is where the webhook is served.
const path = "/graph/notifications"

type options struct {
	listen, url, account    string
	days                    int
	renewEvery, renewWithin time.Duration
}

// runEnv is the program (a setup.Program): main without the process
// around it, so tests call it with a shared demo tenant. It serves until
// ctx is done.
func runEnv(ctx context.Context, args []string, stdout, stderr io.Writer, env setup.Env) error {
	fs := flag.NewFlagSet("webhook", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "address the webhook listens on")
	fs.StringVar(&o.url, "url", "", "public https URL of the webhook (required against a real tenant)")
	fs.IntVar(&o.days, "days", 7, "days ahead to keep in sync")
	fs.DurationVar(&o.renewEvery, "renew-every", time.Hour, "how often to renew subscriptions near expiry")
	fs.DurationVar(&o.renewWithin, "renew-within", 12*time.Hour, "renew subscriptions that expire within this time")
	fs.StringVar(&o.account, "account", "", "account ID (oid.tid) (default: the quickstart's last sign-in)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q; flags only", fs.Arg(0))
	case o.days < 1 || o.days > 366:
		return fmt.Errorf("-days %d: want 1 to 366", o.days)
	case o.renewEvery <= 0:
		return fmt.Errorf("-renew-every %v: want a positive duration", o.renewEvery)
	case o.renewWithin <= 0:
		return fmt.Errorf("-renew-within %v: want a positive duration", o.renewWithin)
	}
	if o.url != "" {
		if u, err := url.Parse(o.url); err != nil || u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("-url %q: want an absolute https URL (Graph posts only to https)", o.url)
		}
	}

	conn, err := env.Connect(ctx, o.account, scopes.Calendar)
	if err != nil {
		return err
	}
	defer conn.Close()
	if conn.Demo == nil && o.url == "" {
		return errors.New("-url is required against a real tenant: the public https URL Graph posts to, forwarding to -listen")
	}
	owner, err := conn.UserID(ctx)
	if err != nil {
		return err
	}

	// The calendar state and its resync; notifications only say "look".
	cal := &calendarState{svc: calendar.New(conn.Graph), out: stdout, days: o.days, events: map[string]string{}}

	// The subscription Manager (it needs no URL yet), the Router, the
	// webhook. One worker: one resync at a time, after the 202.
	store := &notify.MemoryStore{}
	subs, err := notify.NewManager(conn.Graph, notify.Config{Store: store, Owner: owner})
	if err != nil {
		return err
	}
	router := &notify.Router{
		Sync:    notify.SyncFunc(cal.resync),
		Manager: func(context.Context, string) (*notify.Manager, error) { return subs, nil },
	}
	hook, err := notify.NewHandler(notify.HandlerConfig{Store: store, Workers: 1, Deliver: func(ctx context.Context, batch []notify.ChangeNotification) error {
		for _, n := range batch {
			fmt.Fprintf(stdout, "notification: %s\n", describe(n))
		}
		err := router.Deliver(ctx, batch)
		if err != nil {
			fmt.Fprintf(stdout, "handling the notifications failed: %v\n", err)
		}
		for _, n := range batch {
			if n.IsLifecycle() {
				fmt.Fprintf(stdout, "handled %s\n", n.LifecycleEvent)
			}
		}
		return err
	}})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+path, hook)

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("-listen: %w", err)
	}
	publicURL, stopServer := serve(conn, mux, ln, o.url)
	defer func() {
		stopServer()
		_ = hook.Shutdown(context.Background())
	}()
	fmt.Fprintf(stdout, "webhook on %s for %s\n", publicURL, conn.User)

	// Subscribe first, then sync: a change in between is notified.
	reg, err := subs.Create(ctx, publicURL, notify.Events())
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	fmt.Fprintf(stdout, "subscribed to %s until %s\n", reg.Subscription.Resource, reg.Subscription.ExpirationDateTime.Format(time.RFC3339))
	defer unsubscribe(subs, store, owner, stdout)
	if err := cal.resync(ctx, notify.Key{Owner: owner, Resource: reg.Subscription.Resource}); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "waiting for notifications (Ctrl-C to stop)")

	tick := time.NewTicker(o.renewEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		for _, r := range subs.RenewDue(ctx, store.List(owner), o.renewWithin) {
			switch {
			case r.Err != nil:
				fmt.Fprintf(stdout, "renewal of %s failed: %v\n", r.Old.Subscription.ID, r.Err)
			case r.Recreated:
				fmt.Fprintf(stdout, "recreated %s until %s\n", r.New.Subscription.Resource, r.New.Subscription.ExpirationDateTime.Format(time.RFC3339))
				if err := cal.resync(ctx, notify.Key{Owner: owner, Resource: r.New.Subscription.Resource}); err != nil {
					fmt.Fprintf(stdout, "resync failed: %v\n", err)
				}
			default:
				fmt.Fprintf(stdout, "renewed %s until %s\n", r.New.Subscription.Resource, r.New.Subscription.ExpirationDateTime.Format(time.RFC3339))
			}
		}
	}
}

// serve starts the webhook server on ln and returns the URL Graph posts
// to. Against the demo it serves HTTPS with a certificate the fake
// Microsoft 365 is told to trust; against a real tenant it serves plain
// HTTP behind the TLS tunnel or proxy at publicURL.
func serve(conn *setup.Conn, h http.Handler, ln net.Listener, publicURL string) (string, func()) {
	if conn.Demo != nil {
		srv := httptest.NewUnstartedServer(h)
		srv.Listener.Close()
		srv.Listener = ln
		srv.StartTLS()
		conn.Demo.Server.SetNotificationClient(srv.Client())
		if publicURL == "" {
			publicURL = srv.URL + path
		}
		return publicURL, srv.Close
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return publicURL, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
}

// unsubscribe deletes the subscriptions the program created.
func unsubscribe(subs *notify.Manager, store *notify.MemoryStore, owner string, out io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, reg := range store.List(owner) {
		if err := subs.Delete(ctx, reg); err != nil {
			fmt.Fprintf(out, "unsubscribe %s: %v\n", reg.Subscription.ID, err)
			continue
		}
		fmt.Fprintf(out, "unsubscribed from %s\n", reg.Subscription.Resource)
	}
}

func describe(n notify.ChangeNotification) string {
	if n.IsLifecycle() {
		return n.LifecycleEvent
	}
	s := n.ChangeType
	if n.ResourceData != nil {
		s += " " + n.ResourceData.ID
	}
	return s
}

// calendarState is the synced window of the calendar: event ID -> subject.
// Its resync is safe for concurrent use.
type calendarState struct {
	svc  *calendar.Service
	out  io.Writer
	days int

	mu          sync.Mutex
	windowStart time.Time
	cursor      string
	events      map[string]string
}

// resync applies the calendar's delta since the stored cursor; a new day
// starts a new window.
func (c *calendarState) resync(ctx context.Context, _ notify.Key) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	start := time.Now().UTC().Truncate(24 * time.Hour)
	if !start.Equal(c.windowStart) {
		c.windowStart, c.cursor = start, ""
		clear(c.events)
	}
	req := calendar.SyncRequest{Start: start, End: start.AddDate(0, 0, c.days+1), Cursor: c.cursor}
	changed, removed := 0, 0
	var subjects []string
	for page, err := range c.svc.Sync(ctx, req) {
		if err != nil {
			return fmt.Errorf("calendar sync: %w", err)
		}
		if page.Reset {
			clear(c.events)
		}
		for _, ev := range page.Events {
			c.events[ev.ID] = ev.Subject
			subjects = append(subjects, ev.Subject)
		}
		for _, id := range page.Removed {
			delete(c.events, id)
		}
		changed += len(page.Events)
		removed += len(page.Removed)
		c.cursor = page.Cursor
	}
	line := fmt.Sprintf("resync: %d changed, %d removed; %d events in the window", changed, removed, len(c.events))
	if len(subjects) > 0 && len(subjects) <= 3 {
		line += " (" + strings.Join(subjects, "; ") + ")"
	}
	fmt.Fprintln(c.out, line)
	return nil
}
