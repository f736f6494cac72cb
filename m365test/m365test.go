// Package m365test gives tests and first programs a fake Microsoft 365 with
// the SDK already connected to it: graphtest's demo tenant (contoso.com,
// Adele Vance's week of meetings, her mailbox, teams and chats), an
// auth.App for the demo app registration, and users signed in through the
// real sign-in flow, each with a Graph client:
//
//	sandbox := m365test.New(t)
//	adele, err := sandbox.SignIn(ctx, "adele", scopes.Calendar)
//	...
//	for ev, err := range calendar.New(adele.Graph).Events(ctx, week, nil) {
//
// graphtest is the fake itself and imports nothing of the SDK but scopes,
// so it cannot share a misconception with the client; m365test sits above
// it, auth and graphclient and does what a program does with them: the
// sign-in URL, graphtest's browser (Server.Browse), the callback, the
// token source and the Graph client. Everything the sandbox holds is
// reachable for tests that need more: Sandbox.Server for faults, the
// request log and subscriptions, Sandbox.Demo for the tenant's users and
// items. Sandbox.ServeWebhook serves a notification endpoint the fake
// delivers change notifications to, over HTTPS as Graph does.
//
// The same sign-in can be recorded and replayed (package
// graphtest/recording): Sandbox.SignInRecorded records a session's
// exchanges with Entra ID and Graph, and ReplaySignIn signs the recorded
// user in again from the recording alone, offline, with the ID token
// checked as a live one.
//
// The name follows Microsoft's own: a Microsoft 365 developer sandbox is a
// ready-made tenant with sample users (Adele Vance, Alex Wilber, ...) and
// sample data, which is what the demo tenant imitates.
package m365test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/scopes"
)

// Sandbox is a running fake Microsoft 365 with the demo tenant and an App
// registered there. Its methods are safe for concurrent use; its fields
// are set by New and Start.
type Sandbox struct {
	// Server is the fake: faults (Inject, Chaos), the request log,
	// subscriptions and notifications, its clock (graphtest.WithClock).
	Server *graphtest.Server
	// Demo is the demo tenant, contoso.com: its users (Adele, Alex, Diego,
	// Lynne, Admin), their meetings, mail, teams and chats, and the demo
	// app registration (Demo.App), which has admin consent for every
	// feature.
	Demo *graphtest.Demo
	// App is the auth.App SignIn signs users in through: the demo app
	// registration, reaching the fake through Server.HTTPClient, over an
	// in-memory token store sealed with a random key. A test may set it
	// to an App of its own before signing users in (built from AppConfig,
	// over the token store under test, say).
	App *auth.App

	mu       sync.Mutex
	webhooks []*httptest.Server // ServeWebhook's, closed by Close
	trusted  *x509.CertPool     // their certificates
}

// New starts a sandbox for a test, with opts for the fake
// (graphtest.WithClock, graphtest.WithTokenLifetime, ...). It is closed
// when the test ends.
func New(tb testing.TB, opts ...graphtest.Option) *Sandbox {
	tb.Helper()
	sb, err := Start(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(sb.Close)
	return sb
}

// Start starts a sandbox, for a program or an Example; Close it when done.
// opts configure the fake, as for New.
func Start(opts ...graphtest.Option) (*Sandbox, error) {
	srv := graphtest.NewServer(opts...)
	sb := &Sandbox{Server: srv, Demo: srv.AddDemoTenant()}
	app, err := newSealedApp(sb.AppConfig())
	if err != nil {
		srv.Close()
		return nil, err
	}
	sb.App = app
	return sb, nil
}

// Close stops the fake, then the endpoints ServeWebhook started.
func (sb *Sandbox) Close() {
	sb.Server.Close()
	sb.mu.Lock()
	defer sb.mu.Unlock()
	for _, ts := range sb.webhooks {
		ts.Close()
	}
	sb.webhooks = nil
}

// ServeWebhook serves h as a program's notification endpoint, the way
// Graph reaches one: over HTTPS (on a loopback port, with a certificate
// the fake's notification delivery is told to trust through
// Server.SetNotificationClient). It returns the endpoint's URL, the
// notification URL to subscribe with (notify.Manager.Create). Every
// endpoint served stays reachable until the sandbox closes.
func (sb *Sandbox) ServeWebhook(h http.Handler) (notificationURL string) {
	ts := httptest.NewTLSServer(h)
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if sb.trusted == nil {
		sb.trusted = x509.NewCertPool()
	}
	sb.trusted.AddCert(ts.Certificate())
	sb.webhooks = append(sb.webhooks, ts)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: sb.trusted.Clone()}, ForceAttemptHTTP2: true}
	sb.Server.SetNotificationClient(&http.Client{Transport: tr})
	return ts.URL
}

