package reliability_test

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/auth/sqlstore"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/scopes"
)

const (
	loadClientID    = "0d2c7f3e-92b4-4f37-a6a1-2b8f0e51d9c4"
	loadSecret      = "reliability-suite-client-secret-7f3e"
	loadRedirectURL = "https://app.example.com/auth/callback"
	loadUsers       = 20
	loadGoroutines  = 50
	// loadExpiries is how many times every user's access token must
	// expire during the run.
	loadExpiries = 2
	// tokenLifetime makes graphtest's access tokens live five minutes and
	// two seconds: MSAL and auth stop handing a token out five minutes
	// before it expires, so each token serves about two seconds (one to
	// two: expiries have whole-second precision), then every caller needs
	// a new one while Graph still accepts the old one for requests in
	// flight. That is how tokens expire mid-run in production.
	tokenLifetime = 5*time.Minute + 2*time.Second
	// minRefreshGap is the least time between two refreshes of one user
	// that are for two different expiries.
	minRefreshGap = 500 * time.Millisecond
)

// tokenTap sits between auth and the fake authority and records what the
// token endpoint was sent and answered: the credentials (for the leak
// checks) and, per account, when each refresh happened and the refresh
// token it issued last.
type tokenTap struct {
	base    http.RoundTripper
	secrets *secrets

	mu        sync.Mutex
	refreshes map[string][]time.Time // account -> successful refresh_token grants
	issued    map[string]time.Time   // account -> when its current token was issued
	lastRT    map[string]string      // account -> last refresh token issued
	failures  []string
}

func (tp *tokenTap) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != graphtest.LoginHost || !strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") || r.Body == nil {
		return tp.base.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		return nil, err
	}
	form, _ := url.ParseQuery(string(body))
	for _, k := range []string{"client_secret", "code", "refresh_token", "code_verifier", "client_assertion"} {
		tp.secrets.add(k+" (sent)", form.Get(k))
	}
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	resp, err := tp.base.RoundTrip(r2)
	if err != nil {
		return nil, err
	}
	rb, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	if err != nil {
		return resp, nil
	}
	var tr struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		IDToken      string `json:"id_token"`
		ClientInfo   string `json:"client_info"`
	}
	_ = json.Unmarshal(rb, &tr)
	tp.secrets.add("access token", tr.AccessToken)
	tp.secrets.add("refresh token", tr.RefreshToken)
	tp.secrets.add("ID token", tr.IDToken)
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if resp.StatusCode != http.StatusOK {
		if form.Get("grant_type") == "authorization_code" {
			return resp, nil // the suite replays codes on purpose
		}
		tp.failures = append(tp.failures, fmt.Sprintf("%s: %d", form.Get("grant_type"), resp.StatusCode))
		return resp, nil
	}
	var ci struct{ UID, UTID string }
	if b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(tr.ClientInfo, "=")); err == nil {
		_ = json.Unmarshal(b, &ci)
	}
	acct := ci.UID + "." + ci.UTID
	if form.Get("grant_type") == "refresh_token" {
		tp.refreshes[acct] = append(tp.refreshes[acct], time.Now())
	}
	tp.issued[acct] = time.Now()
	tp.lastRT[acct] = tr.RefreshToken
	return resp, nil
}

func (tp *tokenTap) refreshCount(acct string) int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return len(tp.refreshes[acct])
}

// storedRefreshToken returns the refresh token in an MSAL cache blob.
func storedRefreshToken(t *testing.T, blob []byte) string {
	t.Helper()
	var doc struct {
		RefreshToken map[string]struct {
			Secret string `json:"secret"`
		} `json:"RefreshToken"`
	}
	if err := json.Unmarshal(blob, &doc); err != nil {
		t.Fatalf("stored token cache: %v", err)
	}
	if len(doc.RefreshToken) != 1 {
		t.Fatalf("stored token cache holds %d refresh tokens, want 1", len(doc.RefreshToken))
	}
	for _, rt := range doc.RefreshToken {
		return rt.Secret
	}
	return ""
}

func sealKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// runRefreshLoad signs 20 users in and has 50 goroutines per user call
// Graph until every user's access token expired loadExpiries times.
func runRefreshLoad(t *testing.T, inner auth.TokenStore) {
	ctx := t.Context()
	srv := graphtest.New(t, graphtest.WithTokenLifetime(tokenLifetime))
	srv.AddApp(graphtest.App{ClientID: loadClientID, ClientSecret: loadSecret, RedirectURIs: []string{loadRedirectURL}})
	tenant := srv.AddTenant("contoso.com")
	tenant.Grant(loadClientID, scopes.For(scopes.Calendar)...)
	sec := &secrets{}
	sec.add("client secret", loadSecret)
	cookieKey := sealKey(7)
	sec.add("cookie key", string(cookieKey))

	hc := srv.HTTPClient()
	tap := &tokenTap{base: hc.Transport, secrets: sec, refreshes: map[string][]time.Time{}, issued: map[string]time.Time{}, lastRT: map[string]string{}}
	sealed, err := auth.Sealed(inner, sealKey(9))
	if err != nil {
		t.Fatal(err)
	}
	cred, err := auth.Secret(loadSecret)
	if err != nil {
		t.Fatal(err)
	}
	app, err := auth.New(auth.Config{ClientID: loadClientID, Credential: cred, RedirectURL: loadRedirectURL, Store: sealed, HTTPClient: wrapClient(hc, tap)})
	if err != nil {
		t.Fatal(err)
	}
	errs := &errorLog{}
	logs := &lockedBuffer{}

	// Sign everyone in through the browser flow, the pending sign-in in a
	// sealed cookie.
	accounts := make([]string, loadUsers)
	for i := range loadUsers {
		u := tenant.AddUser(fmt.Sprintf("user%02d@contoso.com", i), fmt.Sprintf("User %02d", i))
		authURL, pending, err := app.SignInURL(auth.SignInRequest{Features: []scopes.Feature{scopes.Calendar}, LoginHint: u.UserPrincipalName})
		if err != nil {
			t.Fatal(err)
		}
		sec.add("PKCE verifier", pending.Verifier)
		cookie, err := auth.PendingCookie(cookieKey, pending)
		if err != nil {
			t.Fatal(err)
		}
		sec.add("cookie value", cookie.Value)
		cb, err := srv.Browse(ctx, authURL)
		if err != nil {
			t.Fatal(err)
		}
		cb.AddCookie(cookie)
		p, err := auth.ReadPendingCookie(cb, cookieKey)
		if err != nil {
			t.Fatal(err)
		}
		user, err := app.CompleteSignIn(ctx, cb, p)
		if err != nil {
			t.Fatal(err)
		}
		sec.add("authorization code", cb.Form.Get("code"))
		accounts[i] = user.AccountID
		// A replayed callback (the code is single-use) and a tampered
		// cookie fail; their errors must not carry the code or cookie.
		replay, err := http.NewRequestWithContext(ctx, cb.Method, cb.URL.String(), strings.NewReader(cb.PostForm.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		replay.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		_, err = app.CompleteSignIn(ctx, replay, p)
		if !errors.Is(err, auth.ErrSignInFailed) {
			t.Errorf("a replayed callback: err = %v, want ErrSignInFailed", err)
		}
		errs.add(err)
		tampered := &http.Request{Header: http.Header{}}
		tampered.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value[:len(cookie.Value)-4] + "AAAA"})
		if _, err := auth.ReadPendingCookie(tampered, cookieKey); err == nil {
			t.Error("a tampered pending-sign-in cookie was accepted")
		} else {
			errs.add(err)
		}
	}
	signInCalls := srv.TokenCalls()

	// The load: 50 goroutines per user, each calling Graph until every
	// user's token expired loadExpiries times.
	var calls, failures atomic.Int64
	var done atomic.Bool
	allRefreshed := func() bool {
		for _, a := range accounts {
			if tap.refreshCount(a) < loadExpiries {
				return false
			}
		}
		return true
	}
	t0 := time.Now()
	var wg sync.WaitGroup
	for i, acct := range accounts {
		gc, err := graphclient.New(app.TokenSource(acct, scopes.Calendar), graphclient.WithHTTPClient(hc),
			graphclient.WithLogger(debugLogger(logs).With("user", i)), graphclient.WithRetry(fastRetry()))
		if err != nil {
			t.Fatal(err)
		}
		for range loadGoroutines {
			wg.Go(func() {
				for !done.Load() {
					req, err := gc.NewRequest(ctx, http.MethodGet, "me", nil)
					if err == nil {
						_, err = gc.Do(req, nil)
					}
					calls.Add(1)
					if err != nil {
						failures.Add(1)
						errs.add(err)
					}
					if allRefreshed() || time.Since(t0) > 2*time.Minute {
						done.Store(true)
					}
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(t0)

	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d Graph calls failed; first: %s", n, calls.Load(), strings.SplitN(errs.String(), "\n", 2)[0])
	}
	if !allRefreshed() {
		t.Fatalf("after %v not every user refreshed %d times", elapsed, loadExpiries)
	}
	tap.mu.Lock()
	refreshes, maxPerUser := 0, 0
	for _, a := range accounts {
		ts := tap.refreshes[a]
		refreshes += len(ts)
		maxPerUser = max(maxPerUser, len(ts))
		for k := 1; k < len(ts); k++ {
			if gap := ts[k].Sub(ts[k-1]); gap < minRefreshGap {
				t.Errorf("account %s refreshed twice within %v: more than one refresh for one expiry", a, gap)
			}
		}
	}
	if len(tap.failures) > 0 {
		t.Errorf("failed token requests: %v", tap.failures)
	}
	lastRT := tap.lastRT
	tap.mu.Unlock()
	if got, want := srv.TokenCalls()-signInCalls, refreshes; got != want {
		t.Errorf("%d token requests during the load, want %d (one per user per expiry)", got, want)
	}

	// The rotated refresh tokens were saved, sealed: the store holds each
	// user's last one, and its raw bytes show none of them.
	for _, a := range accounts {
		blob, _, err := sealed.Load(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if got := storedRefreshToken(t, blob); got != lastRT[a] {
			t.Errorf("account %s: the store holds an older refresh token than the last one issued", a)
		}
		raw, _, err := inner.Load(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		sec.checkNoLeaks(t, "the sealed store's raw value", string(raw))
	}

	// Token safety across the run.
	reqs := srv.Requests()
	if n := checkAuthorizationHosts(t, reqs); n == 0 {
		t.Error("no Graph request carried an Authorization header: the check proves nothing")
	}
	for _, r := range reqs {
		sec.checkNoLeaks(t, "request URL "+r.Host+r.Path, r.Path+"?"+r.RawQuery)
	}
	if !strings.Contains(logs.String(), "level=DEBUG") {
		t.Error("the debug log is empty: the leak check proves nothing")
	}
	sec.checkNoLeaks(t, "graphclient debug log", logs.String())
	if errs.len() == 0 {
		t.Error("no error was provoked: the leak check of error strings proves nothing")
	}
	sec.checkNoLeaks(t, "error strings", errs.String())
	t.Logf("%d users x %d goroutines: %d Graph calls in %v, %d failed; %d refreshes (after %d sign-in token requests), at most %d per user, %d token requests; secrets checked: %v",
		loadUsers, loadGoroutines, calls.Load(), elapsed.Round(time.Millisecond), failures.Load(), refreshes, signInCalls, maxPerUser,
		srv.TokenCalls(), sec.count())
}

func TestTokenRefreshUnderLoadMemoryStore(t *testing.T) {
	t.Parallel()
	runRefreshLoad(t, auth.NewMemoryStore())
}

func TestTokenRefreshUnderLoadFileStore(t *testing.T) {
	t.Parallel()
	fs, err := auth.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	runRefreshLoad(t, fs)
}

func TestTokenRefreshUnderLoadPostgres(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("pgx", postgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	st, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.Postgres, Table: fmt.Sprintf("reliability_tokens_%d", time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	runRefreshLoad(t, st)
}
