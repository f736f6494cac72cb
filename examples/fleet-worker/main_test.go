package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/fleet"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/internal/pgtest"
	"github.com/m365kit/m365kit/m365test"
)

// TestMain stops the PostgreSQL server the tests started, if any, and
// removes the binaries the multi-process tests built.
func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	removeBinaries()
	os.Exit(code)
}

func noEnv(string) string { return "" }

// syncWriter is a buffer safe to write from the program and read from the
// test.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitFor polls cond every 50 ms until it holds, failing after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var statusURL = regexp.MustCompile(`status page on (http://\S+/status)`)

// The worker signs the demo users in, syncs their calendars and Inboxes
// into SQLite, shows them on its status page, stops on cancel, and the
// status command lists them afterwards.
func TestWorkerAgainstDemo(t *testing.T) {
	t.Parallel()
	sb := m365test.New(t)
	env := setup.Env{Getenv: noEnv, Demo: sb}
	dsn := filepath.Join(t.TempDir(), "fleet.db")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out, errOut := &syncWriter{}, &syncWriter{}
	done := make(chan error, 1)
	go func() { done <- runEnv(ctx, []string{"-db", dsn, "-connect-all"}, out, errOut, env) }()

	var page string
	waitFor(t, time.Minute, "the status page", func() bool {
		if m := statusURL.FindStringSubmatch(out.String()); m != nil {
			page = m[1]
		}
		return page != ""
	})
	want := 0
	for _, u := range sb.Demo.Users {
		if u.HasMailbox {
			want++
		}
	}
	waitFor(t, time.Minute, "every demo account connected", func() bool {
		resp, err := http.Get(page)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var rep report
		return json.NewDecoder(resp.Body).Decode(&rep) == nil && rep.Counts[fleet.StatusConnected] == want
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("worker: %v\n%s", err, errOut.String())
	}

	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	adele := sb.Demo.Adele
	var startMs, endMs int64
	if err := db.QueryRow(`SELECT window_start, window_end FROM fleet_cursors WHERE account_id = ? AND resource = 'calendar'`, adele.AccountID()).Scan(&startMs, &endMs); err != nil {
		t.Fatal(err)
	}
	var wantEvents []string
	for _, e := range adele.Events() {
		if e.Type != "seriesMaster" && e.Start.Before(time.UnixMilli(endMs)) && e.End.After(time.UnixMilli(startMs)) {
			wantEvents = append(wantEvents, e.ID)
		}
	}
	if diff := cmp.Diff(sorted(wantEvents), column(t, db, `SELECT id FROM synced_events WHERE account = ?`, adele.AccountID())); diff != "" {
		t.Errorf("Adele's stored events (-fake +stored):\n%s", diff)
	}
	var wantMail []string
	for _, m := range adele.Messages("inbox") {
		wantMail = append(wantMail, m.ID)
	}
	if diff := cmp.Diff(sorted(wantMail), column(t, db, `SELECT id FROM synced_messages WHERE account = ? AND folder = 'Inbox'`, adele.AccountID())); diff != "" {
		t.Errorf("Adele's stored Inbox (-fake +stored):\n%s", diff)
	}
	if got := column(t, db, `SELECT resource FROM synced_pages WHERE account = ? AND seq = 1 AND reset = 1`, adele.AccountID()); !slices.Equal(got, []string{"calendar", "mail:Inbox"}) {
		t.Errorf("first pages recorded with Reset: %v", got)
	}

	var status bytes.Buffer
	if err := runEnv(t.Context(), []string{"-db", dsn, "status"}, &status, new(bytes.Buffer), env); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^connected\s+` + string(rune('0'+want)) + `$`).MatchString(status.String()) {
		t.Errorf("status output:\n%s", status.String())
	}
}

func TestBadArguments(t *testing.T) {
	t.Parallel()
	env := setup.Env{Getenv: noEnv}
	for _, args := range [][]string{
		{"frobnicate"},
		{"status", "extra"},
		{"-workers", "-1"},
		{"-no-such-flag"},
		{"-notification-url", "https://worker.example.com/hook", "-listen", ""},
	} {
		if err := runEnv(t.Context(), args, new(bytes.Buffer), new(bytes.Buffer), env); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	// -fake without the key that seals the shared tokens.
	dir := t.TempDir()
	settings := filepath.Join(dir, "fake.env")
	srv := graphtest.New(t)
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, srv.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(settings, []byte("addr="+srv.Addr()+"\nca="+ca+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := runEnv(t.Context(), []string{"-db", filepath.Join(dir, "f.db"), "-fake", settings, "status"}, new(bytes.Buffer), new(bytes.Buffer), env)
	if err == nil || !strings.Contains(err.Error(), setup.EnvStoreKey) {
		t.Errorf("-fake without %s: %v", setup.EnvStoreKey, err)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	if s == nil {
		s = []string{}
	}
	return s
}

func column(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
