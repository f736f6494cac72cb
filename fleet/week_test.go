package fleet

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/notify"
)

// A simulated week of subscriptions, with lifetimes scaled down.
//
// Why scaled lifetimes and not the fake's clock: fleet, notify and River
// read time.Now (the SDK has no clock to inject, by design), so moving
// only graphtest's clock (WithClock) would put the fake and fleet on two
// different times: fleet would ask for expirations the fake judges past
// or too far, and renew on a clock the fake does not share; the test
// would prove arithmetic between two clocks, not that fleet keeps real
// subscriptions alive. testing/synctest cannot hold the loopback TLS
// webhook, PostgreSQL's socket or River's pollers either. So both sides
// run on the wall clock, and the durations that set the cost are scaled
// from production's so that a simulated day (weekDay of real time) sees
// as many renewals and sweeps per account as a real one: the period
// between renewals (lifetime less RenewBefore), which also sets the
// fake's enforced maximum, and the sweep's age. RenewBefore itself is
// not scaled: it is the time a due renewal has to finish in, which
// changes nothing in the count, and a loaded test machine needs seconds
// of it. The lifetime stays well under the week, so a subscription left
// unrenewed would expire during it.
const (
	// prodLifetime is the lifetime fleet asks for in production:
	// Outlook's 4,230 minutes less notify's 15-minute margin.
	prodLifetime = 4230*time.Minute - weekMargin
	// weekMargin is notify's margin under the maximum lifetime (not
	// configurable through fleet): fleet asks for SubscriptionLifetime
	// less it, in real time.
	weekMargin = 15 * time.Minute
	// weekRenewBefore is the test's RenewBefore: the time a due renewal
	// has to complete before the subscription expires.
	weekRenewBefore = 8 * time.Second
	// weekSweepInterval is how often the leader looks for renewals and
	// sweeps: fleet's shortest (production: 10 minutes). A due renewal
	// or sweep waits for the next look, up to 10 minutes in production
	// and a whole simulated day here: weekLifetime and weekSweepAfter
	// allow for it.
	weekSweepInterval = time.Second
)

// weekDay is the real time of one simulated day: two seconds (a
// 14-second week, long enough for the lifetime's 8-second renewal budget
// to expire more than once within it), 10 seconds with
// M365KIT_FLEET_FULL=1. The leader looks once a second, so renewals and
// sweeps fall on whole seconds: a 2-second day proves the properties and
// gives the sweep's cost exactly but rounds the renewal period (1.93
// days) to whole seconds; the 10-second day measures it to a few percent.
func weekDay() time.Duration {
	if os.Getenv("M365KIT_FLEET_FULL") != "" {
		return 10 * time.Second
	}
	return 2 * time.Second
}

// weekIdle is how many idle accounts the week measures.
func weekIdle() int {
	if os.Getenv("M365KIT_FLEET_FULL") != "" {
		return 10
	}
	return 2
}

// weekScaled converts a production duration to test time.
func weekScaled(d, day time.Duration) time.Duration {
	return time.Duration(float64(d) * float64(day) / float64(24*time.Hour))
}

// weekLifetime is the lifetime the fake enforces and fleet asks for
// (plus notify's margin): the renewal margin plus the scaled production
// period between renewals (lifetime less RenewBefore: 46 h 15 min). Two
// half seconds cancel out: notify truncates expirations to whole seconds
// (0.5 s shorter on average) and a due renewal waits for the leader's
// look (0.5 s on average), so the period averages production's.
func weekLifetime(day time.Duration) time.Duration {
	return weekRenewBefore + weekScaled(prodLifetime-DefaultRenewBefore, day)
}

// weekSweepAfter is the sweep's age. The leader's looks are a second
// apart and a resource's sync follows a look, so the next look that
// finds it older than day less 0.9 s is one day later, as long as the
// sync took less than 0.9 s: the period is one simulated day, as in
// production (24 hours and at most one 10-minute interval).
func weekSweepAfter(day time.Duration) time.Duration { return day - weekSweepInterval*9/10 }

