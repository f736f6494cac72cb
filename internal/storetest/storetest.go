// Package storetest holds the tests every auth.TokenStore must pass,
// shared by the stores of package auth and auth/sqlstore: the contract of
// conditional saves, and the interleaving of a refresh and a new sign-in
// in two processes that must not lose the sign-in's refresh token.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/scopes"
)

// Conditional checks the versions and conditional saves of an empty
// store, as the TokenStore documentation states them.
func Conditional(t *testing.T, s auth.TokenStore) {
	t.Helper()
	ctx := t.Context()
	const k = "adele.contoso"
	load := func(want string) int64 {
		t.Helper()
		v, version, err := s.Load(ctx, k)
		if err != nil || string(v) != want || version == 0 {
			t.Fatalf("Load = %q, version %d, %v; want %q and a version other than 0", v, version, err, want)
		}
		return version
	}
	conflict := func(value string, version int64) {
		t.Helper()
		if err := s.Save(ctx, k, []byte(value), version); !errors.Is(err, auth.ErrConflict) {
			t.Fatalf("Save(%q) on stale version %d: err = %v, want auth.ErrConflict", value, version, err)
		}
	}
	if _, _, err := s.Load(ctx, k); !errors.Is(err, auth.ErrNoToken) {
		t.Fatalf("Load of a missing key: %v, want auth.ErrNoToken", err)
	}
	if err := s.Save(ctx, k, []byte("one"), 0); err != nil {
		t.Fatal(err)
	}
	v1 := load("one")
	if err := s.Save(ctx, k, []byte("two"), v1); err != nil {
		t.Fatalf("Save on the loaded version: %v", err)
	}
	v2 := load("two")
	if v2 == v1 {
		t.Fatalf("two values share version %d", v1)
	}
	conflict("stale", v1)
	load("two")
	// Version 0 saves whatever is stored.
	if err := s.Save(ctx, k, []byte("three"), 0); err != nil {
		t.Fatal(err)
	}
	v3 := load("three")
	conflict("stale", v2)
	// A conditional save never brings a deleted key back, and the key
	// created again never matches a version read before the Delete.
	if err := s.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	conflict("back", v3)
	if _, _, err := s.Load(ctx, k); !errors.Is(err, auth.ErrNoToken) {
		t.Fatalf("a conditional save recreated a deleted key: %v", err)
	}
	if err := s.Save(ctx, k, []byte("again"), 0); err != nil {
		t.Fatal(err)
	}
	load("again")
	for _, old := range []int64{v1, v2, v3} {
		conflict("stale", old)
	}
}

