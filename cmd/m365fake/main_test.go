package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/scopes"
)

// binary is the m365fake command TestMain builds.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "m365fake-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "m365fake")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fake is a running m365fake child process and what it printed.
type fake struct {
	cmd      *exec.Cmd
	settings map[string]string
	stderr   *bytes.Buffer
	hc       *http.Client // graphtest.ClientFor the fake
}

// startFake runs m365fake with args, reads its settings up to "ready" and
// stops it (SIGTERM, expecting a clean exit) when the test ends.
func startFake(t *testing.T, args ...string) *fake {
	t.Helper()
	args = append([]string{"-ca-out", filepath.Join(t.TempDir(), "ca.pem")}, args...)
	cmd := exec.Command(binary, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	f := &fake{cmd: cmd, settings: map[string]string{}, stderr: &bytes.Buffer{}}
	cmd.Stderr = f.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "ready" {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			t.Fatalf("m365fake printed %q, want key=value", sc.Text())
		}
		f.settings[k] = v
	}
	if sc.Err() != nil || f.settings["addr"] == "" {
		_ = cmd.Wait()
		stopped = true
		t.Fatalf("m365fake did not get ready (%v); stderr:\n%s", sc.Err(), f.stderr)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	ca, err := os.ReadFile(f.settings["ca"])
	if err != nil {
		t.Fatal(err)
	}
	if f.hc, err = graphtest.ClientFor(f.settings["addr"], ca); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("m365fake after SIGTERM: %v; stderr:\n%s", err, f.stderr)
		}
	})
	return f
}

