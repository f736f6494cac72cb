package notify

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/m365kit/m365kit/graphclient"
)

// DefaultLifetimes are the maximum subscription lifetimes Microsoft
// documents per kind: 4,230 minutes for Outlook events and messages, 4,320
// minutes for Teams chat messages. Microsoft has changed these before (an
// older table gave chat messages 60 minutes; newer notes speak of 10,080
// minutes for Outlook), so Config.MaxLifetime overrides them.
func DefaultLifetimes() map[Kind]time.Duration {
	return map[Kind]time.Duration{
		KindEvents:       4230 * time.Minute,
		KindMessages:     4230 * time.Minute,
		KindChatMessages: 4320 * time.Minute,
	}
}

// defaultMargin is how far under the maximum an expiration is chosen, so
// clock skew and request latency never push it over.
const defaultMargin = 15 * time.Minute

// clientStateBytes is the entropy of a generated clientState: 32 random
// bytes, 43 characters of base64url (Graph allows 128).
const clientStateBytes = 32

// Config configures a Manager. It is plain data, read once by NewManager.
type Config struct {
	// NotificationURL is the https URL of the Handler. Required.
	NotificationURL string
	// LifecycleNotificationURL receives lifecycle notifications; empty
	// means NotificationURL (one Handler serves both). It is always set on
	// creation: Graph cannot add it to an existing subscription.
	LifecycleNotificationURL string
	// MaxLifetime overrides DefaultLifetimes per kind.
	MaxLifetime map[Kind]time.Duration
	// Margin is how far under the maximum expirations are chosen (default
	// 15 minutes; it must be shorter than every lifetime).
	Margin time.Duration
	// Now reads the clock (default time.Now).
	Now func() time.Time
	// Rand is the source of clientState bytes (default crypto/rand).
	Rand io.Reader
}

// Manager creates, renews, reauthorizes, lists and deletes one signed-in
// user's subscriptions. Create one per user (over that user's
// graphclient.Client). It is safe for concurrent use.
type Manager struct {
	gc        *graphclient.Client
	notifyURL string
	lifeURL   string
	lifetimes map[Kind]time.Duration
	margin    time.Duration
	now       func() time.Time
	rand      io.Reader
}

