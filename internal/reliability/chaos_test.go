package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/calendar"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/mail"
)

// chaosSize is how much the chaos suite syncs.
type chaosSize struct {
	users, events, messages, pageSize int
}

// sizeFromEnv returns the default size (20 users x 500 items), or the full
// one (20 users x 10,000 items) when M365KIT_CHAOS_FULL=1.
func sizeFromEnv() chaosSize {
	if os.Getenv("M365KIT_CHAOS_FULL") == "1" {
		return chaosSize{users: 20, events: 5000, messages: 5000, pageSize: 100}
	}
	return chaosSize{users: 20, events: 250, messages: 250, pageSize: 25}
}

// seedFromEnv returns M365KIT_CHAOS_SEED, default 1.
func seedFromEnv(t *testing.T) int64 {
	t.Helper()
	s := os.Getenv("M365KIT_CHAOS_SEED")
	if s == "" {
		return 1
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("M365KIT_CHAOS_SEED=%q: %v", s, err)
	}
	return n
}

// The fault rates of the issue: 10% 429 with Retry-After, 5% 503/504,
// 2% dropped connections, 2% truncated bodies, one 410 per run.
const (
	rateThrottle    = 0.10
	rateUnavailable = 0.025 // graphtest Chaos: 503
	rateGateway     = 0.025 // userTransport: 504
	rateDrop        = 0.02
	rateTruncate    = 0.02
	chaosRetryAfter = "0.01" // seconds: fast tests, real header parsing
)

// fastRetry is the retry policy of the suite: Graph's Retry-After when it
// sends one (0.01s here), else a jittered backoff of at most 20ms, and
// enough attempts that a run of faults (p ~ 0.2 each) does not exhaust them.
func fastRetry() graphclient.RetryPolicy {
	exp := graphclient.ExponentialBackoff(time.Millisecond, 20*time.Millisecond)
	return graphclient.RetryPolicy{
		MaxAttempts: 15,
		Backoff: func(attempt int, resp *http.Response) time.Duration {
			if resp != nil && resp.Header.Get("Retry-After") != "" {
				return graphclient.DefaultBackoff(attempt, resp)
			}
			return exp(attempt, resp)
		},
	}
}

var base = time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)

// window is the calendar window every user syncs: it holds every event.
func window(n int) (time.Time, time.Time) {
	return base.Add(-24 * time.Hour), base.Add(time.Duration(2*n)*30*time.Minute + 24*time.Hour)
}

// chaosUser is one user of the suite: their fake mailbox, their client and
// what a backend stores for them.
type chaosUser struct {
	idx   int
	u     *graphtest.User
	gc    *graphclient.Client
	tr    *userTransport
	cal   *calendar.Service
	mail  *mail.Service
	start time.Time
	end   time.Time

	// Stored state, as a backend keeps it.
	events      map[string]calendar.Event
	messages    map[string]map[string]mail.Message // folder -> id -> message
	calCursor   string
	mailCursors mail.Cursors

	// What arrived in the current round: id -> times delivered.
	calDelivered, mailDelivered map[string]int
	calRemoved, mailRemoved     map[string]bool
	calDone                     bool
	mailDone                    map[string]bool
	resets, pages, kills        atomic.Int64 // the calendar and mail goroutines both count

	mu  sync.Mutex
	rng *rand.Rand // page-level kills
}

// chaosEnv is a fake Microsoft 365 under chaos and the suite's users.
type chaosEnv struct {
	srv     *graphtest.Server
	size    chaosSize
	seed    int64
	kill    bool
	users   []*chaosUser
	logs    *lockedBuffer
	secrets *secrets
	errs    *errorLog
}

const chaosClientID = "5b1f0a43-6e1c-4b57-9c53-0a8f2e6f7c11"

