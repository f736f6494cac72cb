package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/notify"
)

// Notifications that still arrive for a disconnected account (Graph's
// subscription outlives the registration until the unsubscribe job runs)
// or for a parked one (needs a new sign-in: its registrations are
// dropped, its tokens cannot delete the subscriptions at Graph), and
// forged ones for a subscription nobody made: each POST is answered 202,
// so Graph neither retries nor learns anything; no sync is requested or
// queued, nothing is counted as received, and each is logged as rejected
// without its clientState.
func TestWebhookNotificationsOfGoneAccounts(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	logs := &logRecorder{}
	e := withWebhookOn(t, false, func(c *Config) {
		c.MeterProvider = rec
		c.Logger = slog.New(logs)
	})
	e.start(t)
	ctx := t.Context()
	adele, alex := e.signIn(t, e.demo.Adele), e.signIn(t, e.demo.Alex)
	e.connect(t, Account{ID: adele, Features: both})
	e.connect(t, Account{ID: alex, Features: calendarOnly})
	waitFor(t, "subscriptions", func() bool { return e.registered(t, adele) == 2 && e.registered(t, alex) == 1 })
	// A registration is saved before its subscription job ends, and the
	// job then requests a resync: wait for both kinds of job.
	waitFor(t, "idle", func() bool { return e.subscribeIdle(t) && e.idle(t) })
	subs := map[string]graphtest.Subscription{}
	for _, s := range e.srv.Subscriptions() {
		if s.Resource == "me/events" {
			subs[s.UserID] = s
		}
	}

	if err := e.f.Disconnect(ctx, adele); err != nil {
		t.Fatal(err)
	}
	if err := e.f.park(ctx, alex, StatusChange{To: StatusNeedsSignIn, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	if n := e.registered(t, adele) + e.registered(t, alex); n != 0 {
		t.Fatalf("%d registrations left after Disconnect and parking", n)
	}
	alexRequests := e.requested(t, alex)
	before := rec.count("fleet.notifications", "action=received")

	forged := subs[e.demo.Adele.ID]
	forged.ID = "00000000-0000-0000-0000-000000000000"
	forged.ClientState = "AAAAAAAAAAAAAAAAAAAAAA." + strings.Repeat("A", 43)
	for name, c := range map[string]struct {
		sub  graphtest.Subscription
		user *graphtest.User
	}{
		"disconnected": {subs[e.demo.Adele.ID], e.demo.Adele},
		"parked":       {subs[e.demo.Alex.ID], e.demo.Alex},
		"forged":       {forged, e.demo.Adele},
	} {
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, e.f.notifyURL, bytes.NewReader(changeNotification(t, c.sub, c.user)))
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		w := httptest.NewRecorder()
		e.f.Handler().ServeHTTP(w, req)
		if w.Code != http.StatusAccepted {
			t.Errorf("%s: answered %d, want 202 (Graph must not deliver again)", name, w.Code)
		}
	}

	if !e.idle(t) {
		t.Error("a sync job was queued for a gone account")
	}
	if n := e.requested(t, adele); n != 0 {
		t.Errorf("disconnected account: %d sync requests stored, want none", n)
	}
	if n := e.requested(t, alex); n != alexRequests {
		t.Errorf("parked account: sync requests went from %d to %d", alexRequests, n)
	}
	if got := rec.count("fleet.notifications", "action=received") - before; got != 0 {
		t.Errorf("%d notifications counted as received, want none", got)
	}
	if got := rec.count("fleet.notifications.rejected", "reason=unknown_subscription"); got != 3 {
		t.Errorf("fleet.notifications.rejected counted %d unknown subscriptions, want 3 (disconnected, parked, forged)", got)
	}
	if got := logs.count("notify: notification rejected"); got != 3 {
		t.Errorf("%d rejections logged, want 3 (disconnected, parked, forged)", got)
	}
	for _, m := range logs.messages() {
		for _, s := range []string{subs[e.demo.Adele.ID].ClientState, subs[e.demo.Alex.ID].ClientState} {
			if strings.Contains(m, s) {
				t.Error("a clientState reached the log")
			}
		}
	}
}

// requested returns the sum of an account's stored sync requests.
func (e *env) requested(t *testing.T, id string) int64 {
	t.Helper()
	var n int64
	if err := e.db.queryRow(t.Context(), `SELECT COALESCE(SUM(requested), 0) FROM fleet_requests WHERE account_id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// changeNotification is the body of a POST carrying one "updated" event
// notification of sub, as Graph sends it.
func changeNotification(t *testing.T, sub graphtest.Subscription, u *graphtest.User) []byte {
	t.Helper()
	res := "Users/" + u.ID + "/Events/AAMkAGI2THVS"
	body, err := json.Marshal(map[string]any{"value": []map[string]any{{
		"subscriptionId":                 sub.ID,
		"subscriptionExpirationDateTime": sub.Expiration.UTC().Format(time.RFC3339Nano),
		"changeType":                     "updated",
		"resource":                       res,
		"resourceData":                   map[string]any{"@odata.type": "#Microsoft.Graph.Event", "@odata.id": res, "@odata.etag": `W/"DwAAABYAAAA"`, "id": "AAMkAGI2THVS"},
		"clientState":                    sub.ClientState,
		"tenantId":                       u.TenantID,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// logRecorder is a slog.Handler that keeps every record's message and
// attributes.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, b.String())
	return nil
}

func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs...)
}

func (l *logRecorder) count(prefix string) int {
	n := 0
	for _, m := range l.messages() {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

// A verified notification whose account is no longer active when the
// intake stores it (its registration outlived it for a moment) is
// dropped and counted as rejected.
func TestNotificationOfInactiveAccountCounted(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	e := newEnv(t, false, func(c *Config) { c.MeterProvider = rec })
	n := notify.ChangeNotification{SubscriptionResource: notify.Events().Resource}
	n.Owner = "00000000-0000-0000-0000-000000000001.00000000-0000-0000-0000-000000000002"
	if err := e.f.store(t.Context(), []notify.ChangeNotification{n, n}); err != nil {
		t.Fatal(err)
	}
	if got := rec.sum("fleet.notifications.rejected", "reason=inactive_account"); got != 2 {
		t.Errorf("fleet.notifications.rejected counted %v inactive_account, want 2", got)
	}
	if got := rec.count("fleet.notifications", "action=resync"); got != 0 {
		t.Errorf("%d resyncs counted for an unknown account", got)
	}
}