// Increments has workers (each with its own store, from open, as
// separate processes have) add one to a counter rounds times each,
// through Load and conditional Save, retrying on conflict. A lost update
// shows as a smaller total.
func Increments(t *testing.T, open func() auth.TokenStore, workers, rounds int) {
	t.Helper()
	ctx := t.Context()
	const k = "counter"
	if err := open().Save(ctx, k, []byte("0"), 0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		s := open()
		wg.Go(func() {
			for range rounds {
				for {
					v, version, err := s.Load(ctx, k)
					if err != nil {
						errs <- err
						return
					}
					n, _ := strconv.Atoi(string(v))
					err = s.Save(ctx, k, []byte(strconv.Itoa(n+1)), version)
					if err == nil {
						break
					}
					if !errors.Is(err, auth.ErrConflict) {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	v, _, err := open().Load(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(v), strconv.Itoa(workers*rounds); got != want {
		t.Errorf("counter = %s after %d conditional increments: updates were lost", got, workers*rounds)
	}
}

const (
	clientID    = "6731de76-14a6-49ae-97bc-6eba6914391e"
	secret      = "storetest-secret-value"
	redirectURL = "https://app.example.com/auth/callback"
)

// Interleaving is where process B's new sign-in lands within process A's
// refresh of the same user's tokens.
type Interleaving int

const (
	// DuringRefresh: B commits while A's refresh request is with Entra,
	// after A loaded the tokens it refreshes and before A reloads them
	// to write the result (MSAL reloads just before it writes).
	DuringRefresh Interleaving = iota
	// BeforeSave: B commits after A's reload, just before A's save, so
	// A's save comes with a version that is no longer current.
	BeforeSave
)

// String returns the interleaving's name, for subtest names.
func (i Interleaving) String() string {
	if i == DuringRefresh {
		return "during refresh"
	}
	return "before save"
}

// SignInSurvivesRefresh runs, on the store open returns (one store per
// process, over the same data), the interleaving of issue 17: process A
// reads a user's expired tokens and refreshes them, process B signs the
// user in again (a new refresh token) and commits, then A writes back. B's
// refresh token must be what is stored in the end, A's caller must get
// its token, and the access token A obtained must be kept alongside B's
// tokens (it is for other scopes than B's).
func SignInSurvivesRefresh(t *testing.T, open func() auth.TokenStore, when Interleaving) {
	t.Helper()
	ctx := t.Context()
	srv := graphtest.New(t)
	srv.AddApp(graphtest.App{ClientID: clientID, ClientSecret: secret, RedirectURIs: []string{redirectURL}})
	tenant := srv.AddTenant("contoso.com")
	tenant.Grant(clientID, scopes.For(scopes.Calendar, scopes.Teams)...)
	tenant.AddUser("adele@contoso.com", "Adele Vance")

	sealKey := []byte(strings.Repeat("k", 32))
	newApp := func(hc *http.Client, wrap func(auth.TokenStore) auth.TokenStore) (*auth.App, auth.TokenStore) {
		t.Helper()
		sealed, err := auth.Sealed(open(), sealKey)
		if err != nil {
			t.Fatal(err)
		}
		var store auth.TokenStore = sealed
		if wrap != nil {
			store = wrap(sealed)
		}
		cred, err := auth.Secret(secret)
		if err != nil {
			t.Fatal(err)
		}
		if hc == nil {
			hc = srv.HTTPClient()
		}
		app, err := auth.New(auth.Config{ClientID: clientID, Credential: cred, RedirectURL: redirectURL,
			Store: store, AllowPlaintextStore: wrap != nil, HTTPClient: hc})
		if err != nil {
			t.Fatal(err)
		}
		return app, sealed
	}
	signIn := func(app *auth.App, fs ...scopes.Feature) *auth.User {
		t.Helper()
		u, p, err := app.SignInURL(auth.SignInRequest{Features: fs, LoginHint: "adele@contoso.com"})
		if err != nil {
			t.Fatal(err)
		}
		cb, err := srv.Browse(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		user, err := app.CompleteSignIn(ctx, cb, p)
		if err != nil {
			t.Fatal(err)
		}
		return user
	}

	first, store := newApp(nil, nil)
	u := signIn(first, scopes.Calendar)
	expire(ctx, t, store, u.AccountID)

	// B: another process signs the user in again, for more features.
	var bRT string
	var once sync.Once
	b := func() {
		once.Do(func() {
			app, s := newApp(nil, nil)
			signIn(app, scopes.Calendar, scopes.Teams)
			bRT = refreshToken(ctx, t, s, u.AccountID)
		})
	}
	// A: a third process refreshes for the calendar, with B's sign-in
	// forced into the chosen place of its refresh.
	var a *auth.App
	switch when {
	case DuringRefresh:
		hc := srv.HTTPClient()
		a, _ = newApp(&http.Client{Transport: afterToken{next: hc.Transport, hook: b}, Timeout: hc.Timeout}, nil)
	case BeforeSave:
		a, _ = newApp(nil, func(s auth.TokenStore) auth.TokenStore { return &beforeSave{TokenStore: s, hook: b} })
	}
	aRT := refreshToken(ctx, t, store, u.AccountID)
	tok, err := a.TokenSource(u.AccountID, scopes.Calendar).Token(ctx)
	if err != nil {
		t.Fatalf("A's refresh: %v", err)
	}
	if bRT == "" {
		t.Fatal("B never signed in: the interleaving did not happen")
	}
	if bRT == aRT {
		t.Fatal("B's sign-in did not get a new refresh token")
	}
	got := refreshToken(ctx, t, store, u.AccountID)
	switch got {
	case bRT:
	case aRT:
		t.Fatal("the stored refresh token is the one A refreshed with: B's sign-in was lost")
	default:
		t.Fatal("the stored refresh token is A's rotated one, written over B's newer sign-in")
	}
	if !storedAccessToken(ctx, t, store, u.AccountID, tok) {
		t.Error("the access token A obtained was not kept with B's tokens")
	}
	// A fourth process gets a token from the store, no refresh.
	before := srv.TokenCalls()
	d, _ := newApp(nil, nil)
	if _, err := d.TokenSource(u.AccountID, scopes.Calendar).Token(ctx); err != nil || srv.TokenCalls() != before {
		t.Errorf("a new process: %d token requests, err %v; want a token from the store", srv.TokenCalls()-before, err)
	}
}

// afterToken runs hook once the token endpoint has answered a request.
type afterToken struct {
	next http.RoundTripper
	hook func()
}

func (a afterToken) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(req)
	if err == nil && req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/oauth2/v2.0/token") {
		a.hook()
	}
	return resp, err
}

// beforeSave runs hook before every save (hook runs once): the App over
// it only refreshes, so its first save is the refresh's.
type beforeSave struct {
	auth.TokenStore
	hook func()
}

func (s *beforeSave) Save(ctx context.Context, key string, value []byte, version int64) error {
	s.hook()
	return s.TokenStore.Save(ctx, key, value, version)
}

// cacheDoc is the part of MSAL's cache blob the checks read.
type cacheDoc struct {
	AccessToken map[string]struct {
		Secret    string `json:"secret"`
		ExpiresOn string `json:"expires_on"`
	} `json:"AccessToken"`
	RefreshToken map[string]struct {
		Secret string `json:"secret"`
	} `json:"RefreshToken"`
}

func load(ctx context.Context, t *testing.T, s auth.TokenStore, key string) (cacheDoc, map[string]any) {
	t.Helper()
	blob, _, err := s.Load(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	var doc cacheDoc
	var raw map[string]any
	if err := json.Unmarshal(blob, &doc); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(blob, &raw); err != nil {
		t.Fatal(err)
	}
	return doc, raw
}

// refreshToken returns the one refresh token stored for key.
func refreshToken(ctx context.Context, t *testing.T, s auth.TokenStore, key string) string {
	t.Helper()
	doc, _ := load(ctx, t, s, key)
	if len(doc.RefreshToken) != 1 {
		t.Fatalf("%d refresh tokens stored, want 1", len(doc.RefreshToken))
	}
	for _, rt := range doc.RefreshToken {
		return rt.Secret
	}
	return ""
}

// storedAccessToken reports whether tok is among the stored access tokens.
func storedAccessToken(ctx context.Context, t *testing.T, s auth.TokenStore, key, tok string) bool {
	t.Helper()
	doc, _ := load(ctx, t, s, key)
	for _, at := range doc.AccessToken {
		if at.Secret == tok {
			return true
		}
	}
	return false
}

// expire makes every stored access token of key expired, so the next
// acquisition must refresh.
func expire(ctx context.Context, t *testing.T, s auth.TokenStore, key string) {
	t.Helper()
	_, raw := load(ctx, t, s, key)
	ats, _ := raw["AccessToken"].(map[string]any)
	if len(ats) == 0 {
		t.Fatal("no access token stored")
	}
	past := fmt.Sprint(time.Now().Add(-time.Hour).Unix())
	for _, at := range ats {
		m := at.(map[string]any)
		m["expires_on"], m["extended_expires_on"] = past, past
	}
	blob, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, key, blob, 0); err != nil {
		t.Fatal(err)
	}
}
