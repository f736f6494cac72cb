package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/m365kit/m365kit/examples/internal/programtest"
	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/scopes"
)

// runDemo runs the quickstart with args against d and decodes its -json
// summary.
func runDemo(t *testing.T, d *m365test.Sandbox, args ...string) (summary, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := runEnv(t.Context(), append([]string{"-json"}, args...), &stdout, &stderr, setup.Env{Getenv: programtest.NoEnv, Demo: d})
	var s summary
	if jerr := json.Unmarshal(stdout.Bytes(), &s); jerr != nil {
		t.Fatalf("stdout is not one JSON summary: %v\n%s", jerr, stdout.String())
	}
	return s, stderr.String(), err
}

func TestQuickstartDemoSummary(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)

	s, steps, err := runDemo(t, d)
	if err != nil {
		t.Fatalf("quickstart failed: %v\n%s", err, steps)
	}
	if !s.OK || s.Mode != "demo" || s.Error != "" {
		t.Fatalf("summary: ok=%v mode=%q error=%q", s.OK, s.Mode, s.Error)
	}
	if diff := cmp.Diff([]string{"signin", "calendar", "mail", "teams"}, s.Features); diff != "" {
		t.Errorf("features (-want +got):\n%s", diff)
	}

	// Step 1 granted exactly what the features need, for the demo tenant,
	// and the sign-in confirmed the tenant.
	if s.Tenant == nil || s.Tenant.ID != d.Demo.Tenant.ID || !s.Tenant.Verified || len(s.Tenant.Missing) > 0 {
		t.Fatalf("tenant: %+v", s.Tenant)
	}
	want := scopes.For(scopes.Calendar, scopes.Mail, scopes.Teams)
	if got := d.Demo.Tenant.Granted(d.Demo.App.ClientID); !sameSet(got, want) {
		t.Errorf("tenant grants after step 1 = %v, want %v", got, want)
	}

	if s.User == nil || s.User.Username != "adele@contoso.com" || s.User.AccountID != d.Demo.Adele.AccountID() {
		t.Fatalf("user: %+v", s.User)
	}
	for _, c := range s.Verify {
		if !c.Ready {
			t.Errorf("verify %s not ready: %s", c.Feature, c.Detail)
		}
	}
	if len(s.Verify) != 4 {
		t.Errorf("verify has %d checks, want 4", len(s.Verify))
	}

	// The notetaker joins the Teams and Zoom meetings, not the cancelled,
	// private or link-less ones.
	c := s.Calendar
	if c == nil || c.Pages == 0 || c.Events == 0 {
		t.Fatalf("calendar: %+v", c)
	}
	byProvider := map[string][]string{}
	for _, m := range c.Meetings {
		if m.JoinURL == "" || !strings.HasPrefix(m.JoinURL, "https://") {
			t.Errorf("meeting %q has join URL %q", m.Subject, m.JoinURL)
		}
		byProvider[m.Provider] = append(byProvider[m.Provider], m.Subject)
	}
	if !slices.Contains(byProvider["zoom"], "Fabrikam pilot: weekly check-in") {
		t.Errorf("the Zoom customer call is not among the meetings: %v", byProvider)
	}
	if !slices.Contains(byProvider["teams"], "Q3 roadmap review") {
		t.Errorf("the Teams roadmap review is not among the meetings: %v", byProvider)
	}
	for _, m := range c.Meetings {
		if strings.HasPrefix(m.Subject, "Canceled") || strings.HasPrefix(m.Subject, "Interview") {
			t.Errorf("the notetaker would join %q", m.Subject)
		}
	}
	if c.Skipped["cancelled"] == 0 || c.Skipped["private"] == 0 {
		t.Errorf("skipped reasons %v: want cancelled and private among them", c.Skipped)
	}

	// External-only mail: the Fabrikam thread and invoice, not the internal
	// thread, the draft or the automated mail.
	m := s.Mail
	if m == nil {
		t.Fatal("no mail result")
	}
	wantKept := []string{"Invoice INV-2291 from Fabrikam", "Pilot contract: next steps", "RE: Pilot contract: next steps"}
	if diff := cmp.Diff(wantKept, m.Subjects); diff != "" {
		t.Errorf("kept mail (-want +got):\n%s", diff)
	}
	if m.Kept != 3 || m.Skipped["internal"] == 0 || m.Skipped["automated"] == 0 {
		t.Errorf("mail: %+v", m)
	}

	// The clip card reached the channel, posted by Adele.
	tm := s.Teams
	if tm == nil || tm.MessageID == "" || tm.Skipped != "" {
		t.Fatalf("teams: %+v", tm)
	}
	var posted []graphtest.ChatMessage
	for _, team := range d.Demo.Tenant.Teams() {
		if team.DisplayName != tm.Team {
			continue
		}
		for _, ch := range team.Channels() {
			if ch.DisplayName == tm.Channel {
				posted = ch.Messages()
			}
		}
	}
	if len(posted) != 1 || posted[0].ID != tm.MessageID || posted[0].From.ID != d.Demo.Adele.ID {
		t.Fatalf("messages in %s › %s: %+v", tm.Team, tm.Channel, posted)
	}
	if len(posted[0].Attachments) != 1 || !strings.Contains(posted[0].Attachments[0].Content, "https://app.example.com/clips/7f3c2a") {
		t.Errorf("the post carries no clip card: %+v", posted[0].Attachments)
	}

	// The steps went to stderr, in the guide's order.
	last := -1
	for _, marker := range []string{"[1/6] Admin consent", "[2/6] Sign in", "[3/6] Verify", "[4/6] Calendar", "[5/6] Email", "[6/6] Teams", "Summary"} {
		i := strings.Index(steps, marker)
		if i < last {
			t.Errorf("step %q missing or out of order in:\n%s", marker, steps)
		}
		last = i
	}
}

