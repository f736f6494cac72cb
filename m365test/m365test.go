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
// items.
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
	"fmt"
	"strings"
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
	cfg := sb.AppConfig()
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand never fails on supported platforms
	store, err := auth.Sealed(auth.NewMemoryStore(), key)
	if err == nil {
		cfg.Store = store
		sb.App, err = auth.New(cfg)
	}
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("m365test: %w", err)
	}
	return sb, nil
}

// Close stops the fake.
func (sb *Sandbox) Close() { sb.Server.Close() }

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
	upn := user
	if !strings.Contains(upn, "@") {
		upn += "@" + sb.Demo.Tenant.Domain
	}
	if user == "" || sb.Demo.Tenant.User(upn) == nil {
		return nil, fmt.Errorf("m365test: SignIn: user %q: no such user in %s", user, sb.Demo.Tenant.Domain)
	}
	if len(features) == 0 {
		features = scopes.Features()
	}
	u, pending, err := sb.App.SignInURL(auth.SignInRequest{Features: features, LoginHint: upn})
	if err != nil {
		return nil, fmt.Errorf("m365test: SignIn %s: %w", upn, err)
	}
	callback, err := sb.Server.Browse(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("m365test: SignIn %s: %w", upn, err)
	}
	au, err := sb.App.CompleteSignIn(ctx, callback, pending)
	if err != nil {
		return nil, fmt.Errorf("m365test: SignIn %s: %w", upn, err)
	}
	gc, err := graphclient.New(sb.App.TokenSource(au.AccountID, features...), graphclient.WithHTTPClient(sb.Server.HTTPClient()))
	if err != nil {
		return nil, fmt.Errorf("m365test: SignIn %s: %w", upn, err)
	}
	return &Session{User: au, Graph: gc, App: sb.App}, nil
}