func newChaosEnv(t *testing.T, size chaosSize, seed int64, kill bool) *chaosEnv {
	t.Helper()
	e := &chaosEnv{srv: graphtest.New(t), size: size, seed: seed, kill: kill, logs: &lockedBuffer{}, secrets: &secrets{}, errs: &errorLog{}}
	tenant := e.srv.AddTenant("contoso.com")
	external := graphtest.Address{Name: "Katie Jordan", Address: "katie@fabrikam.com"}
	logger := debugLogger(e.logs)
	start, end := window(size.events)
	killRate := 0.0
	if kill {
		killRate = 0.02
	}
	for i := range size.users {
		u := tenant.AddUser(fmt.Sprintf("user%02d@contoso.com", i), fmt.Sprintf("User %02d", i))
		for j := range size.events {
			at := base.Add(time.Duration(2*j) * 30 * time.Minute)
			u.AddEvent(graphtest.Event{Subject: fmt.Sprintf("u%d meeting %d", i, j), Start: at, End: at.Add(30 * time.Minute),
				Attendees: []graphtest.Attendee{{Address: external}}})
		}
		for j := range size.messages {
			folder := mail.Inbox
			if j%4 == 3 {
				folder = mail.SentItems
			}
			u.AddMessage(graphtest.Message{Folder: folder, Subject: fmt.Sprintf("u%d message %d", i, j), From: external,
				To: []graphtest.Address{graphtest.Of(u)}, Received: base.Add(time.Duration(j) * time.Minute)})
		}
		tok := e.srv.IssueToken(u, chaosClientID, "Calendars.Read", "Mail.Read", "User.Read")
		e.secrets.add("access token", tok)
		// Attempts may take up to two minutes: at the full size under
		// -race, the one HTTP/2 connection all users share carries more
		// than graphtest's 30-second client timeout allows.
		hc := e.srv.HTTPClient()
		hc.Timeout = 2 * time.Minute
		tr := newUserTransport(hc.Transport, uint64(seed)*1000+uint64(i), rateGateway, killRate)
		gc, err := graphclient.New(graphclient.StaticToken(tok), graphclient.WithHTTPClient(wrapClient(hc, tr)),
			graphclient.WithRetry(fastRetry()), graphclient.WithLogger(logger.With("user", i)))
		if err != nil {
			t.Fatal(err)
		}
		e.users = append(e.users, &chaosUser{idx: i, u: u, gc: gc, tr: tr, cal: calendar.New(gc), mail: mail.New(gc),
			start: start, end: end, events: map[string]calendar.Event{}, messages: map[string]map[string]mail.Message{},
			mailCursors: mail.Cursors{}, rng: rand.New(rand.NewPCG(uint64(seed), uint64(i)))})
	}
	return e
}

// startChaos turns on graphtest's random faults for every Graph route.
func (e *chaosEnv) startChaos() {
	e.srv.Chaos(graphtest.ChaosConfig{Seed: e.seed, Throttle: rateThrottle, Unavailable: rateUnavailable,
		Drop: rateDrop, Truncate: rateTruncate, SyncResets: 1, RetryAfter: chaosRetryAfter})
}

// pageKill decides, in the kill suite, whether to kill the sync at this
// page: before storing it (the page is lost and must come again) or after.
func (cu *chaosUser) pageKill(kill bool) (before, after bool) {
	if !kill {
		return false, false
	}
	cu.mu.Lock()
	x := cu.rng.Float64()
	cu.mu.Unlock()
	return x < 0.05, x >= 0.05 && x < 0.10
}

// untilDone runs attempt (one calendar or mail round from the stored
// cursors) to its end, running it again after every kill.
func (cu *chaosUser) untilDone(ctx context.Context, kill bool, errs *errorLog, attempt func(context.Context) error) error {
	for {
		err := attempt(ctx)
		if err == nil {
			return nil
		}
		errs.add(err)
		if kill && errors.Is(err, context.Canceled) && ctx.Err() == nil {
			cu.kills.Add(1)
			continue
		}
		return err
	}
}

