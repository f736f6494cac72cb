package notify

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

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

// Random parts of a clientState: a registration ID of 16 random bytes (22
// characters of base64url) and a secret of 32 (43 characters), joined by a
// dot: 66 characters, where Graph allows 128.
const (
	registrationIDBytes = 16
	secretBytes         = 32
)

// Config configures a Manager. It is plain data, read once by NewManager.
type Config struct {
	// Store keeps the Registrations: Create saves one before it asks
	// Graph, Renew and Recreate replace it, Delete forgets it. Required.
	Store Store
	// Owner is the caller's key for the user the Manager acts for, e.g.
	// the auth account ID (oid.tid); notifications carry it. Required.
	Owner string
	// MaxLifetime overrides DefaultLifetimes per kind.
	MaxLifetime map[Kind]time.Duration
	// Margin is how far under the maximum expirations are chosen (default
	// 15 minutes; it must be shorter than every lifetime).
	Margin time.Duration
}

// Manager creates, renews, reauthorizes, lists and deletes one signed-in
// user's subscriptions, and keeps their Registrations in the Store in
// step with Graph. Create one per user (over that user's
// graphclient.Client). It is safe for concurrent use.
type Manager struct {
	gc        *graphclient.Client
	store     Store
	owner     string
	lifetimes map[Kind]time.Duration
	margin    time.Duration
}

