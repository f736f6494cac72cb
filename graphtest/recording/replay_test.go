package recording

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// script answers requests in turn from a list, like a server whose delta
// state advances.
type script struct {
	mu      sync.Mutex
	answers map[string][]string // "METHOD path?query" -> bodies in order
}

func (s *script) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := req.Method + " " + req.URL.RequestURI()
	q := s.answers[k]
	if len(q) == 0 {
		return nil, errors.New("script: no answer for " + k)
	}
	s.answers[k] = q[1:]
	if q[0] == "TRUNCATED" {
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: &replayBody{r: strings.NewReader(`{"value":[{"id":`), err: io.ErrUnexpectedEOF}, Request: req}, nil
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(q[0])), Request: req}, nil
}

func get(t *testing.T, hc *http.Client, u string) (string, error) {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

const graph = "https://graph.microsoft.com/v1.0/"

// A recorded run replays in order: the same delta request answers round
// after round as recorded, skip tokens follow the recorded links, query
// order does not matter, and a truncated body stays truncated.
func TestReplayInOrder(t *testing.T) {
	t.Parallel()
	live := &script{answers: map[string][]string{
		"GET /v1.0/me/messages/delta?$select=subject&$top=2": {`{"value":[1],"@odata.nextLink":"` + graph + `me/messages/delta?$skiptoken=s1"}`},
		"GET /v1.0/me/messages/delta?$skiptoken=s1":          {`{"value":[2],"@odata.deltaLink":"` + graph + `me/messages/delta?$deltatoken=d1"}`},
		"GET /v1.0/me/messages/delta?$deltatoken=d1":         {`{"value":[3],"@odata.deltaLink":"` + graph + `me/messages/delta?$deltatoken=d1"}`, `{"value":[4],"@odata.deltaLink":"` + graph + `me/messages/delta?$deltatoken=d1"}`},
		"GET /v1.0/me/events":                                {"TRUNCATED"},
	}}
	rec := NewRecorder(Config{Name: "delta rounds"})
	hc := rec.Client(&http.Client{Transport: live})
	urls := []string{graph + "me/messages/delta?$select=subject&$top=2", graph + "me/messages/delta?$skiptoken=s1",
		graph + "me/messages/delta?$deltatoken=d1", graph + "me/messages/delta?$deltatoken=d1"}
	var want []string
	for _, u := range urls {
		b, err := get(t, hc, u)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, b)
	}
	if _, err := get(t, hc, graph+"me/events"); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("live truncated body: %v", err)
	}
	dir := t.TempDir()
	path, err := rec.Save(dir)
	if err != nil || !strings.HasPrefix(filepath.Base(path), "delta-rounds-") {
		t.Fatalf("Save = %q, %v", path, err)
	}

	rp := Replay(t, dir)
	rhc := rp.Client()
	urls[0] = graph + "me/messages/delta?$top=2&$select=subject" // another order
	for i, u := range urls {
		got, err := get(t, rhc, u)
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(got, want[i]) {
			t.Errorf("replay %d = %s, want %s", i, got, want[i])
		}
	}
	if _, err := get(t, rhc, graph+"me/events"); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("replayed truncated body: %v, want unexpected EOF", err)
	}
	if left := rp.Unplayed(); len(left) != 0 {
		t.Errorf("Unplayed = %v", left)
	}
}