// TestSubscriptionWeek runs the week on SQLite and on PostgreSQL side by
// side, but not beside the package's other tests (it does not call
// t.Parallel): its renewals have seconds, not hours, to complete, and
// twenty tests under -race on two cores can stall a SQLite worker for
// longer than that.
func TestSubscriptionWeek(t *testing.T) {
	for _, postgres := range []bool{false, true} {
		t.Run(dbName(postgres), func(t *testing.T) {
			t.Parallel()
			testSubscriptionWeek(t, postgres)
		})
	}
}

// weekEnv is an env whose webhook can lose a notification and whose
// subscription creations can be held.
type weekEnv struct {
	*env
	hook *lossyHook
	hold *gate // holds subscription creations (POST /subscriptions)
}

// newWeekEnv builds an env with the week's scaled durations, its webhook
// served over loopback TLS and reached by the fake's real deliveries.
func newWeekEnv(t *testing.T, postgres bool, day time.Duration) *weekEnv {
	t.Helper()
	we := &weekEnv{hook: &lossyHook{}}
	ts := httptest.NewTLSServer(we.hook)
	t.Cleanup(ts.Close)
	life := weekLifetime(day)
	we.env = newEnv(t, postgres, func(c *Config) {
		c.NotificationURL = ts.URL + "/graph/notify"
		c.SubscriptionLifetime = map[notify.Kind]time.Duration{notify.KindEvents: weekMargin + life, notify.KindMessages: weekMargin + life}
		c.RenewBefore = weekRenewBefore
		c.SweepAfter = weekSweepAfter(day)
		c.SweepInterval = weekSweepInterval
		hc := *c.HTTPClient
		we.hold = &gate{base: hc.Transport, match: func(req *http.Request) bool {
			return req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/subscriptions")
		}}
		hc.Transport = we.hold
		c.HTTPClient = &hc
	})
	// The fake refuses expirations beyond the scaled lifetime, as Graph
	// refuses those beyond its maximum. (An Option applied before any
	// subscription exists.)
	graphtest.WithSubscriptionLifetime(graphtest.EventSubscriptions, life)(we.srv)
	graphtest.WithSubscriptionLifetime(graphtest.MessageSubscriptions, life)(we.srv)
	we.srv.SetNotificationClient(ts.Client())
	h := we.f.Handler()
	we.hook.h.Store(&h)
	return we
}

// lossyHook serves the fleet's Handler and can acknowledge one change
// notification without passing it on: a notification lost between Graph
// and the app, which Graph's "missed" lifecycle event reports.
type lossyHook struct {
	h atomic.Pointer[http.Handler]

	mu        sync.Mutex
	lose      string // subscription ID whose next change notification is lost
	lost      int
	forwarded atomic.Int64
}

func (l *lossyHook) loseNext(subscriptionID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lose = subscriptionID
}

func (l *lossyHook) lostCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

