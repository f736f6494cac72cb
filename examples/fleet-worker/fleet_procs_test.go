package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/fleet"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/internal/pgtest"
)

// EnvFleetFull makes TestManyWorkerProcesses run at full size.
const EnvFleetFull = "M365KIT_FLEET_FULL"

// TestManyWorkerProcesses runs worker processes against one PostgreSQL
// database and one fake Microsoft 365 process, with faults, SIGKILLs and
// changes throughout, and checks the end state against the fake's, the
// order pages were applied in, and from the fake's request log that no
// account had two syncs of a resource in flight at once or more than 4
// concurrent Graph requests. A revoked account and one whose tenant
// withdrew consent are parked after one attempt. Bounded by default;
// M365KIT_FLEET_FULL=1 runs the full size (500 accounts in 20 tenants,
// ten kills).
func TestManyWorkerProcesses(t *testing.T) {
	t.Parallel()
	size := struct {
		users, tenants, workers, kills int
		run                            time.Duration
	}{60, 6, 3, 3, 15 * time.Second}
	if os.Getenv(EnvFleetFull) == "1" {
		size.users, size.tenants, size.kills, size.run = 500, 20, 10, 60*time.Second
	}
	began := time.Now()
	ctx := t.Context()
	lb := newBalancer(t) // Graph's notifications reach the workers through it
	fake := startFake(t, "-users", strconv.Itoa(size.users), "-tenants", strconv.Itoa(size.tenants), "-seed", "11",
		"-events", "12", "-messages", "12", "-retry-after", "1", "-webhook-ca", lb.caFile,
		"-latency", "20ms") // syncs take long enough for kills to catch some running
	var users []fakeUser
	fake.control(t, http.MethodGet, "/users", &users)
	c := newCluster(t, fake, pgtest.Database(t), "-workers", "10", "-rescue-after", "10s",
		"-listen", "127.0.0.1:0", "-notification-url", lb.URL())
	lb.mu.Lock()
	lb.cluster = c
	lb.mu.Unlock()
	if out := c.command("connect"); !strings.Contains(out, fmt.Sprintf("connected %d accounts", size.users)) {
		t.Fatalf("connect: %s", out)
	}
	client := c.client()

	regular := map[string]fakeUser{} // account ID -> user
	byUserID := map[string]fakeUser{}
	var revokedUser, consentUser fakeUser
	for _, u := range users {
		byUserID[u.ID] = u
		switch {
		case !u.Admin:
			regular[u.AccountID] = u
		case revokedUser.ID == "":
			revokedUser = u
		case consentUser.ID == "" && u.TenantID != revokedUser.TenantID:
			consentUser = u
		}
	}

	// Faults from now on: 429 with Retry-After, 503 and dropped
	// connections on a few percent of Graph requests.
	fake.control(t, http.MethodPost, "/chaos?throttle=0.03&unavailable=0.02&drop=0.02&retry_after=1&seed=5", nil)
	c.start(slots(size.workers)...)
	// Changes start once every resource has its subscription: a change
	// before that would reach no webhook (the sweep would find it, in a
	// day).
	waitFor(t, 2*time.Minute, "every subscription", func() bool {
		var n int
		err := client.db.Pool().QueryRow(ctx, `SELECT COUNT(DISTINCT account_id || ' ' || resource) FROM fleet_subscriptions`).Scan(&n)
		return err == nil && n == 2*size.users
	})

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var kills []time.Duration // when, from the start of the run
	for i := range size.kills {
		slot := size.run / time.Duration(size.kills)
		kills = append(kills, time.Duration(i)*slot+time.Duration(rng.Int64N(int64(slot))))
	}
	var revokedID, consentID string
	var revokedAt time.Time
	runStart := time.Now()
	churned, killed := 0, 0
	var changeLog []string
	for step := 0; time.Since(runStart) < size.run; step++ {
		var changes []graphtest.Change
		fake.control(t, http.MethodPost, fmt.Sprintf("/churn?n=%d", max(1, size.users/20)), &changes)
		churned += len(changes) // each notified to the webhook before /churn answers
		for _, ch := range changes {
			changeLog = append(changeLog, fmt.Sprintf("%s %s %s %s %s", time.Now().Format("15:04:05.000"), ch.UserID, ch.Kind, ch.Op, ch.ID))
		}
		switch elapsed := time.Since(runStart); {
		case revokedID == "" && elapsed > size.run/3:
			// A user whose refresh token is revoked: the tokens are
			// refused at the fake and, as when their lifetime passes,
			// the stored access token is expired.
			revokedID = lateSignIn(t, client, revokedUser.UPN)
			expireStored(t, client.store, revokedID)
			fake.control(t, http.MethodPost, "/revoke?user="+url.QueryEscape(revokedUser.ID), nil)
			revokedAt = time.Now()
			if err := client.f.Connect(ctx, fleet.Account{ID: revokedID, Features: features}); err != nil {
				t.Fatal(err)
			}
		case consentID == "" && elapsed > 2*size.run/3:
			consentID = lateSignIn(t, client, consentUser.UPN)
			fake.control(t, http.MethodPost, "/withdraw-consent?tenant="+url.QueryEscape(consentUser.TenantID), nil)
			expireStored(t, client.store, consentID)
			if err := client.f.Connect(ctx, fleet.Account{ID: consentID, Features: features}); err != nil {
				t.Fatal(err)
			}
		}
		if killed < len(kills) && time.Since(runStart) >= kills[killed] {
			i := rng.IntN(size.workers)
			c.kill(i)
			killed++
			time.Sleep(time.Duration(rng.Int64N(int64(time.Second))))
			c.start(i)
		}
		time.Sleep(250 * time.Millisecond)
	}
	for ; killed < len(kills); killed++ { // the run ended before the last planned kill
		i := rng.IntN(size.workers)
		c.kill(i)
		c.start(i)
	}

	// Faults off, and wait for the fleet to settle (killed workers' jobs
	// are rescued after -rescue-after). Only notifications asked for
	// syncs: the end state must follow from them alone.
	fake.control(t, http.MethodPost, "/chaos", nil)
	waitIdle(t, client, 3*time.Minute)
	// A notification the webhook did not take (no 2xx within 3 seconds)
	// is sent again by Graph a minute later: wait for those.
	if late := waitDelivered(t, fake); late > 0 {
		waitIdle(t, client, 3*time.Minute)
	}
	var notified, rescued int64
	if err := client.db.Pool().QueryRow(ctx, `SELECT COALESCE(SUM(requested), 0) FROM fleet_requests`).Scan(&notified); err != nil {
		t.Fatal(err)
	}
	if err := client.db.Pool().QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE errors::text LIKE '%rescued by JobRescuer%'`).Scan(&rescued); err != nil {
		t.Fatal(err)
	}
	settled := time.Since(began)

	var reqs []graphtest.Request
	fake.control(t, http.MethodGet, "/requests", &reqs)

	if bad := checkData(t, client, fake, regular); bad != "" {
		diagnose(t, client, reqs, bad, regular[bad].ID, changeLog)
	}
	checkPageOrder(t, client)
	stats := checkRequestLog(t, reqs)
	checkParked(t, client, reqs, revokedID, revokedUser.ID, revokedAt, consentID)

	t.Logf("%d accounts in %d tenants (+2 parked), %d worker processes, %d SIGKILLs (%d jobs rescued from killed workers), %d changes, %d syncs asked by notifications; %d requests (%d Graph, %d token): "+
		"%d answered 429, %d 503, %d connections dropped; max Graph requests in flight per account %d; settled in %v",
		size.users, size.tenants, size.workers, size.kills, rescued, churned, notified, len(reqs), stats.graph, stats.token,
		stats.throttled, stats.unavailable, stats.dropped, stats.maxInFlight, settled.Round(time.Second))
	if t.Failed() {
		c.dumpLogs()
	}
}

// dumpLogs prints the tail of every worker's log.
func (c *cluster) dumpLogs() {
	c.mu.Lock()
	n := c.started
	c.mu.Unlock()
	for i := range c.workers {
		for s := 1; s <= n; s++ {
			b, err := os.ReadFile(fmt.Sprintf("%s/worker-%d-%d.log", c.dir, i, s))
			if err != nil {
				continue
			}
			if len(b) > 3000 {
				b = b[len(b)-3000:]
			}
			c.t.Logf("worker %d (process %d) log tail:\n%s", i, s, b)
		}
	}
}

// lateSignIn signs a user in through the fake's browser in this process.
func lateSignIn(t *testing.T, w *worker, upn string) string {
	t.Helper()
	u, pending, err := w.app.SignInURL(auth.SignInRequest{Features: features, LoginHint: upn})
	if err != nil {
		t.Fatal(err)
	}
	cb, err := w.browse(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	user, err := w.app.CompleteSignIn(t.Context(), cb, pending)
	if err != nil {
		t.Fatal(err)
	}
	return user.AccountID
}

// expireStored marks an account's stored access tokens expired, so the
// next token request goes to the token endpoint.
func expireStored(t *testing.T, store auth.TokenStore, accountID string) {
	t.Helper()
	ctx := t.Context()
	blob, version, err := store.Load(ctx, accountID)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]map[string]any
	if err := json.Unmarshal(blob, &doc); err != nil {
		t.Fatal(err)
	}
	past := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	for _, at := range doc["AccessToken"] {
		at["expires_on"], at["extended_expires_on"] = past, past
	}
	if blob, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	if err := store.Save(ctx, accountID, blob, version); err != nil {
		t.Fatal(err)
	}
}

// checkData compares every regular account's stored events and Inbox with
// the fake's. It returns the first account that differs, or "".
func checkData(t *testing.T, w *worker, fake *fakeProc, regular map[string]fakeUser) (first string) {
	t.Helper()
	ctx := t.Context()
	pool := w.db.Pool()
	bad := 0
	for id, u := range regular {
		st, err := w.f.Account(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status != fleet.StatusConnected {
			t.Errorf("%s: status %s, want connected", id, st.Status)
		}
		var startMs, endMs int64
		if err := pool.QueryRow(ctx, `SELECT window_start, window_end FROM fleet_cursors WHERE account_id = $1 AND resource = 'calendar'`, id).Scan(&startMs, &endMs); err != nil {
			t.Fatalf("%s: calendar cursor: %v", id, err)
		}
		var want fakeState
		fake.control(t, http.MethodGet, "/state?"+url.Values{"user": {u.ID}, "folder": {"inbox"},
			"start": {time.UnixMilli(startMs).UTC().Format(time.RFC3339)}, "end": {time.UnixMilli(endMs).UTC().Format(time.RFC3339)}}.Encode(), &want)
		var wantEvents, wantMail []string
		for _, e := range want.Events {
			wantEvents = append(wantEvents, fmt.Sprintf("%s|%s|%d|%d", e.ID, e.Subject, e.Start.UnixMilli(), e.End.UnixMilli()))
		}
		for _, m := range want.Messages {
			wantMail = append(wantMail, fmt.Sprintf("%s|%s|%t", m.ID, m.Subject, m.IsRead))
		}
		gotEvents := rowsOf(t, w, `SELECT id || '|' || subject || '|' || start_ms || '|' || end_ms FROM synced_events WHERE account = $1`, id)
		gotMail := rowsOf(t, w, `SELECT id || '|' || subject || '|' || CASE WHEN is_read = 1 THEN 'true' ELSE 'false' END FROM synced_messages WHERE account = $1 AND folder = 'Inbox'`, id)
		for _, d := range []struct {
			what      string
			want, got []string
		}{{"events", wantEvents, gotEvents}, {"Inbox", wantMail, gotMail}} {
			if !slices.Equal(sorted(d.want), d.got) {
				if first == "" {
					first = id
				}
				if bad++; bad <= 3 {
					t.Errorf("%s: stored %s differ from the fake's:\nfake:   %v\nstored: %v", id, d.what, sorted(d.want), d.got)
				}
			}
		}
	}
	if bad > 3 {
		t.Errorf("... %d differences in all", bad)
	}
	return first
}

// diagnose logs what happened to an account that ended out of sync: its
// changes, its Graph requests, the pages applied and its jobs.
func diagnose(t *testing.T, w *worker, reqs []graphtest.Request, account, userID string, changes []string) {
	t.Helper()
	for _, c := range changes {
		if strings.Contains(c, userID) {
			t.Logf("change: %s", c)
		}
	}
	for _, r := range reqs {
		if r.UserID == userID && r.Host == graphtest.GraphHost {
			gen, _ := tokenGeneration(r.RawQuery)
			t.Logf("request %s-%s %s %s gen %d status %d inflight %d", r.Time.Format("15:04:05.000"), r.End.Format("15:04:05.000"), r.Method, r.Path, gen, r.Status, r.InFlight)
		}
	}
	for _, p := range rowsOf(t, w, `SELECT resource || ' seq ' || seq || ' reset ' || reset || ' done ' || done || ' items ' || items || ' at ' || applied_ms || ' ' || cursor FROM synced_pages WHERE account = $1`, account) {
		if i := strings.LastIndex(p, " "); i > 0 {
			gen, _ := tokenGeneration(p[i+1:])
			p = p[:i] + fmt.Sprintf(" gen %d", gen)
		}
		t.Logf("page: %s", p)
	}
	for _, j := range rowsOf(t, w, `SELECT id || ' ' || kind || ' ' || state || ' attempt ' || attempt || ' args ' || args::text || ' created ' || created_at || ' finalized ' || COALESCE(finalized_at::text, '-') || ' ' || COALESCE(array_to_string(errors, ' / '), '') FROM river_job WHERE args->>'account' = $1`, account) {
		t.Logf("job: %s", j[:min(len(j), 400)])
	}
	for _, r := range rowsOf(t, w, `SELECT resource || ' requested ' || requested || ' first ' || first_at || ' last ' || last_at FROM fleet_requests WHERE account_id = $1`, account) {
		t.Logf("requests: %s", r)
	}
}

func rowsOf(t *testing.T, w *worker, q string, args ...any) []string {
	t.Helper()
	rows, err := w.db.Pool().Query(t.Context(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// checkPageOrder checks the sink's page log: each resource's pages are
// numbered 1, 2, 3, ... in commit order, the first one resets, and the
// fake's token generations in their cursors grow: no page was applied
// after a page that came later from Graph.
func checkPageOrder(t *testing.T, w *worker) {
	t.Helper()
	rows, err := w.db.Pool().Query(t.Context(), `SELECT account, resource, seq, cursor, reset FROM synced_pages ORDER BY account, resource, seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lastKey string
	var lastSeq, lastGen int64
	pages, bad := 0, 0
	for rows.Next() {
		var account, resource, cursor string
		var seq int64
		var reset int
		if err := rows.Scan(&account, &resource, &seq, &cursor, &reset); err != nil {
			t.Fatal(err)
		}
		pages++
		key := account + " " + resource
		if key != lastKey {
			lastKey, lastSeq, lastGen = key, 0, 0
			if reset != 1 && bad < 5 {
				bad++
				t.Errorf("%s: first page does not reset", key)
			}
		}
		gen, ok := tokenGeneration(cursor)
		switch {
		case seq != lastSeq+1:
			bad++
			t.Errorf("%s: page %d follows page %d", key, seq, lastSeq)
		case !ok:
			bad++
			t.Errorf("%s: page %d: no delta or skip token in the cursor", key, seq)
		case gen <= lastGen:
			bad++
			t.Errorf("%s: page %d applied out of order: token generation %d after %d", key, seq, gen, lastGen)
		}
		if bad > 5 {
			t.Fatal("too many page order errors")
		}
		lastSeq, lastGen = seq, gen
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if pages == 0 {
		t.Error("no page recorded")
	}
}

type logStats struct {
	graph, token, throttled, unavailable, dropped, maxInFlight int
}

// checkRequestLog proves from the fake's request log that no account had
// more than 4 Graph requests in flight, and that each account's requests
// for one resource (its calendar, a mail folder) never overlapped in time:
// one sync of it at a time, across all worker processes.
func checkRequestLog(t *testing.T, reqs []graphtest.Request) logStats {
	t.Helper()
	var s logStats
	streams := map[string][]graphtest.Request{}
	for _, r := range reqs {
		if isTokenRequest(&r) {
			s.token++
		}
		if r.Host != graphtest.GraphHost || r.UserID == "" {
			continue
		}
		s.graph++
		switch r.Status {
		case http.StatusTooManyRequests:
			s.throttled++
		case http.StatusServiceUnavailable:
			s.unavailable++
		case 0:
			s.dropped++
		}
		s.maxInFlight = max(s.maxInFlight, r.InFlight)
		if r.InFlight > graphtest.OutlookConcurrency {
			t.Errorf("%s %s?%s: %d Graph requests in flight for the account, over Outlook's %d", r.Method, r.Path, r.RawQuery, r.InFlight, graphtest.OutlookConcurrency)
		}
		if res := resourceOf(&r); res != "other" {
			streams[r.UserID+" "+res] = append(streams[r.UserID+" "+res], r)
		}
	}
	overlaps, chains := 0, 0
	for key, rs := range streams {
		sort.Slice(rs, func(i, j int) bool { return rs[i].Time.Before(rs[j].Time) })
		var busyUntil time.Time
		for i, r := range rs {
			if !strings.Contains(r.RawQuery, "skiptoken") {
				chains++ // a round starts: the window's first page or a delta link
			}
			if i > 0 && r.Time.Before(busyUntil) {
				if overlaps++; overlaps <= 5 {
					t.Errorf("%s: a request at %s started before the previous one ended (%s): two syncs in flight",
						key, r.Time.Format(time.StampMicro), busyUntil.Format(time.StampMicro))
				}
			}
			if r.End.After(busyUntil) {
				busyUntil = r.End
			}
		}
	}
	if s.graph == 0 || chains == 0 {
		t.Errorf("the log holds %d Graph requests in %d sync rounds", s.graph, chains)
	}
	return s
}

// checkParked checks the revoked account and the one without consent.
func checkParked(t *testing.T, w *worker, reqs []graphtest.Request, revokedID, revokedUserID string, revokedAt time.Time, consentID string) {
	t.Helper()
	ctx := t.Context()
	st, err := w.f.Account(ctx, revokedID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != fleet.StatusNeedsSignIn || st.Reason == "" {
		t.Errorf("revoked account: status %q, reason %q; want needs_sign_in with a reason", st.Status, st.Reason)
	}
	// One attempt per job, no more: each job of the account (a sync and
	// a subscription per resource) asked for a token at most once, was
	// refused, and nothing tried again.
	jobs := rowsOf(t, w, `SELECT kind || ' ' || state || ' ' || attempt || ' ' || COALESCE(array_to_string(attempted_by, ','), '') || ' ' || COALESCE(array_to_string(errors, ' / '), '') FROM river_job WHERE args->>'account' = $1`, revokedID)
	n := 0
	for _, r := range reqs {
		if isTokenRequest(&r) && r.UserID == revokedUserID && r.Time.After(revokedAt) {
			n++
			if r.Status != http.StatusBadRequest {
				t.Errorf("token request for the revoked user answered %d", r.Status)
			}
		}
	}
	// A job a SIGKILL interrupted runs again after its rescue: one more
	// attempt, and maybe one more token request, for each.
	rescues := 0
	for _, r := range jobs {
		rescues += strings.Count(r, "rescued by JobRescuer")
	}
	if n < 1 || n > len(jobs)+rescues {
		t.Errorf("%d token requests for the revoked user since the revocation, want 1 to %d (one per job and rescue)", n, len(jobs)+rescues)
	}
	for _, r := range jobs {
		// Cancelled when it met the refusal; completed without Graph
		// when it found the account parked already.
		if f := strings.Fields(r); len(f) < 3 || f[2] != strconv.Itoa(1+strings.Count(r, "rescued by JobRescuer")) || (f[1] != "cancelled" && f[1] != "completed") {
			t.Errorf("revoked account's job %s, want cancelled or skipped after attempt 1", r[:min(len(r), 300)])
		}
	}
	st, err = w.f.Account(ctx, consentID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != fleet.StatusConsentMissing || len(st.Missing) == 0 {
		t.Errorf("account of a tenant that withdrew consent: status %q, missing %v; want consent_missing naming permissions", st.Status, st.Missing)
	}
}

// BenchmarkInitialSync measures the initial sync of 200 accounts by 1, 2
// and 4 worker processes of 10 jobs each, with 100 ms of Graph latency per
// request and Outlook's 4 concurrent requests per mailbox enforced by the
// fake. accounts/s counts from the workers' start to the last account
// connected; commit-span accounts/s from the first page committed to the
// last.
func BenchmarkInitialSync(b *testing.B) {
	for _, procs := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("processes=%d", procs), func(b *testing.B) {
			for range b.N {
				benchInitialSync(b, procs)
			}
		})
	}
}

func benchInitialSync(b *testing.B, procs int) {
	b.StopTimer()
	const accounts = 200
	fake := startFake(b, "-users", strconv.Itoa(accounts), "-tenants", "10", "-seed", "3", "-events", "20", "-messages", "20", "-latency", "100ms")
	c := newCluster(b, fake, pgtest.Database(b), "-workers", "10")
	c.command("connect")
	client := c.client()
	b.StartTimer()
	start := time.Now()
	c.start(slots(procs)...)
	for {
		counts, err := client.f.Counts(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if counts[fleet.StatusConnected] == accounts {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	var first, last int64
	if err := client.db.Pool().QueryRow(context.Background(), `SELECT MIN(applied_ms), MAX(applied_ms) FROM synced_pages`).Scan(&first, &last); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(accounts)/elapsed.Seconds(), "accounts/s")
	b.ReportMetric(float64(accounts)/(float64(last-first)/1000), "commit-span-accounts/s")
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("processes=%d: %d accounts in %v; load average %s", procs, accounts, elapsed.Round(time.Millisecond), strings.TrimSpace(string(load)))
	}
}

// slots returns 0, 1, ..., n-1.
func slots(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// waitDelivered waits until every notification POST that was not
// delivered has been sent again, and fails the test for any collection
// the fake gave up on. It returns how many attempts failed.
func waitDelivered(t *testing.T, fake *fakeProc) int {
	t.Helper()
	failed := 0
	waitFor(t, 4*time.Minute, "Graph's retries of undelivered notifications", func() bool {
		var ds []graphtest.Delivery
		fake.control(t, http.MethodGet, "/deliveries", &ds)
		failed = 0
		retries := 0
		for _, d := range ds {
			if d.Kind == "validation" {
				continue
			}
			if d.Dropped {
				t.Fatalf("Graph dropped a notification collection: %+v", d)
			}
			if !d.Delivered {
				failed++
				if failed <= 3 {
					t.Logf("notification not delivered (Graph retries it): attempt %d, status %d, error %q, after %v", d.Attempt, d.Status, d.Err, d.Elapsed)
				}
			}
			if d.Attempt > 1 {
				retries++
			}
		}
		return retries >= failed
	})
	return failed
}