// app returns an auth.App configured only from the fake's printed settings,
// over store.
func (f *fake) app(t *testing.T, store auth.TokenStore) *auth.App {
	t.Helper()
	cred, err := auth.Secret(f.settings["client_secret"])
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Config{
		ClientID: f.settings["client_id"], Credential: cred, RedirectURL: f.settings["redirect_url"],
		Authority: f.settings["authority"], Store: store, HTTPClient: f.hc,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// newStore returns a sealed in-memory token store.
func newStore(t *testing.T) auth.TokenStore {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s, err := auth.Sealed(auth.NewMemoryStore(), key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signIn signs upn in through the fake's authorize endpoint, with
// graphtest.Browse running in this process as the user's browser.
func (f *fake) signIn(t *testing.T, app *auth.App, upn string, features ...scopes.Feature) *auth.User {
	t.Helper()
	ctx := t.Context()
	u, pending, err := app.SignInURL(auth.SignInRequest{Features: features, LoginHint: upn})
	if err != nil {
		t.Fatal(err)
	}
	cb, err := graphtest.Browse(ctx, f.hc, u)
	if err != nil {
		t.Fatal(err)
	}
	user, err := app.CompleteSignIn(ctx, cb, pending)
	if err != nil {
		t.Fatal(err)
	}
	return user
}

// graph returns a Graph client for user configured only from the settings.
func (f *fake) graph(t *testing.T, app *auth.App, user *auth.User, features ...scopes.Feature) *graphclient.Client {
	t.Helper()
	gc, err := graphclient.New(app.TokenSource(user.AccountID, features...),
		graphclient.WithHTTPClient(f.hc), graphclient.WithBaseURL(f.settings["graph"]))
	if err != nil {
		t.Fatal(err)
	}
	return gc
}

// get sends GET path through gc and decodes the JSON answer into v.
func get(t *testing.T, gc *graphclient.Client, path string, v any) {
	t.Helper()
	req, err := gc.NewRequest(t.Context(), http.MethodGet, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gc.Do(req, v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// control calls the fake's control API and decodes the answer into v.
func (f *fake) control(t *testing.T, method, path string, v any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, f.settings["control"]+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

func TestDemoTenantFromAnotherProcess(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	for k, want := range map[string]string{
		"authority": auth.DefaultAuthority, "graph": graphclient.DefaultBaseURL,
		"client_id": graphtest.DemoClientID, "redirect_url": graphtest.DemoRedirectURL,
	} {
		if f.settings[k] != want {
			t.Errorf("%s=%q, want %q", k, f.settings[k], want)
		}
	}
	app := f.app(t, newStore(t))
	user := f.signIn(t, app, "adele@contoso.com", scopes.Calendar)
	gc := f.graph(t, app, user, scopes.Calendar)
	var me struct {
		ID                string `json:"id"`
		UserPrincipalName string `json:"userPrincipalName"`
	}
	get(t, gc, "me", &me)
	if me.UserPrincipalName != "adele@contoso.com" || user.AccountID != me.ID+"."+user.TenantID {
		t.Errorf("signed in %s as %+v", user.AccountID, me)
	}
	var events struct {
		Value []struct {
			Subject       string `json:"subject"`
			OnlineMeeting *struct {
				JoinURL string `json:"joinUrl"`
			} `json:"onlineMeeting"`
		} `json:"value"`
	}
	get(t, gc, "me/events?$top=50", &events)
	teams := 0
	for _, e := range events.Value {
		if e.OnlineMeeting != nil && strings.HasPrefix(e.OnlineMeeting.JoinURL, "https://teams.microsoft.com/") {
			teams++
		}
	}
	if len(events.Value) < 5 || teams == 0 {
		t.Errorf("Adele's calendar: %d events, %d with a Teams join URL", len(events.Value), teams)
	}

	// The request log, read from the control API, names the user of each
	// Graph request and holds no token.
	var reqs []graphtest.Request
	f.control(t, http.MethodGet, "/requests", &reqs)
	graph := 0
	for _, r := range reqs {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the control API shows the Authorization header of %s %s", r.Method, r.Path)
		}
		if r.Host == graphtest.GraphHost {
			graph++
			if r.UserID != me.ID || r.InFlight < 1 || r.End.Before(r.Time) {
				t.Errorf("Graph request %s logged as user %q in flight %d", r.Path, r.UserID, r.InFlight)
			}
		}
	}
	if graph != 2 {
		t.Errorf("logged %d Graph requests, want 2", graph)
	}
	var tail []graphtest.Request
	f.control(t, http.MethodGet, fmt.Sprintf("/requests?since=%d", len(reqs)-1), &tail)
	if len(tail) != 1 || tail[0].Path != reqs[len(reqs)-1].Path {
		t.Errorf("since=%d: %d requests", len(reqs)-1, len(tail))
	}
}

func TestGeneratedTenantsFromAnotherProcess(t *testing.T) {
	t.Parallel()
	f := startFake(t, "-users", "4", "-tenants", "2", "-seed", "3", "-events", "5", "-messages", "6",
		"-latency", "1ms", "-token-lifetime", "1m")
	var users []controlUser
	f.control(t, http.MethodGet, "/users", &users)
	// plain[0] and plain[1] are users of different tenants.
	var plain []controlUser
	for _, u := range users {
		if !u.Admin {
			plain = append(plain, u)
		}
	}
	if len(users) != 6 || len(plain) != 4 || plain[0].TenantID == plain[3].TenantID {
		t.Fatalf("users: %+v", users)
	}
	plain[1] = plain[3]
	for _, u := range users {
		if strings.HasSuffix(u.UPN, "@contoso.com") {
			t.Errorf("the demo tenant is served beside -users: %s", u.UPN)
		}
	}

	store := newStore(t)
	app := f.app(t, store)
	a := f.signIn(t, app, plain[0].UPN, scopes.Calendar, scopes.Mail)
	b := f.signIn(t, app, plain[1].UPN, scopes.Calendar)
	var msgs struct {
		Value []struct {
			Subject string `json:"subject"`
		} `json:"value"`
	}
	get(t, f.graph(t, app, a, scopes.Mail), "me/mailFolders/inbox/messages?$top=50", &msgs)
	if len(msgs.Value) != 6 {
		t.Errorf("%s's Inbox holds %d messages, want 6", plain[0].UPN, len(msgs.Value))
	}

	// GET /state lists what Graph lists: the calendar view of a window,
	// the Inbox.
	start, end := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3), time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 20)
	var state struct {
		Events   []struct{ ID string }
		Messages []struct{ ID string }
	}
	f.control(t, http.MethodGet, "/state?"+url.Values{"user": {plain[0].UPN}, "start": {start.Format(time.RFC3339)}, "end": {end.Format(time.RFC3339)}}.Encode(), &state)
	var view struct {
		Value []struct{ ID string } `json:"value"`
	}
	get(t, f.graph(t, app, a, scopes.Calendar), "me/calendarView?$top=500&$select=id&startDateTime="+start.Format(time.RFC3339)+"&endDateTime="+end.Format(time.RFC3339), &view)
	ids := func(items []struct{ ID string }) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.ID)
		}
		slices.Sort(out)
		return out
	}
	if got, want := ids(state.Events), ids(view.Value); len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("GET /state events %v, calendarView %v", got, want)
	}
	if len(state.Messages) != 6 {
		t.Errorf("GET /state lists %d messages, want 6", len(state.Messages))
	}
	for _, q := range []string{"user=nobody@example.com&start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z", "user=" + plain[0].UPN + "&start=yesterday&end=today"} {
		resp, err := http.Get(f.settings["control"] + "/state?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("GET /state?%s: %s, want an error", q, resp.Status)
		}
	}

	var deliveries []graphtest.Delivery
	f.control(t, http.MethodGet, "/deliveries", &deliveries)
	if len(deliveries) != 0 {
		t.Errorf("deliveries without a subscription: %+v", deliveries)
	}

	var changes []graphtest.Change
	f.control(t, http.MethodPost, "/churn?n=5", &changes)
	if len(changes) != 5 {
		t.Errorf("churn made %d changes, want 5", len(changes))
	}

	// A revoked user must sign in again; a tenant that withdrew consent
	// needs it again. A fresh App has no token in memory, and one-minute
	// access tokens are refreshed on every request.
	f.control(t, http.MethodPost, "/revoke?user="+plain[0].UPN, nil)
	f.control(t, http.MethodPost, "/withdraw-consent?tenant="+plain[1].TenantID, nil)
	fresh := f.app(t, store)
	if _, err := fresh.TokenSource(a.AccountID, scopes.Calendar).Token(t.Context()); !errors.Is(err, auth.ErrReauthRequired) {
		t.Errorf("revoked user: err = %v, want ErrReauthRequired", err)
	}
	if _, err := fresh.TokenSource(b.AccountID, scopes.Calendar).Token(t.Context()); !errors.Is(err, auth.ErrConsentRequired) {
		t.Errorf("withdrawn consent: err = %v, want ErrConsentRequired", err)
	}

	// The log tells whose refresh token was refused.
	var reqs []graphtest.Request
	f.control(t, http.MethodGet, "/requests", &reqs)
	refused := map[string]int{}
	for _, r := range reqs {
		if r.Host == graphtest.LoginHost && strings.HasSuffix(r.Path, "/oauth2/v2.0/token") && r.Status == http.StatusBadRequest {
			refused[r.UserID]++
		}
	}
	if refused[plain[0].ID] == 0 || refused[plain[1].ID] == 0 || refused[""] != 0 {
		t.Errorf("refused token requests by user: %v, want both users named", refused)
	}
}

func TestBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-users", "-1"},
		{"-users", "2", "-tenants", "3"},
		{"-demo=false"},
		{"-throttle", "0.6", "-unavailable", "0.5"},
		{"-drop", "1.5"},
		{"-retry-after", "soon"},
		{"-latency", "-1s"},
		{"-mailbox-limit", "-1"},
		{"extra"},
		{"-no-such-flag"},
	} {
		var stderr bytes.Buffer
		ctx, cancel := context.WithCancel(t.Context())
		cancel() // a run that got past the flags would return at once
		err := run(ctx, args, io.Discard, &stderr)
		if err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	// Exit status 2 from the real command.
	err := exec.Command(binary, "-users", "-1").Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("exit: %v, want status 2", err)
	}
}

func TestChaosFlagsAndControl(t *testing.T) {
	t.Parallel()
	// Every Graph request is throttled: a fault rate just below 1.
	f := startFake(t, "-throttle", "0.999999", "-retry-after", "0", "-mailbox-limit", "0")
	app := f.app(t, newStore(t))
	user := f.signIn(t, app, "adele@contoso.com")
	gc, err := graphclient.New(app.TokenSource(user.AccountID), graphclient.WithHTTPClient(f.hc),
		graphclient.WithRetry(graphclient.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := gc.NewRequest(t.Context(), http.MethodGet, "me", nil)
	_, err = gc.Do(req, nil)
	var ge *graphclient.Error
	if !errors.As(err, &ge) || ge.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("with -throttle: err = %v, want a 429", err)
	}
	f.control(t, http.MethodPost, "/chaos", nil) // all rates zero: off
	req, _ = gc.NewRequest(t.Context(), http.MethodGet, "me", nil)
	if _, err := gc.Do(req, nil); err != nil {
		t.Errorf("after /chaos turned faults off: %v", err)
	}
}
