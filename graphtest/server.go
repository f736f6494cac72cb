package graphtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The production hosts the fake answers for.
const (
	// LoginHost is the Entra ID authority host.
	LoginHost = "login.microsoftonline.com"
	// GraphHost is the Microsoft Graph host.
	GraphHost = "graph.microsoft.com"
	// PersonalTenantID is the tenant every personal Microsoft account
	// (outlook.com, live.com) signs in from.
	PersonalTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"
)

// Option configures a Server.
type Option func(*Server)

// WithClock makes the server read the time from now instead of time.Now.
// It is the fake's one clock: token and code expiry, subscription
// expirations, the demo tenant's week, item timestamps, the request log,
// the dates of error answers ($batch items included) and notification
// delivery (the 3-second answer window, retries, throttling; see
// SetNotificationClient and RetryDue) all read it. A test moves the fake's
// time by changing what now returns.
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// WithTokenLifetime sets how long issued access tokens live (default one hour).
func WithTokenLifetime(d time.Duration) Option {
	return func(s *Server) { s.tokenLifetime = d }
}

// Server is a fake Microsoft 365: the Entra ID authority and Microsoft Graph
// behind one TLS listener on the loopback address. It is safe for
// concurrent use.
type Server struct {
	ts            *httptest.Server
	transport     func() *http.Transport // the transport of HTTPClient, built on first use
	now           func() time.Time
	tokenLifetime time.Duration

	login      *http.ServeMux // requests for LoginHost
	graph      *http.ServeMux // requests for GraphHost
	graphPaths []string       // the path of every Graph route, without the version

	mu      sync.Mutex
	tenants map[string]*Tenant // by ID
	// tenantOrder holds the tenants in the order they were added.
	tenantOrder []*Tenant
	domains     map[string]*Tenant // by lower-case domain
	apps        map[string]*App    // by client ID
	tokens      map[string]*accessToken

	entra  entraState        // the authority's codes, refresh tokens and token faults (entra.go)
	faults faultState        // injected Graph faults and chaos (faults.go)
	reqlog requestLog        // every request received (log.go)
	subs   subscriptionState // change-notification subscriptions (subscriptions.go)
	serve  serveState        // listener, latency and mailbox limits (serve.go)
}

// NewServer starts a fake Microsoft 365. Close it when done; in tests, New
// does that for you.
func NewServer(opts ...Option) *Server {
	s := &Server{
		now:           time.Now,
		tokenLifetime: time.Hour,
		login:         http.NewServeMux(),
		graph:         http.NewServeMux(),
		tenants:       map[string]*Tenant{},
		domains:       map[string]*Tenant{},
		apps:          map[string]*App{},
		tokens:        map[string]*accessToken{},
	}
	for _, o := range opts {
		o(s)
	}
	s.entra.init()
	s.subs.ctx, s.subs.cancel = context.WithCancel(context.Background())
	s.routes()
	s.transport = sync.OnceValue(s.newTransport)
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.useListener()
	s.ts.EnableHTTP2 = true
	s.ts.TLS = &tls.Config{Certificates: []tls.Certificate{serverCertificate()}}
	s.ts.StartTLS()
	return s
}

// New starts a fake Microsoft 365 that is closed when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// Close shuts the server down, waits for the requests in flight to finish
// and closes the idle connections of HTTPClient's transport and of the
// default notification client.
func (s *Server) Close() {
	s.subs.cancel() // no more notifications or retries
	s.ts.Close()
	s.transport().CloseIdleConnections()
	s.closeNotificationClient()
}

// URL returns the base URL of the listener, https://127.0.0.1:PORT. Code
// under test should not need it: HTTPClient reaches the fake through the
// production URLs.
func (s *Server) URL() string { return s.ts.URL }

// HTTPClient returns a client that trusts the server's certificate and sends
// every connection for login.microsoftonline.com and graph.microsoft.com
// (and the listener's own address) to the server. Connections to any other
// host fail, so nothing leaves the machine. Code under test keeps the
// production URLs.
//
// Each call returns a new *http.Client (set its CheckRedirect or Timeout
// freely) over one shared transport, so connections are reused across
// clients; don't change the transport itself.
func (s *Server) HTTPClient() *http.Client {
	return &http.Client{Transport: s.transport(), Timeout: 30 * time.Second}
}

// newTransport builds the transport HTTPClient shares.
func (s *Server) newTransport() *http.Transport {
	pool := x509.NewCertPool()
	pool.AddCert(s.ts.Certificate())
	return mappedTransport(s.ts.Listener.Addr().String(), pool)
}

// serveHTTP dispatches by the Host header: the authority or Graph.
func (s *Server) serveHTTP(rw http.ResponseWriter, r *http.Request) {
	w, record := s.logged(rw, r)
	defer record()
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	switch strings.ToLower(host) {
	case LoginHost:
		s.login.ServeHTTP(w, r)
	case GraphHost:
		s.serveGraphLimited(w, r)
	default:
		http.Error(w, "graphtest: unknown host "+host, http.StatusMisdirectedRequest)
	}
}

// serverCertificate returns a fresh self-signed certificate for the
// production hosts and the loopback addresses, so clients from HTTPClient
// verify the fake by name. ECDSA keeps generation well under a millisecond.
func serverCertificate() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{Organization: []string{"graphtest fake Microsoft 365"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{LoginHost, GraphHost, "localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err) // the template is fixed and valid
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// newID returns a random lower-case GUID.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// randomToken returns n random bytes, hex-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