func TestQuickstartTextOutput(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	var stdout, stderr bytes.Buffer
	if err := runEnv(t.Context(), []string{"-features", "calendar", "-days", "7"}, &stdout, &stderr, setup.Env{Getenv: programtest.NoEnv, Demo: d}); err != nil {
		t.Fatalf("run: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"[1/4] Admin consent", "[3/4] Verify", "Calendar", "… page 1:", "zoom", "Summary", "calendar  "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "[5/") || strings.Contains(out, "Teams: share") {
		t.Errorf("features not asked for ran:\n%s", out)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %s", stderr.String())
	}
}

// Step 1 grants only what the chosen features need: the demo tenant's
// pre-consent was withdrawn first.
func TestQuickstartConsentIsReal(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	s, steps, err := runDemo(t, d, "-features", "mail")
	if err != nil {
		t.Fatalf("%v\n%s", err, steps)
	}
	got := d.Demo.Tenant.Granted(d.Demo.App.ClientID)
	if !sameSet(got, scopes.For(scopes.Mail)) {
		t.Errorf("grants = %v, want only %v", got, scopes.For(scopes.Mail))
	}
	if s.Calendar != nil || s.Teams != nil || s.Mail == nil {
		t.Errorf("summary ran the wrong steps: %+v", s)
	}
}

// A declined consent stops the walk with consent.Diagnose's explanation and
// a failing exit.
func TestQuickstartDeclinedConsent(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	d.Server.DeclineNextConsent()
	s, steps, err := runDemo(t, d)
	if err == nil {
		t.Fatal("quickstart succeeded although the administrator declined")
	}
	if s.OK || !strings.Contains(s.Error, "admin consent") {
		t.Errorf("summary: ok=%v error=%q", s.OK, s.Error)
	}
	if !strings.Contains(steps, "AADSTS65004") || !strings.Contains(steps, "tenant admin") {
		t.Errorf("no diagnosis in the steps:\n%s", steps)
	}
	if s.User != nil {
		t.Errorf("the walk went on to sign in: %+v", s.User)
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		want    options
		wantErr string
	}{
		{args: nil, want: options{features: []scopes.Feature{scopes.Calendar, scopes.Mail, scopes.Teams}, days: 30}},
		{args: []string{"-features", "teams, mail,signin", "-days", "7", "-json", "-channel", "Sales/General"},
			want: options{features: []scopes.Feature{scopes.Teams, scopes.Mail}, days: 7, json: true, channel: "Sales/General"}},
		{args: []string{"-features", "calender"}, wantErr: "-features"},
		{args: []string{"-features", "sharedcalendars"}, wantErr: "-features"},
		{args: []string{"-days", "0"}, wantErr: "-days 0"},
		{args: []string{"-days", "400"}, wantErr: "-days 400"},
		{args: []string{"-channel", "Sales"}, wantErr: "-channel"},
		{args: []string{"-channel", "/General"}, wantErr: "-channel"},
		{args: []string{"extra"}, wantErr: `unexpected argument "extra"`},
		{args: []string{"-nope"}, wantErr: "-nope"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			got, err := parseFlags(tt.args, new(bytes.Buffer))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(options{}), cmpopts.IgnoreFields(options{}, "tape")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCallbackAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		redirect, addr, path string
		ok                   bool
	}{
		{"http://localhost:8400/callback", "localhost:8400", "/callback", true},
		{"http://127.0.0.1:9000", "127.0.0.1:9000", "/", true},
		{"http://[::1]:8400/cb", "[::1]:8400", "/cb", true},
		{"http://localhost/callback", "", "", false},            // no port to serve on
		{"https://localhost:8400/callback", "", "", false},      // the quickstart serves plain http
		{"https://app.example.com/callback", "", "", false},     // not this machine
		{"http://app.example.com:8400/callback", "", "", false}, // not this machine
	}
	for _, tt := range tests {
		addr, path, err := callbackAddr(tt.redirect)
		if !tt.ok {
			var ce *setup.ConfigError
			if !errors.As(err, &ce) || ce.Variable != setup.EnvRedirectURL {
				t.Errorf("callbackAddr(%q) err = %v, want a ConfigError naming %s", tt.redirect, err, setup.EnvRedirectURL)
			}
			continue
		}
		if err != nil || addr != tt.addr || path != tt.path {
			t.Errorf("callbackAddr(%q) = %q, %q, %v; want %q, %q", tt.redirect, addr, path, err, tt.addr, tt.path)
		}
	}
}

// The Microsoft path, with graphtest standing in for Microsoft: the callbacks
// arrive on the loopback server from a "browser", tokens land sealed in the
// config directory and the account is remembered.
func TestQuickstartLivePath(t *testing.T) {
	t.Parallel()
	srv := graphtest.New(t)
	d := srv.AddDemoTenant()
	port := freePort(t)
	redirect := "http://127.0.0.1:" + port + "/callback"
	const clientID = "11112222-3333-4444-5555-666677778888"
	srv.AddApp(graphtest.App{ClientID: clientID, ClientSecret: "live-test-secret", RedirectURIs: []string{redirect}})
	dir := t.TempDir()
	env := map[string]string{
		setup.EnvClientID:     clientID,
		setup.EnvClientSecret: "live-test-secret",
		setup.EnvRedirectURL:  redirect,
		setup.EnvConfigDir:    dir,
	}
	cfg, err := setup.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	opts, err := parseFlags([]string{"-features", "calendar,mail,teams"}, new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := &walker{out: &out, opts: opts}
	stop, err := w.live(t.Context(), cfg, srv.HTTPClient())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	browserErr := make(chan error, 4)
	w.open = func(u string) {
		go func() { browserErr <- browse(t.Context(), srv, u) }()
	}
	if err := w.walk(t.Context()); err != nil {
		t.Fatalf("walk: %v\n%s", err, out.String())
	}
	for range 2 {
		if err := <-browserErr; err != nil {
			t.Errorf("browser: %v", err)
		}
	}
	// Without -channel the quickstart does not post to a real team.
	if w.sum.Teams == nil || w.sum.Teams.Skipped == "" {
		t.Errorf("teams: %+v", w.sum.Teams)
	}
	for _, ch := range d.Sales.Channels() {
		if n := len(ch.Messages()); n != 0 {
			t.Errorf("%d messages posted to Sales › %s", n, ch.DisplayName)
		}
	}
	if w.sum.Mode != "microsoft" || w.sum.User == nil {
		t.Fatalf("summary: %+v", w.sum)
	}
	if got := cfg.Account(); got != w.sum.User.AccountID {
		t.Errorf("remembered account %q, want %q", got, w.sum.User.AccountID)
	}
	fi, err := os.Stat(filepath.Join(dir, "store.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("store.key: %v, %v; want mode 0600", fi, err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "tokens"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("token files: %v, %v", entries, err)
	}
	blob, err := os.ReadFile(filepath.Join(dir, "tokens", entries[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"refresh_token", "secret", "RefreshToken", w.sum.User.Username} {
		if bytes.Contains(blob, []byte(plain)) {
			t.Errorf("the token file holds %q in plain text", plain)
		}
	}
	// The store opens again with the key file: the other examples act for the
	// account through it.
	store, err := cfg.Store()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Load(t.Context(), w.sum.User.AccountID); err != nil {
		t.Errorf("stored tokens do not open: %v", err)
	}
}

// browse plays the user's browser: the authority (graphtest), then the
// request to the quickstart's loopback callback.
func browse(ctx context.Context, srv *graphtest.Server, u string) error {
	cb, err := srv.Browse(ctx, u)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(cb)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New("callback answered " + resp.Status)
	}
	return nil
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return port
}

// sameSet compares the Graph permissions of two scope lists, ignoring the
// OpenID Connect scopes (openid, profile, email, offline_access), which are
// not tenant grants.
func sameSet(a, b []string) bool {
	oidc := func(s string) bool { return s == "openid" || s == "profile" || s == "email" || s == "offline_access" }
	a, b = slices.DeleteFunc(slices.Clone(a), oidc), slices.DeleteFunc(slices.Clone(b), oidc)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// Bad configuration stops the quickstart before anything starts, with an
// error naming the variable.
func TestBadConfigNamesVariable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{setup.EnvClientID: "11112222-3333-4444-5555-666677778888"}, setup.EnvClientSecret},
		{map[string]string{setup.EnvClientSecret: "x"}, setup.EnvClientID},
		{map[string]string{setup.EnvClientID: "11112222-3333-4444-5555-666677778888", setup.EnvClientSecret: "x"}, setup.EnvRedirectURL},
		{map[string]string{setup.EnvClientID: "11112222-3333-4444-5555-666677778888", setup.EnvClientSecret: "x",
			setup.EnvRedirectURL: "https://app.example.com/callback", setup.EnvConfigDir: t.TempDir()}, setup.EnvRedirectURL},
		{map[string]string{setup.EnvClientID: "11112222-3333-4444-5555-666677778888", setup.EnvClientSecret: "x",
			setup.EnvRedirectURL: "http://localhost:8400/callback", setup.EnvStoreKey: "too short", setup.EnvConfigDir: t.TempDir()}, setup.EnvStoreKey},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		err := runEnv(t.Context(), nil, &stdout, &stderr, setup.Env{Getenv: func(k string) string { return tt.env[k] }})
		if err == nil || !strings.HasPrefix(err.Error(), tt.want+": ") {
			t.Errorf("env %v: err = %v, want one starting with %s", tt.env, err, tt.want)
		}
		if strings.Contains(stdout.String(), "[1/") {
			t.Errorf("env %v: steps ran:\n%s", tt.env, stdout.String())
		}
	}
}

// Against Microsoft the walker has no HTTP client of its own (hc nil): the
// Graph client must then use graphclient's default, not fail.
func TestNewGraphWithoutHTTPClient(t *testing.T) {
	t.Parallel()
	if _, err := newGraph(graphclient.StaticToken("token"), nil); err != nil {
		t.Errorf("newGraph(ts, nil): %v", err)
	}
}

// A meeting that has already ended today is in the window but not among the
// meetings the notetaker joins.
func TestQuickstartSkipsMeetingsThatAreOver(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	opts, err := parseFlags([]string{"-features", "calendar", "-days", "1"}, new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := &walker{out: &out, opts: opts}
	if err := w.demo(d); err != nil {
		t.Fatal(err)
	}
	// Late tomorrow (the demo's customer call and cancelled meeting are
	// tomorrow, whatever the weekday): every meeting of the day has ended.
	w.now = time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1).Add(23*time.Hour + 59*time.Minute)
	if err := w.walk(t.Context()); err != nil {
		t.Fatalf("walk: %v\n%s", err, out.String())
	}
	c := w.sum.Calendar
	if c == nil || c.Events == 0 {
		t.Fatalf("calendar: %+v\n%s", c, out.String())
	}
	if len(c.Meetings) != 0 || c.Skipped["over"] == 0 {
		t.Errorf("late in the day the notetaker joins %v; skipped %v", c.Meetings, c.Skipped)
	}
}
