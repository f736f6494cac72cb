package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/fleet"
	"github.com/m365kit/m365kit/graphtest"
)

// The multi-process harness: the fake Microsoft 365 (cmd/m365fake) and
// the workers (this program) run as separate processes, built once per
// test binary.

var (
	buildOnce         sync.Once
	buildDir, fakeBin string
	workerBin         string
	buildErr          error
)

// binaries builds cmd/m365fake and the worker into a temporary directory.
func binaries(t testing.TB) (fake, worker string) {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "fleet-worker-test"); buildErr != nil {
			return
		}
		fakeBin, workerBin = filepath.Join(buildDir, "m365fake"), filepath.Join(buildDir, "fleet-worker")
		for _, b := range [][2]string{{fakeBin, "../../cmd/m365fake"}, {workerBin, "."}} {
			out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", b[1], err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return fakeBin, workerBin
}

func removeBinaries() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// fakeProc is a running m365fake.
type fakeProc struct {
	settings map[string]string
	file     string // the settings, as the worker's -fake reads them
	stderr   *syncWriter
}

// startFake runs m365fake with args; it is killed when the test ends.
func startFake(t testing.TB, args ...string) *fakeProc {
	t.Helper()
	bin, _ := binaries(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, append([]string{"-ca-out", filepath.Join(dir, "ca.pem")}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeProc{settings: map[string]string{}, stderr: &syncWriter{}, file: filepath.Join(dir, "fake.env")}
	cmd.Stderr = f.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var lines bytes.Buffer
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "ready" {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			f.settings[k] = v
			lines.WriteString(sc.Text() + "\n")
		}
	}
	if f.settings["control"] == "" {
		t.Fatalf("m365fake did not get ready; stderr:\n%s", f.stderr)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if err := os.WriteFile(f.file, lines.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// control calls the fake's control API and decodes the answer into v.
func (f *fakeProc) control(t testing.TB, method, path string, v any) {
	t.Helper()
	req, err := http.NewRequest(method, f.settings["control"]+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// fakeUser is a user as GET /users lists it.
type fakeUser struct {
	ID, TenantID, UPN, AccountID string
	Admin                        bool
}

// cluster is a fake, a PostgreSQL database and the worker processes.
type cluster struct {
	t    testing.TB
	fake *fakeProc
	dsn  string
	env  []string // the workers' environment
	args []string // every worker's flags
	dir  string

	hookURL string // the webhook's URL, at the balancer ("": none)

	mu      sync.Mutex
	workers []*workerProc
	started int
	addrs   map[int]string // slot -> the -listen address of its running worker
}

// workerProc is one worker process.
type workerProc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func newCluster(t testing.TB, fake *fakeProc, dsn string, workerArgs ...string) *cluster {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	c := &cluster{t: t, fake: fake, dsn: dsn, dir: t.TempDir(), addrs: map[int]string{}}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "M365KIT_") {
			c.env = append(c.env, kv)
		}
	}
	c.env = append(c.env, setup.EnvStoreKey+"="+hex.EncodeToString(key))
	c.args = append([]string{"-db", dsn, "-fake", fake.file}, workerArgs...)
	for i, a := range workerArgs {
		if a == "-notification-url" && i+1 < len(workerArgs) {
			c.hookURL = workerArgs[i+1]
		}
	}
	if c.hookURL == "" {
		c.args = append(c.args, "-listen", "")
	}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, w := range c.workers {
			w.stop()
		}
	})
	return c
}

// getenv is the workers' environment as a setup.Env reads it.
func (c *cluster) getenv(k string) string {
	for _, kv := range c.env {
		if name, v, ok := strings.Cut(kv, "="); ok && name == k {
			return v
		}
	}
	return ""
}

// command runs the worker binary with a command (connect, status) to the end.
func (c *cluster) command(args ...string) string {
	c.t.Helper()
	_, bin := binaries(c.t)
	cmd := exec.Command(bin, append(slices.Clone(c.args), args...)...)
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("fleet-worker %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

// start starts workers (each a new process in its slot) and waits until
// they all run.
func (c *cluster) start(slots ...int) {
	c.t.Helper()
	_, bin := binaries(c.t)
	type launched struct {
		slot    int
		w       *workerProc
		running chan struct{}
	}
	var ls []launched
	for _, i := range slots {
		c.mu.Lock()
		c.started++
		log := filepath.Join(c.dir, fmt.Sprintf("worker-%d-%d.log", i, c.started))
		c.mu.Unlock()
		lf, err := os.Create(log)
		if err != nil {
			c.t.Fatal(err)
		}
		cmd := exec.Command(bin, c.args...)
		cmd.Env, cmd.Stderr = c.env, lf
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			c.t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			c.t.Fatal(err)
		}
		l := launched{slot: i, w: &workerProc{cmd: cmd, log: log, done: make(chan struct{})}, running: make(chan struct{})}
		go func() {
			sc := bufio.NewScanner(stdout)
			closed := false
			for sc.Scan() {
				if m := webhookLine.FindStringSubmatch(sc.Text()); m != nil {
					c.mu.Lock()
					c.addrs[l.slot] = m[1]
					c.mu.Unlock()
				}
				if !closed && sc.Text() == "worker running" {
					close(l.running)
					closed = true
				}
			}
			_ = cmd.Wait()
			lf.Close()
			close(l.w.done)
		}()
		ls = append(ls, l)
		c.mu.Lock()
		for len(c.workers) <= i {
			c.workers = append(c.workers, nil)
		}
		c.workers[i] = l.w
		c.mu.Unlock()
	}
	for _, l := range ls {
		select {
		case <-l.running:
		case <-l.w.done:
			b, _ := os.ReadFile(l.w.log)
			c.t.Fatalf("worker %d exited at start:\n%s", l.slot, b)
		case <-time.After(time.Minute):
			c.t.Fatalf("worker %d did not start in a minute", l.slot)
		}
	}
}

// kill ends worker i with SIGKILL: no Stop, no cleanup, jobs left running.
func (c *cluster) kill(i int) {
	c.mu.Lock()
	w := c.workers[i]
	delete(c.addrs, i)
	c.mu.Unlock()
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	<-w.done
}

func (w *workerProc) stop() {
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(15 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
	}
}

// client returns a worker of this process over the cluster's database and
// fake, not started: for Connect, Sync and the status queries.
func (c *cluster) client() *worker {
	c.t.Helper()
	log := slog.New(slog.DiscardHandler)
	w, err := open(context.Background(), options{db: c.dsn, fake: c.fake.file, hookURL: c.hookURL}, setup.Env{Getenv: c.getenv}, log)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(w.close)
	return w
}

// fakeState is a user's data as GET /state shows it.
type fakeState struct {
	Events []struct {
		ID, Subject string
		Start, End  time.Time
	}
	Messages []struct {
		ID, Subject string
		IsRead      bool
	}
}

// tokenGeneration reads the fake's token generation out of a page cursor:
// the fake numbers the delta and skip tokens it hands out to a user, in
// order, so the pages of one resource, applied in order, carry growing
// numbers.
var tokenRE = regexp.MustCompile(`(?:skiptoken|deltatoken)=([A-Za-z0-9_-]+)`)

func tokenGeneration(cursor string) (int64, bool) {
	if u, err := url.QueryUnescape(cursor); err == nil {
		cursor = u
	}
	m := tokenRE.FindAllStringSubmatch(cursor, -1)
	if m == nil {
		return 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(m[len(m)-1][1])
	if err != nil {
		return 0, false
	}
	g, _, _ := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(g, 10, 64)
	return n, err == nil
}

// isTokenRequest reports whether r is a request to Entra's token endpoint.
func isTokenRequest(r *graphtest.Request) bool {
	return r.Host == graphtest.LoginHost && strings.HasSuffix(r.Path, "/oauth2/v2.0/token")
}

// resourceOf names the sync resource a Graph request belongs to: calendar
// for the calendar view, mail:<folder> for a folder's messages.
func resourceOf(r *graphtest.Request) string {
	p := strings.ToLower(r.Path)
	switch {
	case strings.Contains(p, "calendarview"):
		return "calendar"
	case strings.Contains(p, "/mailfolders/"):
		rest := p[strings.Index(p, "/mailfolders/")+len("/mailfolders/"):]
		folder, _, _ := strings.Cut(rest, "/")
		return "mail:" + folder
	}
	return "other"
}

// waitIdle waits until no sync job is queued, waiting or running, and no
// account is syncing or throttled.
func waitIdle(t testing.TB, w *worker, limit time.Duration) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(limit)
	for {
		var jobs int
		err := w.db.Pool().QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE kind IN ('fleet.calendar_sync', 'fleet.mail_sync')
			AND state IN ('available', 'scheduled', 'retryable', 'running', 'pending')`).Scan(&jobs)
		if err != nil {
			t.Fatal(err)
		}
		counts, err := w.f.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if jobs == 0 && counts[fleet.StatusSyncing] == 0 && counts[fleet.StatusThrottled] == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not idle after %v: %d sync jobs left, accounts %v", limit, jobs, counts)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var webhookLine = regexp.MustCompile(`^webhook on http://([^/]+)/`)

// balancer is the load balancer in front of the workers' webhooks: it
// terminates TLS for the notification URL and forwards each POST to a
// running worker, the next one when a worker does not answer (killed).
type balancer struct {
	srv    *httptest.Server
	caFile string // its certificate, for m365fake's -webhook-ca

	mu      sync.Mutex
	cluster *cluster
	next    int
}

func newBalancer(t testing.TB) *balancer {
	t.Helper()
	b := &balancer{}
	b.srv = httptest.NewTLSServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	b.caFile = filepath.Join(t.TempDir(), "webhook-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b.srv.Certificate().Raw})
	if err := os.WriteFile(b.caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return b
}

// URL is the notification URL.
func (b *balancer) URL() string { return b.srv.URL + "/graph/notifications" }

func (b *balancer) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "balancer: "+err.Error(), http.StatusBadGateway)
		return
	}
	b.mu.Lock()
	c := b.cluster
	b.next++
	start := b.next
	b.mu.Unlock()
	var backends []string
	if c != nil {
		c.mu.Lock()
		for _, a := range c.addrs {
			backends = append(backends, a)
		}
		c.mu.Unlock()
	}
	slices.Sort(backends)
	for i := range backends {
		addr := backends[(start+i)%len(backends)]
		req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+addr+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			continue
		}
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue // killed: the next replica
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "balancer: no replica answered", http.StatusBadGateway)
}
