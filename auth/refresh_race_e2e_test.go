package auth_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/scopes"
)

func TestForcedExpiryRefreshesOnceFor50Callers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t) // refresh tokens are single-use: only a stored rotation works twice
	u := e.mustSignIn(ctx, t, "adele@contoso.com")
	old, _ := e.app.TokenSource(u.AccountID, scopes.Calendar).Token(ctx)
	for round := range 2 {
		e.expireStored(ctx, t, u.AccountID)
		app := e.newApp(t, nil) // no in-process cache
		src := app.TokenSource(u.AccountID, scopes.Calendar)
		before := e.srv.TokenCalls()
		var wg sync.WaitGroup
		toks := make([]string, 50)
		errs := make([]error, 50)
		for i := range 50 {
			wg.Go(func() { toks[i], errs[i] = src.Token(ctx) })
		}
		wg.Wait()
		for i := range 50 {
			if errs[i] != nil {
				t.Fatalf("round %d caller %d: %v", round, i, errs[i])
			}
			if toks[i] != toks[0] {
				t.Fatalf("round %d: callers got different tokens", round)
			}
		}
		if n := e.srv.TokenCalls() - before; n != 1 {
			t.Errorf("round %d: %d token requests for 50 concurrent callers, want 1", round, n)
		}
		if toks[0] == old {
			t.Errorf("round %d: the expired token was handed out", round)
		}
		old = toks[0]
	}
}

// staleStore answers the first Load of a key with an old value, as a
// process that read the store just before another one refreshed would.
type staleStore struct {
	auth.TokenStore
	mu    sync.Mutex
	stale map[string]stale
}

type stale struct {
	value   []byte
	version int64
}

func (s *staleStore) Load(ctx context.Context, key string) ([]byte, int64, error) {
	s.mu.Lock()
	v, ok := s.stale[key]
	delete(s.stale, key)
	s.mu.Unlock()
	if ok {
		return v.value, v.version, nil
	}
	return s.TokenStore.Load(ctx, key)
}

// TestRefreshRaceAcrossProcesses: two processes hold the same expired
// tokens; the first refreshes (rotating the refresh token), the second
// then tries the old refresh token, which the fake refuses once used. The
// second must notice the stored tokens changed and use them, not tell the
// user to sign in again.
func TestRefreshRaceAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	u := e.mustSignIn(ctx, t, "adele@contoso.com")
	e.expireStored(ctx, t, u.AccountID)
	snapshot, version, err := e.store.Load(ctx, u.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	first, err := e.newApp(t, nil).TokenSource(u.AccountID, scopes.Calendar).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old := &staleStore{TokenStore: e.store, stale: map[string]stale{u.AccountID: {snapshot, version}}}
	second := e.newApp(t, func(c *auth.Config) { c.Store, c.AllowPlaintextStore = old, true })
	got, err := second.TokenSource(u.AccountID, scopes.Calendar).Token(ctx)
	if err != nil {
		t.Fatalf("second process: %v", err)
	}
	if got != first {
		t.Error("the second process did not pick up the first one's refreshed token")
	}
}

// gateStore holds every Load of the inner store until open is closed, and
// says when the first one arrived. A Load whose ctx ends first fails.
type gateStore struct {
	auth.TokenStore
	entered chan struct{}
	once    sync.Once
	open    chan struct{}
	loads   atomic.Int32
}