// calendarAttempt runs one calendar round from the stored cursor.
func (cu *chaosUser) calendarAttempt(parent context.Context, size chaosSize, kill bool) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	ctx = withKill(ctx, cancel)
	req := calendar.SyncRequest{Cursor: cu.calCursor, PageSize: size.pageSize}
	if req.Cursor == "" {
		req.Start, req.End = cu.start, cu.end
	}
	for p, err := range cu.cal.Sync(ctx, req) {
		if err != nil {
			return err
		}
		before, after := cu.pageKill(kill)
		if before {
			cancel()
			continue // the process died before storing the page
		}
		cu.pages.Add(1)
		if p.Reset {
			cu.resets.Add(1)
			clear(cu.events)
		}
		for _, ev := range p.Events {
			cu.events[ev.ID] = ev
			cu.calDelivered[ev.ID]++
		}
		for _, id := range p.Removed {
			delete(cu.events, id)
			cu.calRemoved[id] = true
		}
		cu.calCursor = p.Cursor
		cu.calDone = p.Done
		if after {
			cancel()
		}
	}
	if cu.calDone {
		return nil
	}
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return errors.New("calendar sync ended before its last page")
}

// mailAttempt runs one round of Inbox and Sent Items from the stored
// cursors.
func (cu *chaosUser) mailAttempt(parent context.Context, size chaosSize, kill bool) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	ctx = withKill(ctx, cancel)
	// SyncMailbox walks the folders one after the other; a folder whose
	// round finished in an earlier attempt is skipped, the others resume.
	var folders []string
	for _, f := range []string{mail.Inbox, mail.SentItems} {
		if !cu.mailDone[f] {
			folders = append(folders, f)
		}
	}
	if len(folders) == 0 {
		return nil
	}
	for p, err := range cu.mail.SyncMailbox(ctx, mail.MailboxRequest{Folders: folders, Cursors: cu.mailCursors, PageSize: size.pageSize}) {
		if err != nil {
			return err
		}
		before, after := cu.pageKill(kill)
		if before {
			cancel()
			continue
		}
		cu.pages.Add(1)
		if p.Reset || cu.messages[p.Folder] == nil {
			if p.Reset {
				cu.resets.Add(1)
			}
			cu.messages[p.Folder] = map[string]mail.Message{}
		}
		for _, m := range p.Messages {
			cu.messages[p.Folder][m.ID] = m
			cu.mailDelivered[m.ID]++
		}
		for _, id := range p.Removed {
			delete(cu.messages[p.Folder], id)
			cu.mailRemoved[id] = true
		}
		cu.mailCursors.Advance(p)
		if p.Done {
			cu.mailDone[p.Folder] = true
		}
		if after {
			cancel()
		}
	}
	if cu.mailDone[mail.Inbox] && cu.mailDone[mail.SentItems] {
		return nil
	}
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return errors.New("mail sync ended before its last page")
}

// noise sends n GET requests next to the syncs, so that more than 4
// requests of a user compete for the client's slots.
func (cu *chaosUser) noise(ctx context.Context, n int) error {
	for range n {
		req, err := cu.gc.NewRequest(ctx, http.MethodGet, "me/mailFolders/inbox", nil)
		if err != nil {
			return err
		}
		if _, err := cu.gc.Do(req, nil); err != nil {
			return err
		}
	}
	return nil
}