// NewManager returns a Manager over gc. The notification URL is not part
// of the Config: Create takes it, so a Manager can exist before the
// webhook server does.
func NewManager(gc *graphclient.Client, cfg Config) (*Manager, error) {
	const op = "NewManager"
	switch {
	case gc == nil:
		return nil, invalid(op, "gc", "is nil")
	case cfg.Store == nil:
		return nil, invalid(op, "Config.Store", "is nil")
	case cfg.Owner == "":
		return nil, invalid(op, "Config.Owner", "is empty")
	}
	m := &Manager{
		gc:        gc,
		store:     cfg.Store,
		owner:     cfg.Owner,
		lifetimes: DefaultLifetimes(),
		margin:    cfg.Margin,
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

// expiration returns the expiration to ask for a resource now: its kind's
// maximum lifetime less the margin.
func (m *Manager) expiration(resource string) time.Time {
	kind, _ := kindOf(resource)
	d := m.lifetimes[kind]
	if d == 0 {
		d = m.lifetimes[KindEvents]
	}
	return time.Now().Add(d - m.margin).UTC().Truncate(time.Second)
}

// randomText returns n random bytes, base64url-encoded.
func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// maxClientState is Graph's limit on a clientState.
const maxClientState = 128

// registrationIDOf returns the registration ID a clientState carries. A
// clientState Graph would not accept carries none, so a forger's cannot
// make the Store look up anything large.
func registrationIDOf(clientState string) (string, bool) {
	if len(clientState) > maxClientState {
		return "", false
	}
	id, _, ok := strings.Cut(clientState, ".")
	return id, ok && id != "" && !strings.ContainsFunc(id, unicode.IsControl)
}

// Create subscribes to t and stores the Registration in one step: it saves
// a pending Registration (a fresh ID, the Owner, a fresh random
// clientState that carries the ID) in the Store, asks Graph for the
// subscription (lifecycle notifications to the same URL, an expiration
// under the kind's maximum, immutable IDs), and saves the Registration
// again with Graph's answer. Graph validates notificationURL during the
// call and may notify right after it: the Handler at notificationURL
// verifies those notifications against the pending Registration, so none
// is lost. When Graph refuses, the pending Registration is deleted; when
// the final save fails, the new subscription is deleted again.
//
// notificationURL is the https URL where the Handler serves, reachable by
// Graph.
//
// Graph API: POST /subscriptions (Prefer: IdType="ImmutableId")
func (m *Manager) Create(ctx context.Context, notificationURL string, t Target) (Registration, error) {
	return m.create(ctx, "Create", m.owner, notificationURL, t)
}

func (m *Manager) create(ctx context.Context, op, owner, notificationURL string, t Target) (Registration, error) {
	if _, err := t.check(op); err != nil {
		return Registration{}, err
	}
	if err := checkHTTPS(notificationURL); err != nil {
		return Registration{}, invalid(op, "notificationURL", err.Error())
	}
	id := randomText(registrationIDBytes)
	reg := Registration{ID: id, Owner: owner, Subscription: Subscription{
		Resource:                  t.Resource,
		ChangeType:                t.ChangeType,
		NotificationURL:           notificationURL,
		LifecycleNotificationURL:  notificationURL,
		ExpirationDateTime:        m.expiration(t.Resource),
		ClientState:               id + "." + randomText(secretBytes),
		LatestSupportedTLSVersion: "v1_2",
	}}
	if err := m.store.Save(ctx, reg); err != nil {
		return Registration{}, &Error{Op: op, Err: fmt.Errorf("saving the pending registration: %w", err)}
	}
	cleanup := context.WithoutCancel(ctx)
	sub, err := m.post(ctx, reg.Subscription)
	if err != nil {
		_ = m.store.Delete(cleanup, id)
		return Registration{}, &Error{Op: op, Err: err}
	}
	reg.Subscription = *sub
	if err := m.store.Save(ctx, reg); err != nil {
		// A registration without the subscription ID could never be
		// renewed or deleted: take the subscription back.
		_ = m.deleteSubscription(cleanup, sub.ID)
		_ = m.store.Delete(cleanup, id)
		return Registration{}, &Error{Op: op, Err: fmt.Errorf("saving the registration of subscription %s: %w", sub.ID, err)}
	}
	return reg, nil
}

// post sends the subscription request.
func (m *Manager) post(ctx context.Context, body Subscription) (*Subscription, error) {
	req, err := m.gc.NewRequest(ctx, http.MethodPost, "subscriptions", body)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(req.Header.Values("Prefer"), func(v string) bool { return strings.Contains(v, "IdType=") }) {
		req.Header.Add("Prefer", `IdType="ImmutableId"`) // unless the client adds it already
	}
	var out Subscription
	if _, err := m.gc.Do(req, &out); err != nil {
		return nil, err
	}
	if out.ID == "" {
		return nil, errors.New("the created subscription has no id")
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
	if out.NotificationURL == "" {
		out.NotificationURL = sent.NotificationURL
	}
}

// Get returns one subscription. An error matching graphclient.ErrNotFound
// means Graph no longer has it.
//
// Graph API: GET /subscriptions/{id}
func (m *Manager) Get(ctx context.Context, id string) (*Subscription, error) {
	const op = "Get"
	if id == "" {
		return nil, invalid(op, "id", "is empty")
	}
	req, err := m.gc.NewRequest(ctx, http.MethodGet, "subscriptions/"+url.PathEscape(id), nil)
	if err != nil {
		return nil, subErr(op, id, err)
	}
	var out Subscription
	if _, err := m.gc.Do(req, &out); err != nil {
		return nil, subErr(op, id, err)
	}
	out.ExpirationDateTime = out.ExpirationDateTime.UTC()
	return &out, nil
}

// List returns the subscriptions this app created for the signed-in user,
// as Graph has them, lazily: nothing is sent before the range starts.
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

// Renew extends reg's subscription to the maximum lifetime of its
// resource (less the margin), which also reauthorizes it, and saves the
// Registration with the new expiration (clientState unchanged). An error
// matching graphclient.ErrNotFound means Graph no longer has the
// subscription: Recreate it.
//
// Graph API: PATCH /subscriptions/{id}
func (m *Manager) Renew(ctx context.Context, reg Registration) (Registration, error) {
	const op = "Renew"
	sub := reg.Subscription
	switch {
	case reg.ID == "":
		return Registration{}, invalid(op, "reg.ID", "is empty")
	case sub.ID == "":
		return Registration{}, invalid(op, "reg.Subscription.ID", "is empty")
	}
	exp := m.expiration(sub.Resource)
	req, err := m.gc.NewRequest(ctx, http.MethodPatch, "subscriptions/"+url.PathEscape(sub.ID),
		map[string]time.Time{"expirationDateTime": exp})
	if err != nil {
		return Registration{}, subErr(op, sub.ID, err)
	}
	var out Subscription
	if _, err := m.gc.Do(req, &out); err != nil {
		return Registration{}, subErr(op, sub.ID, err)
	}
	if out.ID == "" {
		out.ID = sub.ID
	}
	if out.ExpirationDateTime.IsZero() {
		out.ExpirationDateTime = exp
	}
	normalize(&out, sub)
	if out.LifecycleNotificationURL == "" {
		out.LifecycleNotificationURL = sub.LifecycleNotificationURL
	}
	reg.Subscription = out
	if err := m.store.Save(ctx, reg); err != nil {
		return Registration{}, subErr(op, sub.ID, fmt.Errorf("saving the registration: %w", err))
	}
	return reg, nil
}

// Recreate replaces the subscription of reg, which Graph no longer has
// (it expired, was removed, or renewing it failed with
// graphclient.ErrNotFound), by a new one on the same resource and URL,
// created and stored as Create does, with a new Registration ID and
// clientState; then it deletes reg from the Store. Resynchronise the
// resource afterwards: notifications between the two were lost.
//
// Graph API: POST /subscriptions
func (m *Manager) Recreate(ctx context.Context, reg Registration) (Registration, error) {
	const op = "Recreate"
	if reg.ID == "" {
		return Registration{}, invalid(op, "reg.ID", "is empty")
	}
	old := reg.Subscription
	owner := reg.Owner
	if owner == "" {
		owner = m.owner
	}
	fresh, err := m.create(ctx, op, owner, old.NotificationURL, Target{Resource: old.Resource, ChangeType: old.ChangeType})
	if err != nil {
		return Registration{}, err
	}
	if err := m.store.Delete(ctx, reg.ID); err != nil {
		return fresh, &Error{Op: op, Err: fmt.Errorf("deleting the replaced registration: %w", err)}
	}
	return fresh, nil
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
		return subErr(op, id, err)
	}
	if _, err := m.gc.Do(req, nil); err != nil {
		return subErr(op, id, err)
	}
	return nil
}

// Delete removes reg's subscription from Graph (one Graph no longer has is
// not an error), then reg from the Store. A Registration with an empty ID
// deletes the subscription only, e.g. one found by List that the Store
// does not hold.
//
// Graph API: DELETE /subscriptions/{id}
func (m *Manager) Delete(ctx context.Context, reg Registration) error {
	const op = "Delete"
	if reg.ID == "" && reg.Subscription.ID == "" {
		return invalid(op, "reg", "has neither an ID nor a subscription ID")
	}
	if reg.Subscription.ID != "" {
		if err := m.deleteSubscription(ctx, reg.Subscription.ID); err != nil {
			return subErr(op, reg.Subscription.ID, err)
		}
	}
	if reg.ID != "" {
		if err := m.store.Delete(ctx, reg.ID); err != nil {
			return &Error{Op: op, Err: fmt.Errorf("deleting the registration: %w", err)}
		}
	}
	return nil
}

func (m *Manager) deleteSubscription(ctx context.Context, id string) error {
	req, err := m.gc.NewRequest(ctx, http.MethodDelete, "subscriptions/"+url.PathEscape(id), nil)
	if err != nil {
		return err
	}
	if _, err := m.gc.Do(req, nil); err != nil && !errors.Is(err, graphclient.ErrNotFound) {
		return err
	}
	return nil
}

// Renewal is the outcome of renewing one stored subscription. It is a
// plain value.
type Renewal struct {
	// Old is the Registration as it was.
	Old Registration
	// New is the renewed or recreated Registration, already saved in the
	// Store (which no longer holds Old when Recreated). Zero when Err is
	// set.
	New Registration
	// Recreated reports that Old's subscription was gone (404 or already
	// expired) and New holds a fresh subscription with a new ID and
	// clientState. Resynchronise the resource: notifications between the
	// two were lost.
	Recreated bool
	Err       error
}

// RenewDue renews every subscription of regs that expires within the
// given window from now, and recreates those Graph no longer has (404) or
// that already expired; the Store is updated as it goes. Subscriptions
// further from expiry are left alone and not reported. It stops early,
// returning what it did, when ctx is done.
func (m *Manager) RenewDue(ctx context.Context, regs []Registration, within time.Duration) []Renewal {
	now := time.Now()
	var out []Renewal
	for _, reg := range regs {
		if ctx.Err() != nil {
			break
		}
		exp := reg.Subscription.ExpirationDateTime
		if exp.Sub(now) > within {
			continue
		}
		r := Renewal{Old: reg}
		if exp.After(now) {
			r.New, r.Err = m.Renew(ctx, reg)
		} else {
			r.Err = subErr("Renew", reg.Subscription.ID, fmt.Errorf("expired at %s: %w", exp.Format(time.RFC3339), graphclient.ErrNotFound))
		}
		if errors.Is(r.Err, graphclient.ErrNotFound) {
			r.New, r.Err = m.Recreate(ctx, reg)
			r.Recreated = r.Err == nil
		}
		out = append(out, r)
	}
	return out
}
