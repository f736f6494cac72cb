package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"golang.org/x/oauth2"

	"github.com/m365kit/m365kit/scopes"
)

// expiryMargin is how long before its expiry an access token is no longer
// handed out. MSAL uses the same five minutes.
const expiryMargin = 5 * time.Minute

// sweepEvery is how many cache insertions pass between sweeps of expired
// access tokens.
const sweepEvery = 1024

// cachedToken is an access token in the in-process cache.
type cachedToken struct {
	token   string
	expires time.Time
}

// flight is one in-progress acquisition that concurrent callers share. It
// runs on its own goroutine under a context detached from every caller's
// cancellation, so one caller giving up never fails the others; it is
// cancelled only when every caller waiting for it has given up.
type flight struct {
	done    chan struct{}
	token   string
	expires time.Time
	err     error

	waiters int                // callers waiting; guarded by App.mu
	cancel  context.CancelFunc // ends the flight's context
}

// acctLock serialises the token operations of one account in the process.
type acctLock struct {
	ch   chan struct{}
	refs int
}

// Source hands out one user's delegated access token for a set of
// features. It satisfies graphclient.TokenSource. It is safe for
// concurrent use; make one per user and feature set and reuse it.
type Source struct {
	app       *App
	accountID string
	scopes    []string // Graph scopes, OpenID Connect scopes removed
	key       string   // scope-set key of the in-process cache
}

// TokenSource returns the token source of the signed-in user accountID
// (User.AccountID, oid.tid) for the features' permissions (SignIn's
// User.Read is always included). No I/O happens until Token is called.
func (a *App) TokenSource(accountID string, features ...scopes.Feature) *Source {
	sc := graphScopes(features)
	return &Source{app: a, accountID: accountID, scopes: sc, key: strings.ToLower(strings.Join(sc, " "))}
}

// graphScopes returns the Graph scopes for features, without the OpenID
// Connect scopes MSAL adds itself (asking for them again makes MSAL report
// them as declined).
func graphScopes(features []scopes.Feature) []string {
	var out []string
	for _, s := range scopes.For(features...) {
		if !isOIDC(s) {
			out = append(out, s)
		}
	}
	return out
}

// isOIDC reports whether s is an OpenID Connect scope, not a Graph one.
func isOIDC(s string) bool {
	switch strings.ToLower(s) {
	case "openid", "profile", "email", "offline_access":
		return true
	}
	return false
}

// Scopes returns the Graph scopes the source requests.
func (s *Source) Scopes() []string { return slices.Clone(s.scopes) }

// AccountID returns the account the source is for.
func (s *Source) AccountID() string { return s.accountID }

// Token returns an access token for Microsoft Graph: from the in-process
// cache, else from the store, refreshed with the stored refresh token when
// it is about to expire (the rotated refresh token is saved). Concurrent
// callers for one account share one acquisition; a caller whose ctx ends
// returns ctx's error at once without failing the others, and the shared
// acquisition is cancelled only when no caller waits for it any more.
// Errors are *Error:
// ErrNotSignedIn, ErrReauthRequired, ErrConsentRequired or ErrTransient.
func (s *Source) Token(ctx context.Context) (string, error) {
	tok, _, err := s.token(ctx)
	return tok, err
}

func (s *Source) token(ctx context.Context) (string, time.Time, error) {
	if s.accountID == "" {
		return "", time.Time{}, &Error{Op: "token", Kind: ErrNotSignedIn, Reason: "account ID is empty"}
	}
	if t, ok := s.app.cached(s.accountID, s.key); ok {
		return t.token, t.expires, nil
	}
	return s.app.acquire(ctx, s.accountID, s.key, s.scopes)
}

// OAuth2 returns an oauth2.TokenSource over s whose Token calls use ctx,
// for libraries that take one. Make a new one per ctx.
func (s *Source) OAuth2(ctx context.Context) oauth2.TokenSource {
	return oauth2TokenSource{ctx: ctx, s: s}
}

type oauth2TokenSource struct {
	ctx context.Context // oauth2.TokenSource.Token has no ctx parameter; see OAuth2
	s   *Source
}