// round runs one sync round of every user's calendar and mail
// concurrently (plus, without kills, 4 goroutines of other requests per
// user) and returns the first error.
func (e *chaosEnv) round(ctx context.Context) error {
	var wg sync.WaitGroup
	errc := make(chan error, len(e.users)*6)
	for _, cu := range e.users {
		cu.calDone, cu.mailDone = false, map[string]bool{}
		cu.calDelivered, cu.mailDelivered = map[string]int{}, map[string]int{}
		cu.calRemoved, cu.mailRemoved = map[string]bool{}, map[string]bool{}
		wg.Go(func() {
			if err := cu.untilDone(ctx, e.kill, e.errs, func(ctx context.Context) error { return cu.calendarAttempt(ctx, e.size, e.kill) }); err != nil {
				errc <- fmt.Errorf("user %d calendar: %w", cu.idx, err)
			}
		})
		wg.Go(func() {
			if err := cu.untilDone(ctx, e.kill, e.errs, func(ctx context.Context) error { return cu.mailAttempt(ctx, e.size, e.kill) }); err != nil {
				errc <- fmt.Errorf("user %d mail: %w", cu.idx, err)
			}
		})
		if !e.kill {
			for range 4 {
				wg.Go(func() {
					if err := cu.noise(ctx, 5); err != nil {
						e.errs.add(err)
						errc <- fmt.Errorf("user %d: %w", cu.idx, err)
					}
				})
			}
		}
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// checkState compares every user's stored state with the fake's, and what
// the round delivered with what it had to.
func (e *chaosEnv) checkState(t *testing.T, round string, wantCal, wantMail map[int][]string, gone map[int][]string) {
	t.Helper()
	for _, cu := range e.users {
		want := map[string]string{}
		for _, ev := range cu.u.Events() {
			want[ev.ID] = ev.Subject + "|" + ev.ChangeKey
		}
		got := map[string]string{}
		for id, ev := range cu.events {
			got[id] = ev.Subject + "|" + ev.ChangeKey
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: user %d: stored events differ from the fake's (-fake +stored):\n%s", round, cu.idx, diff)
		}
		for _, folder := range []string{mail.Inbox, mail.SentItems} {
			want := map[string]string{}
			for _, m := range cu.u.Messages(folder) {
				want[m.ID] = fmt.Sprintf("%s|read=%t", m.Subject, m.IsRead)
			}
			got := map[string]string{}
			for id, m := range cu.messages[folder] {
				got[id] = fmt.Sprintf("%s|read=%t", m.Subject, bool(m.IsRead))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: user %d: stored %s differs from the fake's (-fake +stored):\n%s", round, cu.idx, folder, diff)
			}
		}
		for _, id := range wantCal[cu.idx] {
			if cu.calDelivered[id] == 0 {
				t.Errorf("%s: user %d: event %s never delivered", round, cu.idx, id)
			}
		}
		for _, id := range wantMail[cu.idx] {
			if cu.mailDelivered[id] == 0 {
				t.Errorf("%s: user %d: message %s never delivered", round, cu.idx, id)
			}
		}
		for _, id := range gone[cu.idx] {
			if !cu.calRemoved[id] && !cu.mailRemoved[id] && cu.resets.Load() == 0 {
				t.Errorf("%s: user %d: removal of %s never delivered", round, cu.idx, id)
			}
		}
		if m := cu.tr.maxInflight.Load(); m > 4 {
			t.Errorf("%s: user %d had %d requests in flight, want at most 4", round, cu.idx, m)
		}
	}
}

// change makes, in every mailbox, the changes a second round must carry:
// 10% of events and messages updated, 5% deleted, 5% of the inbox moved to
// Sent Items, 5% new of each. It returns the IDs the round must deliver
// and those it must report removed.
func (e *chaosEnv) change(t *testing.T) (wantCal, wantMail, gone map[int][]string) {
	t.Helper()
	wantCal, wantMail, gone = map[int][]string{}, map[int][]string{}, map[int][]string{}
	for _, cu := range e.users {
		i := cu.idx
		for j, ev := range cu.u.Events() {
			switch {
			case j%10 == 0:
				if err := cu.u.UpdateEvent(ev.ID, func(ev *graphtest.Event) { ev.Subject += " (moved)"; ev.Start = ev.Start.Add(15 * time.Minute) }); err != nil {
					t.Fatal(err)
				}
				wantCal[i] = append(wantCal[i], ev.ID)
			case j%20 == 1:
				if err := cu.u.DeleteEvent(ev.ID); err != nil {
					t.Fatal(err)
				}
				gone[i] = append(gone[i], ev.ID)
			}
		}
		for j := range e.size.events / 20 {
			at := base.Add(time.Duration(2*j+1) * 30 * time.Minute)
			ev := cu.u.AddEvent(graphtest.Event{Subject: fmt.Sprintf("u%d new meeting %d", i, j), Start: at, End: at.Add(15 * time.Minute)})
			wantCal[i] = append(wantCal[i], ev.ID)
		}
		for j, m := range cu.u.Messages(mail.Inbox) {
			switch {
			case j%10 == 0:
				if err := cu.u.UpdateMessage(m.ID, func(m *graphtest.Message) { m.Subject = "RE: " + m.Subject; m.IsRead = true }); err != nil {
					t.Fatal(err)
				}
				wantMail[i] = append(wantMail[i], m.ID)
			case j%20 == 1:
				if err := cu.u.DeleteMessage(m.ID); err != nil {
					t.Fatal(err)
				}
				gone[i] = append(gone[i], m.ID)
			case j%20 == 3:
				if err := cu.u.MoveMessage(m.ID, mail.SentItems); err != nil {
					t.Fatal(err)
				}
				wantMail[i] = append(wantMail[i], m.ID) // created in Sent Items
			}
		}
		for j := range e.size.messages / 20 {
			m := cu.u.AddMessage(graphtest.Message{Subject: fmt.Sprintf("u%d new message %d", i, j),
				From: graphtest.Of(cu.u), To: []graphtest.Address{{Address: "ben@fabrikam.com"}}, Received: base.Add(time.Duration(j)*time.Minute + time.Second)})
			wantMail[i] = append(wantMail[i], m.ID)
		}
	}
	return wantCal, wantMail, gone
}

// figures are what a run measured.
type figures struct {
	users, items, pages, requests, kills, resets                int
	throttled, unavailable, gatewayTimeouts, dropped, truncated int
	gone, goneDelivered                                         int
	maxInflight                                                 int64
	firstRound, secondRound                                     time.Duration
}

func (f figures) String() string {
	return fmt.Sprintf("%d users, %d items; round 1 %v, round 2 %v; %d pages stored, %d requests sent; faults: %d x 429, %d x 503, %d x 504, %d dropped, %d truncated, %d x 410 (%d resets seen); %d kills; max %d requests in flight per user",
		f.users, f.items, f.firstRound.Round(time.Millisecond), f.secondRound.Round(time.Millisecond), f.pages, f.requests,
		f.throttled, f.unavailable, f.gatewayTimeouts, f.dropped, f.truncated, f.gone, f.resets, f.kills, f.maxInflight)
}

func (e *chaosEnv) figures() figures {
	f := figures{users: len(e.users), items: len(e.users) * (e.size.events + e.size.messages)}
	for _, r := range e.srv.Requests() {
		if r.Host != graphtest.GraphHost {
			continue
		}
		switch r.Status {
		case http.StatusTooManyRequests:
			f.throttled++
		case http.StatusServiceUnavailable:
			f.unavailable++
		case http.StatusGone:
			f.gone++
		case 0:
			f.dropped++
		}
	}
	for _, cu := range e.users {
		f.pages += int(cu.pages.Load())
		f.kills += int(cu.kills.Load())
		f.resets += int(cu.resets.Load())
		f.requests += int(cu.tr.requests.Load())
		f.gatewayTimeouts += int(cu.tr.timeouts.Load())
		f.truncated += int(cu.tr.bodyErrs.Load())
		f.goneDelivered += int(cu.tr.gone.Load())
		f.maxInflight = max(f.maxInflight, cu.tr.maxInflight.Load())
	}
	return f
}

// runChaos is the whole suite: a first full round under chaos, changes, a
// second incremental round from the stored cursors, then the checks.
func runChaos(t *testing.T, kill bool) figures {
	size, seed := sizeFromEnv(), seedFromEnv(t)
	t.Logf("seed %d (M365KIT_CHAOS_SEED), size %+v", seed, size)
	e := newChaosEnv(t, size, seed, kill)
	ctx := t.Context()
	e.startChaos()

	t0 := time.Now()
	if err := e.round(ctx); err != nil {
		t.Fatalf("first round (seed %d): %v", seed, err)
	}
	first := time.Since(t0)
	f1 := e.figures()
	f1.firstRound = first
	t.Logf("first round: %v", f1)
	all := map[int][]string{}
	allMail := map[int][]string{}
	for _, cu := range e.users {
		for _, ev := range cu.u.Events() {
			all[cu.idx] = append(all[cu.idx], ev.ID)
		}
		for _, f := range []string{mail.Inbox, mail.SentItems} {
			for _, m := range cu.u.Messages(f) {
				allMail[cu.idx] = append(allMail[cu.idx], m.ID)
			}
		}
		if len(all[cu.idx]) != size.events || len(allMail[cu.idx]) != size.messages {
			t.Fatalf("user %d: the fake holds %d events and %d messages, want %d and %d", cu.idx, len(all[cu.idx]), len(allMail[cu.idx]), size.events, size.messages)
		}
	}
	e.checkState(t, "first round", all, allMail, nil)
	if t.Failed() {
		t.FailNow()
	}

	wantCal, wantMail, gone := e.change(t)
	t0 = time.Now()
	if err := e.round(ctx); err != nil {
		t.Fatalf("second round (seed %d): %v", seed, err)
	}
	second := time.Since(t0)
	e.checkState(t, "second round", wantCal, wantMail, gone)

	f := e.figures()
	f.firstRound, f.secondRound = first, second
	// The fake answers one 410 per run. It reaches a sync unless the
	// client's own attempt timeout or a kill cut that request short, and
	// every 410 a live sync received must show as one Reset page.
	switch {
	case f.gone != 1:
		t.Errorf("%d 410 answers, want the one sync reset of the run", f.gone)
	case f.resets > 1 || (!kill && f.resets != f.goneDelivered):
		t.Errorf("%d Reset pages for %d 410 answers handed to a live sync, want one each", f.resets, f.goneDelivered)
	case f.resets == 0:
		t.Logf("the run's 410 never reached a sync (an attempt timeout or a kill cut it short): reset handling went untested this run")
	}
	if f.throttled == 0 || f.unavailable == 0 || f.gatewayTimeouts == 0 || f.dropped == 0 || f.truncated == 0 {
		t.Errorf("some kind of fault never struck: %v", f)
	}
	if kill && f.kills == 0 {
		t.Error("no sync was killed")
	}

	// Token safety: the bearer token went to Graph only, and no log
	// record or error string holds it.
	e.srv.ClearFaults()
	if n := checkAuthorizationHosts(t, e.srv.Requests()); n == 0 {
		t.Error("no request carried an Authorization header: the check proves nothing")
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "graphclient: retrying") {
		t.Error("the debug log holds no retry record: the leak check proves nothing")
	}
	e.secrets.checkNoLeaks(t, "graphclient debug log", logs)
	e.secrets.checkNoLeaks(t, "error strings", e.errs.String())
	return f
}

// TestChaosSync: 20 users sync calendar and mail concurrently, twice
// (a full round, changes, an incremental round), while every Graph route
// fails at random.
func TestChaosSync(t *testing.T) {
	t.Parallel()
	f := runChaos(t, false)
	t.Logf("chaos sync: %v", f)
}

// TestChaosKillAndResume: the same, with syncs killed at random pages and
// requests (the context cancelled) and restarted from the stored cursors.
func TestChaosKillAndResume(t *testing.T) {
	t.Parallel()
	f := runChaos(t, true)
	t.Logf("chaos kill and resume: %v", f)
}