// NewManager returns a Manager over gc. NotificationURL and
// LifecycleNotificationURL must be absolute https URLs.
func NewManager(gc *graphclient.Client, cfg Config) (*Manager, error) {
	const op = "NewManager"
	if gc == nil {
		return nil, invalid(op, "gc", "is nil")
	}
	if err := checkHTTPS(cfg.NotificationURL); err != nil {
		return nil, invalid(op, "Config.NotificationURL", err.Error())
	}
	life := cfg.LifecycleNotificationURL
	if life == "" {
		life = cfg.NotificationURL
	}
	if err := checkHTTPS(life); err != nil {
		return nil, invalid(op, "Config.LifecycleNotificationURL", err.Error())
	}
	m := &Manager{
		gc:        gc,
		notifyURL: cfg.NotificationURL,
		lifeURL:   life,
		lifetimes: DefaultLifetimes(),
		margin:    cfg.Margin,
		now:       cfg.Now,
		rand:      cfg.Rand,
	}
	for k, d := range cfg.MaxLifetime {
		if d <= 0 {
			return nil, invalid(op, "Config.MaxLifetime", fmt.Sprintf("%s: %v is not positive", k, d))
		}
		m.lifetimes[k] = d
	}
	if m.margin == 0 {
		m.margin = defaultMargin
	}
	for k, d := range m.lifetimes {
		if m.margin < 0 || m.margin >= d {
			return nil, invalid(op, "Config.Margin", fmt.Sprintf("%v must be positive and shorter than the %s lifetime %v", m.margin, k, d))
		}
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.rand == nil {
		m.rand = rand.Reader
	}
	return m, nil
}

func checkHTTPS(raw string) error {
	if raw == "" {
		return errors.New("is empty")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("is not an absolute URL")
	}
	if !strings.EqualFold(u.Scheme, "https") {
		return errors.New("must use https (Graph refuses other schemes)")
	}
	return nil
}

// Expiration returns the expiration the Manager asks for a resource now:
// its kind's maximum lifetime less the margin.
func (m *Manager) Expiration(resource string) time.Time {
	kind, _ := KindOf(resource)
	d := m.lifetimes[kind]
	if d == 0 {
		d = m.lifetimes[KindEvents]
	}
	return m.now().Add(d - m.margin).UTC().Truncate(time.Second)
}

// NewClientState returns a fresh random clientState: 32 bytes from the
// Manager's random source, base64url-encoded.
func (m *Manager) NewClientState() (string, error) {
	b := make([]byte, clientStateBytes)
	if _, err := io.ReadFull(m.rand, b); err != nil {
		return "", &Error{Op: "NewClientState", Err: err}
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Create subscribes to t with a fresh random clientState, the lifecycle
// URL, an expiration under the kind's maximum and immutable IDs, and
// returns the subscription with its clientState: store both (see
// Registration) before the first notification can arrive. Graph validates
// the notification and lifecycle URLs during the call, so the Handler must
// already be serving them.
//
// Graph API: POST /subscriptions (Prefer: IdType="ImmutableId")
func (m *Manager) Create(ctx context.Context, t Target) (*Subscription, error) {
	const op = "Create"
	if _, err := t.check(op); err != nil {
		return nil, err
	}
	state, err := m.NewClientState()
	if err != nil {
		return nil, err
	}
	body := Subscription{
		Resource:                  t.Resource,
		ChangeType:                t.ChangeType,
		NotificationURL:           m.notifyURL,
		LifecycleNotificationURL:  m.lifeURL,
		ExpirationDateTime:        m.Expiration(t.Resource),
		ClientState:               state,
		LatestSupportedTLSVersion: "v1_2",
	}
	req, err := m.gc.NewRequest(ctx, http.MethodPost, "subscriptions", body)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	if !slices.ContainsFunc(req.Header.Values("Prefer"), func(v string) bool { return strings.Contains(v, "IdType=") }) {
		req.Header.Add("Prefer", `IdType="ImmutableId"`) // unless the client adds it already
	}
	var out Subscription
	if _, err := m.gc.Do(req, &out); err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	if out.ID == "" {
		return nil, &Error{Op: op, Err: errors.New("the created subscription has no id")}
	}
	normalize(&out, body)
	return &out, nil
}

// normalize makes times UTC and keeps the clientState Graph did not echo.
func normalize(out *Subscription, sent Subscription) {
	out.ExpirationDateTime = out.ExpirationDateTime.UTC()
	if out.ClientState == "" {
		out.ClientState = sent.ClientState
	}
	if out.Resource == "" {
		out.Resource = sent.Resource
	}
	if out.ChangeType == "" {
		out.ChangeType = sent.ChangeType
	}
}

// Get returns one subscription. An error matching ErrNotFound means
// Graph no longer has it.
//
// Graph API: GET /subscriptions/{id}
func (m *Manager) Get(ctx context.Context, id string) (*Subscription, error) {
	const op = "Get"
	if id == "" {
		return nil, invalid(op, "id", "is empty")
	}
	req, err := m.gc.NewRequest(ctx, http.MethodGet, "subscriptions/"+url.PathEscape(id), nil)
	if err != nil {
		return nil, &Error{Op: op, SubscriptionID: id, Err: err}
	}
	var out Subscription
	if _, err := m.gc.Do(req, &out); err != nil {
		return nil, &Error{Op: op, SubscriptionID: id, Err: err}
	}
	out.ExpirationDateTime = out.ExpirationDateTime.UTC()
	return &out, nil
}

// List returns the subscriptions this app created for the signed-in user,
// lazily: nothing is sent before the range starts.
//
// Graph API: GET /subscriptions
func (m *Manager) List(ctx context.Context) iter.Seq2[Subscription, error] {
	return func(yield func(Subscription, error) bool) {
		for s, err := range graphclient.All[Subscription](ctx, m.gc, "subscriptions") {
			if err != nil {
				yield(Subscription{}, &Error{Op: "List", Err: err})
				return
			}
			s.ExpirationDateTime = s.ExpirationDateTime.UTC()
			if !yield(s, nil) {
				return
			}
		}
	}
}

// Renew extends sub to the maximum lifetime of its resource (less the
// margin); a renewal also reauthorizes it. It returns the subscription
// with the new expiration and sub's clientState. An error matching
// ErrNotFound means the subscription is gone: create it again.
//
// Graph API: PATCH /subscriptions/{id}
func (m *Manager) Renew(ctx context.Context, sub Subscription) (*Subscription, error) {
	const op = "Renew"
	if sub.ID == "" {
		return nil, invalid(op, "sub.ID", "is empty")
	}
	exp := m.Expiration(sub.Resource)
	req, err := m.gc.NewRequest(ctx, http.MethodPatch, "subscriptions/"+url.PathEscape(sub.ID),
		map[string]time.Time{"expirationDateTime": exp})
	if err != nil {
		return nil, &Error{Op: op, SubscriptionID: sub.ID, Err: err}
	}
	var out Subscription
	if _, err := m.gc.Do(req, &out); err != nil {
		return nil, &Error{Op: op, SubscriptionID: sub.ID, Err: err}
	}
	if out.ID == "" {
		out.ID = sub.ID
	}
	if out.ExpirationDateTime.IsZero() {
		out.ExpirationDateTime = exp
	}
	normalize(&out, sub)
	return &out, nil
}

// Reauthorize answers a reauthorizationRequired lifecycle notification
// without extending the subscription. Renew does both.
//
// Graph API: POST /subscriptions/{id}/reauthorize
func (m *Manager) Reauthorize(ctx context.Context, id string) error {
	const op = "Reauthorize"
	if id == "" {
		return invalid(op, "id", "is empty")
	}
	req, err := m.gc.NewRequest(ctx, http.MethodPost, "subscriptions/"+url.PathEscape(id)+"/reauthorize", nil)
	if err != nil {
		return &Error{Op: op, SubscriptionID: id, Err: err}
	}
	if _, err := m.gc.Do(req, nil); err != nil {
		return &Error{Op: op, SubscriptionID: id, Err: err}
	}
	return nil
}

// Delete removes a subscription. Deleting one Graph no longer has is not
// an error.
//
// Graph API: DELETE /subscriptions/{id}
func (m *Manager) Delete(ctx context.Context, id string) error {
	const op = "Delete"
	if id == "" {
		return invalid(op, "id", "is empty")
	}
	req, err := m.gc.NewRequest(ctx, http.MethodDelete, "subscriptions/"+url.PathEscape(id), nil)
	if err != nil {
		return &Error{Op: op, SubscriptionID: id, Err: err}
	}
	if _, err := m.gc.Do(req, nil); err != nil && !errors.Is(err, graphclient.ErrNotFound) {
		return &Error{Op: op, SubscriptionID: id, Err: err}
	}
	return nil
}

// Renewal is the outcome of renewing one stored subscription. It is a
// plain value.
type Renewal struct {
	// Old is the subscription as stored.
	Old Subscription
	// New is the renewed or recreated subscription (with its clientState):
	// store it, and drop Old when Recreated. Nil when Err is set.
	New *Subscription
	// Recreated reports that Old was gone (404 or already expired) and New
	// is a fresh subscription with a new ID and clientState. Resynchronise
	// the resource: notifications between the two were lost.
	Recreated bool
	Err       error
}

// RenewDue renews every subscription of subs that expires within the
// given window from now, and recreates those Graph no longer has (404) or
// that already expired. Subscriptions further from expiry are left alone
// and not reported. It stops early, returning what it did, when ctx is
// done.
func (m *Manager) RenewDue(ctx context.Context, subs []Subscription, within time.Duration) []Renewal {
	now := m.now()
	var out []Renewal
	for _, s := range subs {
		if ctx.Err() != nil {
			break
		}
		if s.ExpirationDateTime.Sub(now) > within {
			continue
		}
		r := Renewal{Old: s}
		if s.ExpirationDateTime.After(now) {
			r.New, r.Err = m.Renew(ctx, s)
		} else {
			r.Err = &Error{Op: "Renew", SubscriptionID: s.ID, Err: fmt.Errorf("expired at %s: %w", s.ExpirationDateTime.Format(time.RFC3339), graphclient.ErrNotFound)}
		}
		if errors.Is(r.Err, ErrNotFound) {
			r.New, r.Err = m.Create(ctx, Target{Resource: s.Resource, ChangeType: s.ChangeType})
			r.Recreated = r.Err == nil
		}
		out = append(out, r)
	}
	return out
}