func (o oauth2TokenSource) Token() (*oauth2.Token, error) {
	tok, exp, err := o.s.token(o.ctx)
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: tok, TokenType: "Bearer", Expiry: exp}, nil
}

// cached returns an unexpired access token from the in-process cache.
func (a *App) cached(accountID, key string) (cachedToken, bool) {
	a.atMu.RLock()
	t, ok := a.atCache[accountID][key]
	a.atMu.RUnlock()
	if !ok || !a.now().Before(t.expires.Add(-expiryMargin)) {
		return cachedToken{}, false
	}
	return t, true
}

// remember puts a token in the in-process cache. Call with the account
// locked, so SignOut cannot interleave.
func (a *App) remember(accountID, key, token string, expires time.Time) {
	a.atMu.Lock()
	defer a.atMu.Unlock()
	// Every so often drop expired tokens, so the cache holds only the
	// accounts served in the last hour or so, not every account ever.
	if a.atPuts++; a.atPuts%sweepEvery == 0 {
		now := a.now()
		for acct, m := range a.atCache {
			for k, t := range m {
				if !now.Before(t.expires) {
					delete(m, k)
				}
			}
			if len(m) == 0 {
				delete(a.atCache, acct)
			}
		}
	}
	m := a.atCache[accountID]
	if m == nil {
		m = map[string]cachedToken{}
		a.atCache[accountID] = m
	}
	m[key] = cachedToken{token: token, expires: expires}
}

// forget drops an account from the in-process cache.
func (a *App) forget(accountID string) {
	a.atMu.Lock()
	defer a.atMu.Unlock()
	delete(a.atCache, accountID)
}

// lock takes the account's lock, or fails when ctx ends first.
func (a *App) lock(ctx context.Context, accountID string) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a.mu.Lock()
	l := a.locks[accountID]
	if l == nil {
		l = &acctLock{ch: make(chan struct{}, 1)}
		a.locks[accountID] = l
	}
	l.refs++
	a.mu.Unlock()
	release := func() {
		a.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(a.locks, accountID)
		}
		a.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// acquire gets a token through MSAL, sharing the work with concurrent
// callers for the same account and scopes. The work runs detached from
// ctx: a caller whose ctx ends gets ctx's error at once, while the
// acquisition goes on for the callers still waiting (and, if it refreshes,
// saves the rotated refresh token). When the last waiting caller gives up,
// the acquisition is cancelled and forgotten, so a later caller starts
// afresh instead of joining a cancelled one.
func (a *App) acquire(ctx context.Context, accountID, key string, sc []string) (string, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return "", time.Time{}, err
	}
	fkey := accountID + "\x00" + key
	a.mu.Lock()
	f := a.flights[fkey]
	if f == nil {
		// WithoutCancel keeps ctx's values (tracing) but not its
		// cancellation or deadline; MSAL bounds each request it sends
		// with a timeout of its own when the context has no deadline.
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		a.flights[fkey] = f
		go a.fly(fctx, f, fkey, accountID, key, sc)
	}
	f.waiters++
	a.mu.Unlock()
	select {
	case <-f.done:
		return f.token, f.expires, f.err
	case <-ctx.Done():
		a.mu.Lock()
		if f.waiters--; f.waiters == 0 {
			f.cancel()
			if a.flights[fkey] == f {
				delete(a.flights, fkey)
			}
		}
		a.mu.Unlock()
		return "", time.Time{}, ctx.Err()
	}
}

// fly runs one shared acquisition and hands its result to the waiters.
func (a *App) fly(ctx context.Context, f *flight, fkey, accountID, key string, sc []string) {
	defer f.cancel()
	tok, exp, err := a.acquireLocked(ctx, accountID, key, sc)
	a.mu.Lock()
	if a.flights[fkey] == f {
		delete(a.flights, fkey)
	}
	f.token, f.expires, f.err = tok, exp, err
	a.mu.Unlock()
	close(f.done)
}

