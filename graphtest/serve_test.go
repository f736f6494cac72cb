package graphtest

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestClientForReachesAFakeByAddress(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(t, WithListener(ln))
	if srv.Addr() != ln.Addr().String() {
		t.Fatalf("Addr = %s, want the listener's %s", srv.Addr(), ln.Addr())
	}
	d := srv.AddDemoTenant()
	hc, err := ClientFor(srv.Addr(), srv.CertificatePEM())
	if err != nil {
		t.Fatal(err)
	}
	tok := srv.IssueToken(d.Adele, d.App.ClientID, "User.Read")
	resp, body, err := graphGet(t, hc, "/me", tok)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), d.Adele.UserPrincipalName) {
		t.Fatalf("GET /me = %d %s", resp.StatusCode, body)
	}
	if _, err := hc.Get("https://example.com/"); err == nil || !strings.Contains(err.Error(), "refusing to dial") {
		t.Errorf("GET example.com: err = %v, want a refusal", err)
	}

	// A client that does not trust the fake's certificate fails.
	other := New(t)
	hc2, err := ClientFor(srv.Addr(), other.CertificatePEM())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := graphGet(t, hc2, "/me", tok); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("with another CA: err = %v, want a certificate error", err)
	}
}

func TestClientForBadInput(t *testing.T) {
	t.Parallel()
	srv := New(t)
	for _, tt := range []struct {
		name, addr string
		ca         []byte
		want       string
	}{
		{"no port", "127.0.0.1", srv.CertificatePEM(), "addr"},
		{"no PEM", srv.Addr(), []byte("not a certificate"), "caPEM"},
		{"nil PEM", srv.Addr(), nil, "caPEM"},
	} {
		if _, err := ClientFor(tt.addr, tt.ca); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one naming %s", tt.name, err, tt.want)
		}
	}
	if _, err := Browse(t.Context(), nil, "https://login.microsoftonline.com/"); err == nil {
		t.Error("Browse with a nil client: no error")
	}
}

// waitInFlight waits until n Graph requests of clientID for u are being
// served.
func waitInFlight(t *testing.T, s *Server, clientID string, u *User, n int) {
	t.Helper()
	for {
		s.serve.mu.Lock()
		got := s.serve.inFlight[clientID+" "+u.ID]
		s.serve.mu.Unlock()
		if got == n {
			return
		}
		if t.Context().Err() != nil {
			t.Fatalf("in flight for %s: %d, want %d", u.UserPrincipalName, got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestMailboxConcurrencyAnswers429OverTheLimit(t *testing.T) {
	t.Parallel()
	// An hour of latency keeps requests in flight until they are cancelled.
	srv := New(t, WithLatency(time.Hour), WithMailboxConcurrency(OutlookConcurrency, "1"))
	d := srv.AddDemoTenant()
	adele := srv.IssueToken(d.Adele, d.App.ClientID, "User.Read")
	alex := srv.IssueToken(d.Alex, d.App.ClientID, "User.Read")
	hc := srv.HTTPClient()

	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	send := func(tok string) {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+GraphHost+"/v1.0/me", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			if resp, err := hc.Do(req); err == nil {
				resp.Body.Close()
				t.Errorf("a held request was answered %d", resp.StatusCode)
			}
		})
	}
	for range OutlookConcurrency {
		send(adele)
	}
	waitInFlight(t, srv, d.App.ClientID, d.Adele, OutlookConcurrency)
	send(alex) // another mailbox: not limited by Adele's
	waitInFlight(t, srv, d.App.ClientID, d.Alex, 1)

	resp, body, err := graphGet(t, hc, "/me", adele)
	if err != nil {
		t.Fatal(err)
	}
	var e graphError
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusTooManyRequests || e.Error.Code != "ApplicationThrottled" ||
		e.Error.Message != "Application is over its MailboxConcurrency limit." || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("fifth request: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	cancel()
	wg.Wait()
	// The held handlers return when they see the cancellation, then log.
	var reqs []Request
	for reqs = srv.Requests(); len(reqs) < OutlookConcurrency+2; reqs = srv.Requests() {
		if t.Context().Err() != nil {
			t.Fatalf("logged %d requests, want %d", len(reqs), OutlookConcurrency+2)
		}
		time.Sleep(time.Millisecond)
	}
	var throttled, held int
	for _, r := range reqs {
		if r.Host != GraphHost {
			continue
		}
		switch {
		case r.Status == http.StatusTooManyRequests:
			throttled++
			if r.UserID != d.Adele.ID || r.InFlight != OutlookConcurrency+1 {
				t.Errorf("throttled request logged as user %s in flight %d", r.UserID, r.InFlight)
			}
		case r.UserID == d.Adele.ID:
			held++
			if r.InFlight < 1 || r.InFlight > OutlookConcurrency || r.End.Before(r.Time) {
				t.Errorf("held request logged in flight %d, %v..%v", r.InFlight, r.Time, r.End)
			}
		case r.UserID == d.Alex.ID:
			if r.InFlight != 1 {
				t.Errorf("Alex's request logged in flight %d, want 1", r.InFlight)
			}
		default:
			t.Errorf("unexpected request %+v", r)
		}
	}
	if throttled != 1 || held != OutlookConcurrency {
		t.Errorf("logged %d throttled and %d held requests, want 1 and %d", throttled, held, OutlookConcurrency)
	}
}

func TestMailboxConcurrencyOffStillLogsInFlight(t *testing.T) {
	t.Parallel()
	srv := New(t)
	d := srv.AddDemoTenant()
	tok := srv.IssueToken(d.Adele, d.App.ClientID, "User.Read")
	if resp, _, err := graphGet(t, srv.HTTPClient(), "/me", tok); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /me: %v", err)
	}
	if resp, _, err := graphGet(t, srv.HTTPClient(), "/me", "unknown"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /me with an unknown token: %v", err)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || reqs[0].UserID != d.Adele.ID || reqs[0].InFlight != 1 || reqs[1].UserID != "" || reqs[1].InFlight != 0 {
		t.Errorf("log: %+v", reqs)
	}
}

// BenchmarkGeneratedMailboxes measures the fake as a remote Graph for many
// accounts: parallel GET /me/events pages of generated users through
// ClientFor, with the mailbox limit on, no latency.
func BenchmarkGeneratedMailboxes(b *testing.B) {
	srv := New(b, WithMailboxConcurrency(OutlookConcurrency, "1"))
	g, err := srv.Generate(GenerateConfig{Users: 100, Tenants: 5, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	toks := make([]string, len(g.Users))
	for i, u := range g.Users {
		toks[i] = srv.IssueToken(u, DemoClientID, "Calendars.Read")
	}
	hc, err := ClientFor(srv.Addr(), srv.CertificatePEM())
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tok := toks[int(next.Add(1))%len(toks)]
			req, _ := http.NewRequest(http.MethodGet, "https://"+GraphHost+"/v1.0/me/events?$top=10", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
