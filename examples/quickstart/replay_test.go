package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/graphtest/recording"
	"github.com/m365kit/m365kit/m365test"
)

// The whole walk recorded with -record against the demo tenant (admin
// consent, sign-in, verification, calendar, mail, the Teams clip) replays
// with -replay, offline and with no demo tenant, to the same summary.
func TestRecordThenReplay(t *testing.T) {
	t.Parallel()
	tapes := filepath.Join(t.TempDir(), "recordings")
	live, steps, err := runDemo(t, m365test.New(t), "-record", tapes)
	if err != nil {
		t.Fatalf("recorded run: %v\n%s", err, steps)
	}
	if !strings.Contains(steps, "recorded ") || !live.OK || live.Teams == nil || live.Teams.MessageID == "" {
		t.Fatalf("recorded run: %+v\n%s", live, steps)
	}
	// A sandbox nobody talks to: the replay must not need one.
	idle := m365test.New(t)
	replayed, steps, err := runDemo(t, idle, "-replay", tapes)
	if err != nil {
		t.Fatalf("replay: %v\n%s", err, steps)
	}
	if diff := cmp.Diff(live, replayed); diff != "" {
		t.Errorf("replayed summary differs (-live +replay):\n%s", diff)
	}
	if n := len(idle.Server.Requests()); n != 0 {
		t.Errorf("the replay sent %d requests to the fake", n)
	}
}

// The live path (a real app registration, the loopback callback server, a
// browser) records too, callbacks included, without its client secret;
// the recording replays to the same summary.
func TestLivePathRecordThenReplay(t *testing.T) {
	t.Parallel()
	srv := graphtest.New(t)
	srv.AddDemoTenant()
	port := freePort(t)
	redirect := "http://127.0.0.1:" + port + "/callback"
	const clientID, secret = "11112222-3333-4444-5555-666677778888", "live-test-secret-to-redact"
	srv.AddApp(graphtest.App{ClientID: clientID, ClientSecret: secret, RedirectURIs: []string{redirect}})
	env := map[string]string{setup.EnvClientID: clientID, setup.EnvClientSecret: secret, setup.EnvRedirectURL: redirect, setup.EnvConfigDir: t.TempDir()}
	cfg, err := setup.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	opts, err := parseFlags([]string{"-features", "calendar,mail"}, new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}
	rec := recording.NewRecorder(recording.Config{Name: "quickstart"})
	w := &walker{out: new(bytes.Buffer), opts: opts}
	stop, err := w.live(t.Context(), cfg, rec.Client(srv.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if err := w.record(rec, nil); err != nil {
		t.Fatal(err)
	}
	browserErr := make(chan error, 4)
	w.open = func(u string) { go func() { browserErr <- browse(t.Context(), srv, u) }() }
	if err := w.walk(t.Context()); err != nil {
		t.Fatalf("walk: %v", err)
	}
	for range 2 {
		if err := <-browserErr; err != nil {
			t.Errorf("browser: %v", err)
		}
	}
	var file strings.Builder
	if err := rec.Recording().Write(&file); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(file.String(), secret) {
		t.Error("the recording holds the client secret")
	}
	callbacks := 0
	for _, x := range rec.Recording().Exchanges {
		if x.Kind == "callback" {
			callbacks++
			if !strings.Contains(x.URL+x.Request.Text, "state=REDACTED") {
				t.Errorf("callback #%d recorded without its (redacted) state: %s %s %q", x.Seq, x.Method, x.URL, x.Request.Text)
			}
		}
	}
	if callbacks != 2 {
		t.Errorf("recorded %d callbacks, want 2 (consent and sign-in)", callbacks)
	}

	w2 := &walker{out: new(bytes.Buffer), opts: opts}
	if err := w2.replay(recording.NewReplayer(rec.Recording())); err != nil {
		t.Fatal(err)
	}
	if err := w2.walk(t.Context()); err != nil {
		t.Fatalf("replayed walk: %v", err)
	}
	if diff := cmp.Diff(w.sum, w2.sum); diff != "" || w.sum.Mode != "microsoft" {
		t.Errorf("replayed summary differs (-live +replay):\n%s", diff)
	}
}