// acquireLocked runs one silent acquisition with the account locked.
func (a *App) acquireLocked(ctx context.Context, accountID, key string, sc []string) (string, time.Time, error) {
	unlock, err := a.lock(ctx, accountID)
	if err != nil {
		return "", time.Time{}, err
	}
	defer unlock()
	if t, ok := a.cached(accountID, key); ok {
		return t.token, t.expires, nil
	}
	tok, exp, err := a.silent(ctx, accountID, key, sc)
	var e *Error
	if errors.As(err, &e) && e.Kind == ErrReauthRequired && e.StatusCode != 0 {
		// Another process may have rotated the refresh token between our
		// load and our refresh. If the stored tokens changed, try once
		// more with them before asking the user to sign in again.
		if now, _, lerr := a.store.Load(ctx, accountID); lerr == nil && sha256.Sum256(now) != e.loaded {
			return a.silent(ctx, accountID, key, sc)
		}
	}
	return tok, exp, err
}

// silent runs one MSAL silent acquisition on a fresh client.
func (a *App) silent(ctx context.Context, accountID, key string, sc []string) (string, time.Time, error) {
	ad := &cacheAdapter{store: a.store}
	c, err := a.client(ad)
	if err != nil {
		return "", time.Time{}, &Error{Op: "token", AccountID: accountID, Err: err}
	}
	res, err := c.AcquireTokenSilent(ctx, sc, confidential.WithSilentAccount(confidential.Account{HomeAccountID: accountID}))
	if err != nil {
		if ctx.Err() != nil {
			return "", time.Time{}, ctx.Err()
		}
		if ad.storeErr != nil {
			return "", time.Time{}, &Error{Op: "token", AccountID: accountID, Kind: ErrTransient, Reason: "token store failed", Err: ad.storeErr}
		}
		if !ad.found && !isCallErr(err) {
			if ad.loaded == nil {
				if _, _, lerr := a.store.Load(ctx, accountID); lerr != nil && !isNoToken(lerr) {
					return "", time.Time{}, &Error{Op: "token", AccountID: accountID, Kind: ErrTransient, Reason: "token store failed", Err: lerr}
				}
			}
			// err is MSAL's "no token found"; like every MSAL error it is
			// not kept (see classify).
			return "", time.Time{}, &Error{Op: "token", AccountID: accountID, Kind: ErrNotSignedIn, Reason: "no tokens stored for the account"}
		}
		e := classify("token", accountID, err, sc, grantedInBlob(ad.loaded))
		explainUnreachable(e, a.host, err)
		e.loaded = sha256.Sum256(ad.loaded)
		return "", time.Time{}, e
	}
	if ad.gone {
		return "", time.Time{}, &Error{Op: "token", AccountID: accountID, Kind: ErrNotSignedIn, Reason: "signed out during the refresh"}
	}
	a.remember(accountID, key, res.AccessToken, res.ExpiresOn)
	return res.AccessToken, res.ExpiresOn, nil
}

// SignOut deletes the account's stored tokens and forgets its cached
// access tokens in this process. Other App instances (other processes)
// keep access tokens they already hold in memory until those expire (at
// most about an hour) but can no longer refresh them. A refresh already
// under way elsewhere does not store its tokens again: it re-reads the
// store just before saving and saves only on the version it read, so it
// finds the account gone and reports ErrNotSignedIn.
func (a *App) SignOut(ctx context.Context, accountID string) error {
	if accountID == "" {
		return errors.New("auth: sign out: account ID is empty")
	}
	unlock, err := a.lock(ctx, accountID)
	if err != nil {
		return err
	}
	defer unlock()
	a.forget(accountID)
	if err := a.store.Delete(ctx, accountID); err != nil {
		return &Error{Op: "sign out", AccountID: accountID, Reason: "token store failed", Err: err}
	}
	return nil
}

// grantedInBlob returns the scopes of the access tokens in an MSAL cache
// blob: what was consented when they were issued.
func grantedInBlob(blob []byte) []string {
	if blob == nil {
		return nil
	}
	var doc struct {
		AccessToken map[string]struct {
			Target string `json:"target"`
		} `json:"AccessToken"`
	}
	if json.Unmarshal(blob, &doc) != nil {
		return nil
	}
	var out []string
	for _, at := range doc.AccessToken {
		for _, s := range strings.Fields(at.Target) {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

func isNoToken(err error) bool { return err != nil && errors.Is(err, ErrNoToken) }