func (s *gateStore) Load(ctx context.Context, key string) ([]byte, int64, error) {
	s.loads.Add(1)
	s.once.Do(func() { close(s.entered) })
	select {
	case <-s.open:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	return s.TokenStore.Load(ctx, key)
}

// gatedApp returns a new App whose store Loads wait for gate.open.
func (e *env) gatedApp(t *testing.T) (*auth.App, *gateStore) {
	t.Helper()
	gate := &gateStore{TokenStore: e.store, entered: make(chan struct{}), open: make(chan struct{})}
	return e.newApp(t, func(c *auth.Config) { c.Store, c.AllowPlaintextStore = gate, true }), gate
}

// TestCancelledCallerDoesNotFailOthers: the caller that started a refresh
// gives up while another caller waits for the same refresh. The giver-up
// gets its context's error at once; the refresh goes on for the other
// caller, is not started over, and its rotated refresh token is saved.
func TestCancelledCallerDoesNotFailOthers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	u := e.mustSignIn(ctx, t, "adele@contoso.com")
	e.expireStored(ctx, t, u.AccountID)
	app, gate := e.gatedApp(t)
	src := app.TokenSource(u.AccountID, scopes.Calendar)
	before := e.srv.TokenCalls()

	type result struct {
		tok string
		err error
	}
	first, second := make(chan result, 1), make(chan result, 1)
	ctx1, cancel1 := context.WithCancel(ctx)
	go func() { tok, err := src.Token(ctx1); first <- result{tok, err} }()
	<-gate.entered // the refresh is under way, held in the store
	go func() { tok, err := src.Token(ctx); second <- result{tok, err} }()
	for auth.FlightWaiters(app, src) < 2 {
		runtime.Gosched()
	}
	cancel1()
	if r := <-first; !errors.Is(r.err, context.Canceled) || r.tok != "" {
		t.Fatalf("cancelled caller: %q, %v; want context.Canceled", r.tok, r.err)
	}
	close(gate.open)
	r := <-second
	if r.err != nil {
		t.Fatalf("waiting caller failed with the other caller's cancellation: %v", r.err)
	}
	if got := e.me(ctx, t, r.tok); got != e.adele.ID {
		t.Errorf("token is for %q, want %q", got, e.adele.ID)
	}
	if n := e.srv.TokenCalls() - before; n != 1 {
		t.Errorf("%d token requests, want 1 (the refresh was started over)", n)
	}
	// The rotated tokens were saved: a new process gets a token from the
	// store without asking Entra.
	before = e.srv.TokenCalls()
	if _, err := e.newApp(t, nil).TokenSource(u.AccountID, scopes.Calendar).Token(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.TokenCalls() - before; n != 0 {
		t.Errorf("a new App made %d token requests, want 0: the refreshed tokens were not saved", n)
	}
	// One refresh, uncontested, for comparison: MSAL reads the store
	// more than once per refresh.
	e.expireStored(ctx, t, u.AccountID)
	plain, open := e.gatedApp(t)
	close(open.open)
	if _, err := plain.TokenSource(u.AccountID, scopes.Calendar).Token(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := gate.loads.Load(), open.loads.Load(); got != want {
		t.Errorf("%d store loads, want %d as for one refresh (the refresh was started over)", got, want)
	}
}

// TestAllCallersGone: when the only caller gives up, the acquisition is
// cancelled and forgotten; the next caller starts a new one and succeeds.
func TestAllCallersGone(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	u := e.mustSignIn(ctx, t, "adele@contoso.com")
	e.expireStored(ctx, t, u.AccountID)
	app, gate := e.gatedApp(t)
	src := app.TokenSource(u.AccountID, scopes.Calendar)

	ctx1, cancel1 := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := src.Token(ctx1); done <- err }()
	<-gate.entered
	cancel1()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v, want context.Canceled", err)
	}
	if n := auth.FlightWaiters(app, src); n != 0 {
		t.Fatalf("%d waiters left on a forgotten acquisition", n)
	}
	close(gate.open)
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatalf("next caller: %v", err)
	}
	if got := e.me(ctx, t, tok); got != e.adele.ID {
		t.Errorf("token is for %q, want %q", got, e.adele.ID)
	}
}

// signOutBeforeSave signs the account out just before the first save (of
// an App that only refreshes), as another process could between a
// refresh's last load and its save.
type signOutBeforeSave struct {
	auth.TokenStore
	signOut func()
	once    sync.Once
}

func (s *signOutBeforeSave) Save(ctx context.Context, key string, value []byte, version int64) error {
	s.once.Do(s.signOut)
	return s.TokenStore.Save(ctx, key, value, version)
}

// TestSignOutJustBeforeSaveSticks: a sign-out that lands after the
// refresh reloaded the store, just before it saves, is not undone either:
// the conditional save fails and the refresh finds the account gone.
func TestSignOutJustBeforeSaveSticks(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	u := e.mustSignIn(ctx, t, "adele@contoso.com")
	e.expireStored(ctx, t, u.AccountID)
	other := e.newApp(t, nil)
	store := &signOutBeforeSave{TokenStore: e.store, signOut: func() {
		if err := other.SignOut(ctx, u.AccountID); err != nil {
			t.Error(err)
		}
	}}
	app := e.newApp(t, func(c *auth.Config) { c.Store, c.AllowPlaintextStore = store, true })
	if _, err := app.TokenSource(u.AccountID, scopes.Calendar).Token(ctx); !errors.Is(err, auth.ErrNotSignedIn) {
		t.Errorf("refresh across a sign-out: err = %v, want ErrNotSignedIn", err)
	}
	if keys := e.raw.Keys(); len(keys) != 0 {
		t.Errorf("the refresh stored tokens again after the sign-out: %q", keys)
	}
}