// A request asked more often than recorded, or never recorded, fails with
// an error naming it and what was recorded, and never reaches the network.
func TestReplayMiss(t *testing.T) {
	t.Parallel()
	rec := &Recording{Version: Version, Exchanges: []Exchange{
		{Seq: 1, Method: "GET", URL: graph + "me/events?$top=5", Status: 200, Response: Body{JSON: []byte(`{"value":[]}`)}},
		{Seq: 2, Method: "GET", URL: "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration", Status: 200, Response: Body{JSON: []byte(`{"issuer":"x"}`)}},
	}}
	rp := NewReplayer(rec)
	hc := rp.Client()
	for range 3 { // metadata may be fetched again
		if _, err := get(t, hc, "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := get(t, hc, graph+"me/events?$top=5"); err != nil {
		t.Fatal(err)
	}
	_, err := get(t, hc, graph+"me/events?$top=5")
	var miss *MissError
	if !errors.As(err, &miss) || !errors.Is(err, ErrNotRecorded) || miss.Served != 1 {
		t.Fatalf("second GET: %v", err)
	}
	_, err = get(t, hc, graph+"me/events?$top=6")
	if !errors.As(err, &miss) || !strings.Contains(err.Error(), "not recorded: GET "+graph+"me/events?$top=6") ||
		!strings.Contains(err.Error(), "recorded for this method and path: GET "+graph+"me/events?$top=5") {
		t.Fatalf("unrecorded GET: %v", err)
	}
	if first := rp.Err(); first == nil || !strings.Contains(first.Error(), "recorded 1 times") {
		t.Errorf("Err = %v; want the first miss", first)
	}
}

func TestReadRefusesOtherVersions(t *testing.T) {
	t.Parallel()
	if _, err := Read(strings.NewReader(`{"version":2,"recorded":"2026-01-01T00:00:00Z","exchanges":[]}`)); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("Read version 2: %v", err)
	}
	if _, err := Read(strings.NewReader(`{"version":1,"exchanges":[{"seq":1}]}`)); err == nil {
		t.Error("Read accepted an exchange without method")
	}
}

// Save never overwrites: two runs in the same second get two files, and
// Latest picks by name.
func TestSaveOneFilePerRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rec := &Recording{Name: "Calendar sync", Recorded: time.Date(2026, 12, 4, 22, 30, 0, 0, time.UTC)}
	p1, err1 := rec.Save(dir)
	p2, err2 := rec.Save(dir)
	if err1 != nil || err2 != nil || p1 == p2 {
		t.Fatalf("Save = %s, %s, %v, %v", p1, p2, err1, err2)
	}
	if filepath.Base(p1) != "calendar-sync-20261204T223000Z.json" {
		t.Errorf("name = %s", filepath.Base(p1))
	}
	if _, err := os.Stat(p2); err != nil {
		t.Fatal(err)
	}
	if got, err := Latest(dir, "calendar sync"); err != nil || got != p2 {
		t.Errorf("Latest = %s, %v; want %s", got, err, p2)
	}
	if _, err := Latest(dir, "mail"); err == nil {
		t.Error("Latest found a mail recording")
	}
}

// sameJSON reports whether two JSON texts hold the same value (a
// recording keeps the value, not the key order).
func sameJSON(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

// fakeTB records what Replay reports to a test, instead of failing this
// one.
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.errors) > 0
}
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

// Replay fails the test once, at the first unrecorded request, naming it;
// and, when every request was recorded, names the first recorded exchange
// the test never asked for.
func TestReplayFailsTheTest(t *testing.T) {
	t.Parallel()
	rec := &Recording{Version: Version, Recorded: time.Now(), Exchanges: []Exchange{
		{Seq: 1, Method: "GET", URL: graph + "me", Status: 200, Response: Body{JSON: []byte(`{"id":"1"}`)}},
		{Seq: 2, Method: "GET", URL: graph + "me/events", Status: 200, Response: Body{JSON: []byte(`{"value":[]}`)}},
	}}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := rec.WriteFile(path); err != nil {
		t.Fatal(err)
	}

	missed := &fakeTB{TB: t}
	rp := Replay(missed, path)
	get(t, rp.Client(), graph+"me/calendars")
	get(t, rp.Client(), graph+"me/messages")
	for _, fn := range missed.cleanups {
		fn()
	}
	if len(missed.errors) != 1 || !strings.Contains(missed.errors[0], "not recorded: GET "+graph+"me/calendars") {
		t.Errorf("errors = %q; want one naming GET me/calendars", missed.errors)
	}

	short := &fakeTB{TB: t}
	rp = Replay(short, path)
	if _, err := get(t, rp.Client(), graph+"me"); err != nil {
		t.Fatal(err)
	}
	for _, fn := range short.cleanups {
		fn()
	}
	if len(short.errors) != 1 || !strings.Contains(short.errors[0], "1 recorded exchanges were not replayed, the first: #2 GET "+graph+"me/events") {
		t.Errorf("errors = %q; want one naming #2 GET me/events", short.errors)
	}
}
