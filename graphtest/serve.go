package graphtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// OutlookConcurrency is Outlook's documented limit of concurrent requests
// per app and mailbox, the usual argument of WithMailboxConcurrency.
const OutlookConcurrency = 4

// serveState is what lets other processes use the server (a chosen
// listener) and the per-mailbox limits and latency applied to Graph
// requests. The options set the first fields before the server starts;
// mu guards inFlight.
type serveState struct {
	listener     net.Listener
	latency      time.Duration
	mailboxLimit int
	retryAfter   string

	mu       sync.Mutex
	inFlight map[string]int // client ID + " " + user ID -> Graph requests being served
}

// WithListener makes the server accept connections on ln instead of a
// fresh loopback port, so it can serve at a fixed address that another
// process knows (see ClientFor). The server closes ln when it closes.
func WithListener(ln net.Listener) Option {
	return func(s *Server) { s.serve.listener = ln }
}

// WithLatency delays every Graph request by d before it is served (not
// the authority's requests), as a remote Graph would. A request waiting
// out its latency counts as in flight for WithMailboxConcurrency.
func WithLatency(d time.Duration) Option {
	return func(s *Server) { s.serve.latency = d }
}

// WithMailboxConcurrency enforces Outlook's limit of concurrent requests
// per app and mailbox (OutlookConcurrency, 4): a Graph request that
// arrives while limit requests of the same app for the same user are
// being served gets 429 with code ApplicationThrottled, "Application is
// over its MailboxConcurrency limit.", and retryAfter (such as "1") as its
// Retry-After header (none when empty). The fake counts every Graph
// request made with the user's token, $batch counting as one, which is
// stricter than Outlook (which counts mailbox requests only): a client
// that stays within it stays within Outlook's. A limit of 0 or less
// enforces nothing; Request.InFlight is recorded either way.
func WithMailboxConcurrency(limit int, retryAfter string) Option {
	return func(s *Server) { s.serve.mailboxLimit, s.serve.retryAfter = limit, retryAfter }
}

// useListener replaces the listener of the unstarted test server with
// the one WithListener gave.
func (s *Server) useListener() {
	if s.serve.listener == nil {
		return
	}
	_ = s.ts.Listener.Close()
	s.ts.Listener = s.serve.listener
}

// Addr returns the address the server listens on, such as
// "127.0.0.1:8443": what another process passes to ClientFor.
func (s *Server) Addr() string { return s.ts.Listener.Addr().String() }

// CertificatePEM returns the server's self-signed certificate, PEM-encoded:
// the certificate authority another process passes to ClientFor. It names
// login.microsoftonline.com, graph.microsoft.com, localhost and the
// loopback addresses. It is public; the key never leaves the server.
func (s *Server) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ts.Certificate().Raw})
}

// ClientFor returns an HTTP client for a fake served by another process
// (cmd/m365fake, or a Server's Addr and CertificatePEM): like
// Server.HTTPClient, it trusts caPEM and sends every connection for
// login.microsoftonline.com and graph.microsoft.com (and addr itself) to
// addr, and refuses every other host. Give it to auth.Config.HTTPClient
// and graphclient.WithHTTPClient and keep the production URLs: MSAL's
// authority validation and the Graph client's host checks work unchanged.
// Each call builds its own transport.
func ClientFor(addr string, caPEM []byte) (*http.Client, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("graphtest: ClientFor: addr %q is not host:port: %w", addr, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("graphtest: ClientFor: caPEM holds no PEM certificate")
	}
	return &http.Client{Transport: mappedTransport(addr, pool), Timeout: 30 * time.Second}, nil
}

// mappedTransport returns a transport that trusts pool and dials addr for
// the production hosts and addr itself, refusing every other host.
func mappedTransport(addr string, pool *x509.CertPool) *http.Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, hostport string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(hostport)
			if err != nil {
				return nil, err
			}
			switch strings.ToLower(host) {
			case LoginHost, GraphHost:
				return dialer.DialContext(ctx, network, addr)
			}
			if hostport == addr {
				return dialer.DialContext(ctx, network, addr)
			}
			return nil, fmt.Errorf("graphtest: refusing to dial %s: only %s and %s are served", hostport, LoginHost, GraphHost)
		},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 64,
	}
}

// serveGraphLimited counts the request against its user's mailbox,
// answers 429 over the limit, waits out the latency and serves it.
func (s *Server) serveGraphLimited(w *statusWriter, r *http.Request) {
	key := ""
	raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	if tok := s.tokens[raw]; tok != nil && tok.user != nil {
		key = tok.clientID + " " + tok.user.ID
		w.userID = tok.user.ID
	}
	s.mu.Unlock()
	if key != "" {
		st := &s.serve
		st.mu.Lock()
		if st.inFlight == nil {
			st.inFlight = map[string]int{}
		}
		st.inFlight[key]++
		w.inFlight = st.inFlight[key]
		st.mu.Unlock()
		defer func() {
			st.mu.Lock()
			defer st.mu.Unlock()
			if st.inFlight[key]--; st.inFlight[key] == 0 {
				delete(st.inFlight, key)
			}
		}()
		if st.mailboxLimit > 0 && w.inFlight > st.mailboxLimit {
			writeMailboxConcurrency(w, st.retryAfter)
			return
		}
	}
	if d := s.serve.latency; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	s.serveGraph(w, r)
}

// logUser records u as the user of a token request whose code or refresh
// token names u, so the request log can tell whose tokens were asked for.
func logUser(w http.ResponseWriter, u *User) {
	if sw, ok := w.(*statusWriter); ok && u != nil {
		sw.userID = u.ID
	}
}

// writeMailboxConcurrency writes Outlook's answer to a request over the
// concurrency limit.
func writeMailboxConcurrency(w http.ResponseWriter, retryAfter string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	writeGraphError(w, http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
}

// Browse plays the user's browser on an authorize or admin-consent URL as
// Server.Browse does, through hc: the client of ClientFor for a fake served
// by another process (cmd/m365fake), so that process can sign users in
// without a person. The authorize endpoint signs in the user the URL's
// login_hint names (auth.SignInRequest.LoginHint), else the tenant's first
// user; the admin-consent endpoint uses the login_hint's administrator, else
// the tenant's first. hc is copied, not changed.
func Browse(ctx context.Context, hc *http.Client, rawURL string) (*http.Request, error) {
	if hc == nil {
		return nil, errors.New("graphtest: browse: nil *http.Client")
	}
	cp := *hc
	hc = &cp
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("graphtest: browse: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("graphtest: browse: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("graphtest: browse: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusFound:
		return http.NewRequestWithContext(ctx, http.MethodGet, resp.Header.Get("Location"), nil)
	case resp.StatusCode == http.StatusOK && formAction.Match(body):
		action := html.UnescapeString(string(formAction.FindSubmatch(body)[1]))
		form := url.Values{}
		for _, m := range formInput.FindAllSubmatch(body, -1) {
			form.Set(html.UnescapeString(string(m[1])), html.UnescapeString(string(m[2])))
		}
		cb, err := http.NewRequestWithContext(ctx, http.MethodPost, action, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, fmt.Errorf("graphtest: browse: %w", err)
		}
		cb.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return cb, nil
	}
	msg := string(body)
	if m := regexp.MustCompile(`<div id="error">([^<]*)</div>`).FindStringSubmatch(msg); m != nil {
		msg = html.UnescapeString(m[1])
	}
	if i := strings.Index(msg, "\r\n"); i >= 0 {
		msg = msg[:i]
	}
	return nil, errors.New("graphtest: browse: the authority answered " + resp.Status + ": " + strings.TrimSpace(msg))
}