func (l *lossyHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := l.h.Load()
	if p == nil {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	if r.URL.Query().Get("validationToken") == "" {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		l.mu.Lock()
		drop := l.lose != "" && bytes.Contains(body, []byte(`"subscriptionId":"`+l.lose+`"`)) && !bytes.Contains(body, []byte(`"lifecycleEvent"`))
		if drop {
			l.lose = ""
			l.lost++
		}
		l.mu.Unlock()
		if drop {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		l.forwarded.Add(1)
	}
	(*p).ServeHTTP(w, r)
}

// expiryWatch samples the fake's subscriptions of connected accounts
// throughout the week: none may ever be expired.
type expiryWatch struct {
	srv *graphtest.Server

	mu        sync.Mutex
	connected map[string]bool // fake user IDs of connected accounts
	expired   map[string]time.Duration
	closest   time.Duration // least time left seen on a subscription
	closestAt string        // which, and when
	samples   int
}

func (w *expiryWatch) setConnected(userID string, on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.connected[userID] = on
}

func (w *expiryWatch) sample() {
	subs := w.srv.Subscriptions()
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.samples++
	for _, s := range subs {
		if !w.connected[s.UserID] {
			continue
		}
		left := s.Expiration.Sub(now)
		if left <= 0 {
			if _, seen := w.expired[s.ID]; !seen {
				w.expired[s.ID] = -left
			}
			continue
		}
		if w.closest == 0 || left < w.closest {
			w.closest = left
			w.closestAt = fmt.Sprintf("%s of %s at %s", s.Resource, s.UserID, now.Format("15:04:05.000"))
		}
	}
}

// run samples every 10 ms until stop is closed.
func (w *expiryWatch) run(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tk := time.NewTicker(10 * time.Millisecond)
	defer tk.Stop()
	for {
		w.sample()
		select {
		case <-stop:
			return
		case <-tk.C:
		}
	}
}

// requestCount returns an account's resource's sync request counter: only
// notifications, lifecycle events, Connect, RequestSync and the
// subscription job's resync bump it (the sweep does not).
func (e *env) requestCount(t *testing.T, id, resource string) int64 {
	t.Helper()
	var n int64
	err := e.db.queryRow(t.Context(), `SELECT requested FROM fleet_requests WHERE account_id = $1 AND resource = $2`, id, resource).Scan(&n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	return n
}

// jobCount counts an account's River jobs of a kind ("" for any) in the given
// states, whose args.reason is reason ("" for any).
func (e *env) jobCount(t *testing.T, account, kind, reason string, states ...string) int {
	t.Helper()
	arg := func(k string) string { return "json_extract(args, '$." + k + "')" }
	if e.db.sqlite == nil {
		arg = func(k string) string { return "args->>'" + k + "'" }
	}
	q := `SELECT COUNT(*) FROM river_job WHERE ` + arg("account") + ` = $1 AND ($2 = '' OR kind = $2) AND ($3 = '' OR ` + arg("reason") + ` = $3)
		AND state IN ('` + strings.Join(states, "', '") + `')`
	var n int
	if err := e.db.queryRow(t.Context(), q, account, kind, reason).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var weekActiveStates = []string{"available", "scheduled", "retryable", "running", "pending"}

// weekAccount is a connected account of the week.
type weekAccount struct {
	user    *graphtest.User
	account Account
	folders map[string]string // fake folder name by fleet folder name
}

func (a *weekAccount) resources() map[string]string {
	out := map[string]string{resCalendar: notify.Events().Resource}
	for folder := range a.folders {
		out[mailResource(folder)] = notify.MailFolder(folder).Resource
	}
	return out
}

// testSubscriptionWeek runs a simulated week of a few connected accounts
// (calendar and mail folders) whose subscriptions fleet keeps alive
// through its periodic renewal, with changes arriving throughout and
// lifecycle events on the way: no subscription ever expires at the fake
// and no change goes unnotified; subscriptionRemoved is followed by a
// new subscription and a resync that finds the change made while there
// was none; reauthorizationRequired by a renewal; missed by a resync; a
// disconnected account's subscriptions are deleted and never renewed.
// It reports what the subscriptions and the sweep cost an idle account
// per simulated day, in Graph requests.
func testSubscriptionWeek(t *testing.T, postgres bool) {
	day := weekDay()
	const days = 7
	we := newWeekEnv(t, postgres, day)
	e := we.env
	ctx := t.Context()
	e.start(t)

	// Accounts: two active ones (calendar and two folders; calendar and
	// inbox), one disconnected mid-week, and idle ones measured.
	tenant := e.demo.Tenant
	megan := tenant.AddUser("megan@contoso.com", "Megan Bowen")
	mk := func(u *graphtest.User, folders ...string) *weekAccount {
		a := &weekAccount{user: u, folders: map[string]string{}}
		a.account = Account{ID: e.signIn(t, u), Features: both, MailFolders: folders}
		for _, f := range folders {
			a.folders[f] = strings.ToLower(f)
		}
		if len(folders) == 0 {
			a.folders["Inbox"] = "inbox"
		}
		return a
	}
	adele := mk(e.demo.Adele, "Inbox", "SentItems")
	alex := mk(e.demo.Alex)
	meg := mk(megan)
	idle := []*weekAccount{mk(e.demo.Diego)}
	for i := 1; len(idle) < weekIdle(); i++ {
		u := tenant.AddUser(fmt.Sprintf("idle%02d@contoso.com", i), fmt.Sprintf("Idle User %d", i))
		idle = append(idle, mk(u))
	}
	all := append([]*weekAccount{adele, alex, meg}, idle...)
	watch := &expiryWatch{srv: e.srv, connected: map[string]bool{}, expired: map[string]time.Duration{}}
	for _, a := range all {
		e.connect(t, a.account)
		watch.setConnected(a.user.ID, true)
	}
	for _, a := range all {
		waitFor(t, a.user.UserPrincipalName+" subscribed and synced", func() bool {
			return e.registered(t, a.account.ID) == len(a.resources()) && e.status(t, a.account.ID) == StatusConnected
		})
	}
	waitFor(t, "idle", func() bool { return e.idle(t) && e.subscribeIdle(t) })
	startSubs := map[string]graphtest.Subscription{} // the idle accounts' subscriptions, by resource of each user
	for _, a := range idle {
		live := liveSubscriptions(e.srv, a.user)
		for res, graphRes := range a.resources() {
			s, ok := live[graphRes]
			if !ok {
				t.Fatalf("%s: no live subscription on %s (%s)", a.user.UserPrincipalName, graphRes, res)
			}
			startSubs[a.user.ID+" "+graphRes] = s
		}
	}

	stop, stopped := make(chan struct{}), make(chan struct{})
	go watch.run(stop, stopped)
	stopWatch := sync.OnceFunc(func() { close(stop); <-stopped })
	defer stopWatch()

	// notified makes a change and checks that the fake notified it at
	// once, through the user's live subscription of graphRes, delivered
	// on the first attempt: had the subscription expired, the fake would
	// have skipped it.
	changes := 0
	notified := func(a *weekAccount, graphRes string, change func()) {
		t.Helper()
		sub, ok := liveSubscriptions(e.srv, a.user)[graphRes]
		if !ok {
			t.Errorf("%s: no live subscription on %s when a change came", a.user.UserPrincipalName, graphRes)
		}
		before := len(e.srv.Deliveries())
		change()
		changes++
		found := false
		for _, d := range e.srv.Deliveries()[before:] {
			if d.Kind == "notification" && d.SubscriptionID == sub.ID {
				found = true
				if !d.Delivered || d.Attempt != 1 {
					t.Errorf("%s: notification on %s not delivered at once: %+v", a.user.UserPrincipalName, graphRes, d)
				}
			}
		}
		if !found {
			t.Errorf("%s: a change on %s was not notified (subscription %s expired or gone?)", a.user.UserPrincipalName, graphRes, sub.ID)
		}
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	var evs []string // events the week added, some updated or deleted later
	// tick makes the week's i-th ordinary change, on an active account.
	tick := func(i int, disconnected bool) {
		t.Helper()
		who := adele
		if i%2 == 1 {
			who = alex
		}
		switch i % 8 {
		case 3:
			who = adele // her SentItems
		case 4:
			who = alex // his calendar
		}
		if i%5 == 4 && !disconnected {
			who = meg
		}
		switch i % 4 {
		case 0:
			notified(who, notify.Events().Resource, func() {
				ev := who.user.AddEvent(graphtest.Event{Subject: fmt.Sprintf("Week meeting %d", i), Start: today.Add(time.Duration(26+i%48) * time.Hour), End: today.Add(time.Duration(27+i%48) * time.Hour)})
				if who != meg {
					evs = append(evs, who.account.ID+" "+ev.ID)
				}
			})
		case 1, 3:
			folder := "Inbox"
			if who == adele && i%8 == 3 {
				folder = "SentItems"
			}
			notified(who, notify.MailFolder(folder).Resource, func() {
				who.user.AddMessage(graphtest.Message{Subject: fmt.Sprintf("Week mail %d", i), Folder: who.folders[folder]})
			})
		case 2:
			// Update the latest event of an active account, or delete it
			// every other time.
			if len(evs) == 0 {
				break
			}
			j := len(evs) - 1
			acc, id, _ := strings.Cut(evs[j], " ")
			a := adele
			if acc == alex.account.ID {
				a = alex
			}
			if i%8 == 6 {
				notified(a, notify.Events().Resource, func() {
					if err := a.user.DeleteEvent(id); err != nil {
						t.Fatal(err)
					}
				})
				evs = slices.Delete(evs, j, j+1)
			} else {
				notified(a, notify.Events().Resource, func() {
					if err := a.user.UpdateEvent(id, func(x *graphtest.Event) { x.Subject += " (moved)" }); err != nil {
						t.Fatal(err)
					}
				})
			}
		}
	}

	// The scenarios, one a day from day 1.
	var meganGone time.Time
	scenarios := []func(){
		// Day 1: Graph removes Adele's calendar subscription. fleet
		// recreates it (its creation held here), and a change made while
		// there was none reaches the sink through the resync that
		// follows the new subscription.
		func() {
			old := liveSubscriptions(e.srv, adele.user)[notify.Events().Resource]
			entered, release := we.hold.arm()
			defer release()
			if err := e.srv.SendLifecycle(old.ID, notify.SubscriptionRemoved); err != nil {
				t.Fatal(err)
			}
			select {
			case <-entered:
			case <-time.After(time.Minute):
				t.Fatal("no new subscription was requested after subscriptionRemoved")
			}
			// The webhook's own resync runs first; wait for it, so only
			// the one after the new subscription can find the change.
			waitFor(t, "the webhook's resync", func() bool {
				return e.jobCount(t, adele.account.ID, "fleet.calendar_sync", "", weekActiveStates...) == 0
			})
			before := len(e.srv.Deliveries())
			ev := adele.user.AddEvent(graphtest.Event{Subject: "Booked while unsubscribed", Start: today.Add(50 * time.Hour), End: today.Add(51 * time.Hour)})
			evs = append(evs, adele.account.ID+" "+ev.ID)
			for _, d := range e.srv.Deliveries()[before:] {
				if d.Kind == "notification" {
					t.Errorf("a change was notified while the calendar had no subscription: %+v", d)
				}
			}
			mid := e.requestCount(t, adele.account.ID, resCalendar)
			release()
			waitFor(t, "a new calendar subscription", func() bool {
				s, ok := liveSubscriptions(e.srv, adele.user)[notify.Events().Resource]
				return ok && s.ID != old.ID && e.registered(t, adele.account.ID) == len(adele.resources())
			})
			waitFor(t, "the resync after the new subscription", func() bool { return e.requestCount(t, adele.account.ID, resCalendar) > mid })
			waitFor(t, "the change made while unsubscribed stored", func() bool {
				return slices.Contains(e.storedEvents(t, adele.account.ID), ev.ID)
			})
		},
		// Day 2: reauthorizationRequired on Alex's inbox: renewed (not
		// recreated) by the job the webhook queued, and notifications
		// flow again.
		func() {
			res := notify.MailFolder("Inbox").Resource
			sub := liveSubscriptions(e.srv, alex.user)[res]
			if time.Until(sub.Expiration) < weekRenewBefore+day/2 {
				// Due for the periodic renewal soon: let it pass first,
				// so the renewal below is the lifecycle event's.
				waitFor(t, "the periodic renewal", func() bool {
					s := liveSubscriptions(e.srv, alex.user)[res]
					return s.Renewed > sub.Renewed && e.subscribeIdle(t)
				})
				sub = liveSubscriptions(e.srv, alex.user)[res]
			}
			// No renewal of it runs now (the event's job would be
			// skipped as its duplicate, the renewal then served by that
			// job's follow-up), and none is due.
			waitFor(t, "no subscription job of Alex", func() bool {
				return e.jobCount(t, alex.account.ID, "fleet.subscribe", "", weekActiveStates...) == 0
			})
			if err := e.srv.SendLifecycle(sub.ID, notify.ReauthorizationRequired); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the inbox subscription renewed", func() bool {
				s, ok := liveSubscriptions(e.srv, alex.user)[res]
				return ok && s.ID == sub.ID && !s.NeedsReauthorization && s.Renewed > sub.Renewed
			})
			waitFor(t, "the reauthorization job done", func() bool {
				return e.jobCount(t, alex.account.ID, "fleet.subscribe", notify.ReauthorizationRequired, "completed") == 1
			})
			notified(alex, res, func() { alex.user.AddMessage(graphtest.Message{Subject: "After reauthorization", Folder: "inbox"}) })
		},
		// Day 3: a notification of Adele's inbox is lost on the way;
		// Graph's "missed" event makes fleet resync, which finds it.
		func() {
			res := notify.MailFolder("Inbox").Resource
			sub := liveSubscriptions(e.srv, adele.user)[res]
			before := e.requestCount(t, adele.account.ID, mailResource("Inbox"))
			we.hook.loseNext(sub.ID)
			var msg graphtest.Message
			notified(adele, res, func() { msg = adele.user.AddMessage(graphtest.Message{Subject: "Lost on the way", Folder: "inbox"}) })
			if we.hook.lostCount() != 1 {
				t.Fatalf("the webhook lost %d notifications, want 1", we.hook.lostCount())
			}
			if got := e.requestCount(t, adele.account.ID, mailResource("Inbox")); got != before {
				t.Fatalf("a lost notification bumped the request counter (%d -> %d)", before, got)
			}
			if err := e.srv.SendLifecycle(sub.ID, notify.Missed); err != nil {
				t.Fatal(err)
			}
			if got := e.requestCount(t, adele.account.ID, mailResource("Inbox")); got != before+1 {
				t.Errorf("missed: request counter %d -> %d, want one resync requested before the webhook answered", before, got)
			}
			waitFor(t, "the lost message stored", func() bool {
				return slices.Contains(e.storedMessages(t, adele.account.ID, "Inbox"), msg.ID)
			})
		},
		// Day 4: Megan disconnects: her subscriptions are deleted at
		// Graph and nothing of hers is requested again.
		func() {
			if err := e.f.Disconnect(ctx, meg.account.ID); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "Megan's subscriptions deleted at Graph", func() bool {
				for _, s := range e.srv.Subscriptions() {
					if s.UserID == meg.user.ID {
						return false
					}
				}
				return e.jobCount(t, meg.account.ID, "", "", weekActiveStates...) == 0
			})
			watch.setConnected(meg.user.ID, false)
			meganGone = time.Now()
			before := len(e.srv.Deliveries())
			meg.user.AddEvent(graphtest.Event{Subject: "After disconnecting", Start: today.Add(30 * time.Hour), End: today.Add(31 * time.Hour)})
			if n := len(e.srv.Deliveries()) - before; n != 0 {
				t.Errorf("%d deliveries for a disconnected account's change", n)
			}
		},
	}

	// The week: a change every quarter of a day, a scenario a day.
	t0 := time.Now()
	reqs0 := len(e.srv.Requests())
	quarter := day / 4
	for i := 0; ; i++ {
		if at := t0.Add(time.Duration(i) * quarter); time.Now().Before(at) {
			time.Sleep(time.Until(at)) // pacing, not an assertion
		}
		if time.Since(t0) >= days*day && i >= 4*(len(scenarios)+1) {
			break
		}
		if i%4 == 2 && i/4 >= 1 && i/4 <= len(scenarios) {
			scenarios[i/4-1]()
			continue
		}
		tick(i, !meganGone.IsZero())
		if t.Failed() {
			t.FailNow()
		}
	}
	elapsed := time.Since(t0)
	stopWatch()
	simDays := float64(elapsed) / float64(day)

	// Nothing expired at the fake, ever, for a connected account.
	watch.mu.Lock()
	expired, closest, closestAt, samples := watch.expired, watch.closest, watch.closestAt, watch.samples
	watch.mu.Unlock()
	for id, late := range expired {
		t.Errorf("subscription %s of a connected account expired (seen %v late)", id, late)
	}
	for _, s := range e.srv.Subscriptions() {
		if !s.Expiration.After(time.Now()) {
			t.Errorf("the fake holds an expired subscription: %+v", s)
		}
		if s.UserID == meg.user.ID {
			t.Errorf("a disconnected account's subscription is left: %+v", s)
		}
	}
	// Every connected resource has its one live subscription; the idle
	// accounts' are the ones created at the start, renewed all week.
	minRenewed := -1
	for _, a := range all {
		if a == meg {
			continue
		}
		live := liveSubscriptions(e.srv, a.user)
		for _, graphRes := range a.resources() {
			if _, ok := live[graphRes]; !ok {
				t.Errorf("%s: no live subscription on %s at the end of the week", a.user.UserPrincipalName, graphRes)
			}
		}
	}
	for key, s0 := range startSubs {
		userID, graphRes, _ := strings.Cut(key, " ")
		var cur graphtest.Subscription
		for _, s := range e.srv.Subscriptions() {
			if s.UserID == userID && s.Resource == graphRes {
				cur = s
			}
		}
		if cur.ID != s0.ID {
			t.Errorf("idle %s %s: subscription %s replaced by %q; renewals should have kept it", userID, graphRes, s0.ID, cur.ID)
		}
		// The week outlived the subscription's first expiration: without
		// its renewals it would have expired.
		if !s0.Expiration.Before(t0.Add(elapsed)) {
			t.Errorf("idle %s %s: first expiration %v is after the week's end: the week proves nothing", userID, graphRes, s0.Expiration)
		}
		if minRenewed < 0 || cur.Renewed < minRenewed {
			minRenewed = cur.Renewed
		}
	}
	// A week is 3.6 renewal periods of 46.25 hours; alive with the same
	// ID after more than a lifetime means renewed at least once.
	if minRenewed < 1 {
		t.Errorf("an idle subscription was renewed %d times in %.1f simulated days", minRenewed, simDays)
	}
	// Every notification went out on the first attempt: none dropped,
	// none retried.
	notifications := 0
	for _, d := range e.srv.Deliveries() {
		if d.Kind == "validation" {
			continue
		}
		notifications++
		if !d.Delivered || d.Attempt != 1 || d.Dropped {
			t.Errorf("delivery %+v: want delivered on the first attempt", d)
		}
	}
	// Nothing of Megan's after her disconnection: no renewal, no sync,
	// no token.
	for _, r := range e.srv.Requests() {
		if r.UserID == meg.user.ID && r.Time.After(meganGone) {
			t.Errorf("a request for the disconnected account: %s %s at %v", r.Method, r.Path, r.Time)
		}
	}
	// Every change reached the sink: stored equals the fake.
	for _, a := range all {
		if a == meg {
			continue
		}
		waitFor(t, a.user.UserPrincipalName+" in sync", func() bool {
			if !slices.Equal(e.fakeEvents(t, a.account.ID, a.account), e.storedEvents(t, a.account.ID)) {
				return false
			}
			for folder, fake := range a.folders {
				if !slices.Equal(fakeMessages(a.user, fake), e.storedMessages(t, a.account.ID, folder)) {
					return false
				}
			}
			return true
		})
		if diff := cmp.Diff(e.fakeEvents(t, a.account.ID, a.account), e.storedEvents(t, a.account.ID)); diff != "" {
			t.Errorf("%s: (-fake +stored):\n%s", a.user.UserPrincipalName, diff)
		}
	}

	// The cost of a week, from the fake's request log: Graph requests
	// of the idle accounts (renewals, sweeps), and renewals of all. A
	// week holds 3 or 4 renewals of a subscription depending on where
	// the window falls, so besides the count in the window, each kind of
	// request's steady rate is measured from its first to its last
	// occurrence ((n-1) / time between them), per subscription and per
	// synced resource.
	end := t0.Add(elapsed)
	type cost struct{ renew, subs, other int }
	type series struct {
		n           int
		first, last time.Time
	}
	costs := map[string]*cost{}
	for _, a := range all {
		costs[a.user.ID] = &cost{}
	}
	isIdle := map[string]bool{}
	for _, a := range idle {
		isIdle[a.user.ID] = true
	}
	rates := map[string]*series{} // by user, method and path (a subscription, a resource's delta)
	for _, r := range e.srv.Requests()[reqs0:] {
		c := costs[r.UserID]
		if c == nil || r.Host != graphtest.GraphHost || r.Time.Before(t0) || r.Time.After(end) {
			continue
		}
		switch {
		case r.Method == http.MethodPatch && strings.HasPrefix(r.Path, "/v1.0/subscriptions/"):
			c.renew++
		case strings.HasPrefix(r.Path, "/v1.0/subscriptions"):
			c.subs++
		default:
			c.other++
		}
		if isIdle[r.UserID] {
			k := r.UserID + " " + r.Method + " " + r.Path
			sr := rates[k]
			if sr == nil {
				sr = &series{first: r.Time}
				rates[k] = sr
			}
			sr.n++
			sr.last = r.Time
		}
	}
	var idleTotal, idleRenew, idleOther, idleSubs int
	for _, a := range idle {
		c := costs[a.user.ID]
		idleTotal += c.renew + c.subs + c.other
		idleRenew += c.renew
		idleSubs += c.subs
		idleOther += c.other
	}
	n := float64(len(idle))
	perDay := float64(idleTotal) / n / simDays
	var steadyRenew, steadySync float64
	for k, sr := range rates {
		rate := float64(sr.n) / simDays
		if sr.n > 1 {
			rate = float64(sr.n-1) / (float64(sr.last.Sub(sr.first)) / float64(day))
		}
		if strings.Contains(k, " PATCH /v1.0/subscriptions/") {
			steadyRenew += rate / n
		} else {
			steadySync += rate / n
		}
	}
	var activeRenew int
	for _, a := range []*weekAccount{adele, alex} {
		activeRenew += costs[a.user.ID].renew
	}
	t.Logf("%s: %.1f simulated days in %v (day = %v, lifetime %v, renewed %v before expiry, sweep after %v, leader looks every %v), %d idle accounts",
		dbName(postgres), simDays, elapsed.Round(time.Millisecond), day, weekLifetime(day), weekRenewBefore, weekSweepAfter(day), weekSweepInterval, len(idle))
	t.Logf("%d changes and %d lifecycle events, %d notifications delivered on the first attempt, none expired (%d samples of the fake, closest %v before expiry: %s)",
		changes, 3, notifications, samples, closest.Round(time.Millisecond), closestAt)
	t.Logf("idle account (calendar and inbox), Graph requests per simulated day: in the week %.2f = %.2f renewals + %.2f other subscription requests + %.2f syncs (sweep); steady rate %.2f = %.2f renewals + %.2f syncs; target < 5",
		perDay, float64(idleRenew)/n/simDays, float64(idleSubs)/n/simDays, float64(idleOther)/n/simDays, steadyRenew+steadySync, steadyRenew, steadySync)
	t.Logf("renewals per simulated day in the week: %.2f per idle account, %.2f per active account (Adele 3 subscriptions, Alex 2); each idle subscription renewed at least %d times",
		float64(idleRenew)/n/simDays, float64(activeRenew)/2/simDays, minRenewed)
	if perDay >= 5 || steadyRenew+steadySync >= 5 {
		t.Errorf("an idle account cost %.2f Graph requests per simulated day (steady rate %.2f), want fewer than 5", perDay, steadyRenew+steadySync)
	}
}

// A SweepInterval under a second is refused: each look queries the
// accounts, cursors and subscriptions, and more than one a second only
// loads the database.
func TestSweepIntervalUnderASecond(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, nil)
	_, err := New(Config{DB: e.db, App: e.app, Sink: e.sink, SweepInterval: 200 * time.Millisecond})
	var fe *Error
	if !errors.As(err, &fe) || fe.Input != "Config.SweepInterval" || !errors.Is(err, graphclient.ErrInvalidInput) {
		t.Errorf("New with SweepInterval 200ms: %v, want an invalid-input error naming Config.SweepInterval", err)
	}
	if _, err := New(Config{DB: e.db, App: e.app, Sink: e.sink, SweepInterval: time.Second}); err != nil {
		t.Errorf("New with SweepInterval 1s: %v", err)
	}
}