// AppConfig returns the auth.Config of the demo app registration, reaching
// the fake: ClientID, Credential (its client secret), RedirectURL and
// HTTPClient are set, Store is not. Tests that build an App of their own
// start from it.
func (sb *Sandbox) AppConfig() auth.Config {
	cred, err := auth.Secret(sb.Demo.App.ClientSecret)
	if err != nil {
		panic(err) // the demo secret is a fixed, valid constant
	}
	return auth.Config{
		ClientID:    sb.Demo.App.ClientID,
		Credential:  cred,
		RedirectURL: sb.Demo.App.RedirectURIs[0],
		HTTPClient:  sb.Server.HTTPClient(),
	}
}

// Session is a user signed in to the sandbox. It is plain data; the values
// it points to are safe for concurrent use.
type Session struct {
	// User is who signed in, as App.CompleteSignIn returned them:
	// AccountID, TenantID, Name, Username, GrantedScopes.
	User *auth.User
	// Graph is a Graph client acting for User through the sandbox's App,
	// over the fake's HTTP client; its tokens refresh as in production.
	Graph *graphclient.Client
	// App is the auth.App User signed in through (other features'
	// token sources, SignOut).
	App *auth.App
}

// SignIn signs a user of the demo tenant in through App, the way a
// browser would: the sign-in URL (login_hint user), graphtest's browser,
// the callback. user is a user principal name ("adele@contoso.com") or its
// part before the @ ("adele"), for the demo users and any added to
// Demo.Tenant. features are the features to request (none means every
// feature); the Session's Graph client asks tokens for the same.
func (sb *Sandbox) SignIn(ctx context.Context, user string, features ...scopes.Feature) (*Session, error) {
	upn, err := sb.upn("SignIn", user)
	if err != nil {
		return nil, err
	}
	return signInWith(ctx, sb.App, sb.Server.HTTPClient(), sb.Server.Browse, upn, features)
}

// upn returns the user principal name of user ("adele" or
// "adele@contoso.com") in the demo tenant, or an error naming op when the
// tenant has no such user.
func (sb *Sandbox) upn(op, user string) (string, error) {
	upn := user
	if !strings.Contains(upn, "@") {
		upn += "@" + sb.Demo.Tenant.Domain
	}
	if user == "" || sb.Demo.Tenant.User(upn) == nil {
		return "", fmt.Errorf("m365test: %s: user %q: no such user in %s", op, user, sb.Demo.Tenant.Domain)
	}
	return upn, nil
}

// newSealedApp builds an App over a sealed in-memory store with a random
// key.
func newSealedApp(cfg auth.Config) (*auth.App, error) {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand never fails on supported platforms
	store, err := auth.Sealed(auth.NewMemoryStore(), key)
	if err != nil {
		return nil, fmt.Errorf("m365test: %w", err)
	}
	cfg.Store = store
	app, err := auth.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("m365test: %w", err)
	}
	return app, nil
}

// signInWith signs a user in through app with browse as the browser, and
// returns a Session with a Graph client over hc.
func signInWith(ctx context.Context, app *auth.App, hc *http.Client, browse func(context.Context, string) (*http.Request, error), loginHint string, features []scopes.Feature) (*Session, error) {
	if len(features) == 0 {
		features = scopes.Features()
	}
	fail := func(err error) (*Session, error) {
		if loginHint == "" {
			return nil, fmt.Errorf("m365test: sign in: %w", err)
		}
		return nil, fmt.Errorf("m365test: sign in %s: %w", loginHint, err)
	}
	u, pending, err := app.SignInURL(auth.SignInRequest{Features: features, LoginHint: loginHint})
	if err != nil {
		return fail(err)
	}
	callback, err := browse(ctx, u)
	if err != nil {
		return fail(err)
	}
	au, err := app.CompleteSignIn(ctx, callback, pending)
	if err != nil {
		return fail(err)
	}
	gc, err := graphclient.New(app.TokenSource(au.AccountID, features...), graphclient.WithHTTPClient(hc))
	if err != nil {
		return fail(err)
	}
	return &Session{User: au, Graph: gc, App: app}, nil
}
