// Command m365fake serves graphtest's fake Microsoft 365 (the Entra ID
// authority and Microsoft Graph) over HTTPS on loopback, for other
// processes: the worker processes of a multi-process test, or a local web
// app a developer points at a fake tenant.
//
//	go run ./cmd/m365fake                                  # the demo tenant (contoso.com)
//	go run ./cmd/m365fake -users 500 -tenants 20 -seed 1   # generated users with calendars and mailboxes
//
// When it is ready it prints one key=value line per setting on stdout, then
// "ready", and serves until SIGINT or SIGTERM:
//
//	addr=127.0.0.1:41234                                  the listener
//	ca=/tmp/m365fake-ca.pem                               its certificate (PEM), the CA to trust
//	authority=https://login.microsoftonline.com/organizations
//	graph=https://graph.microsoft.com/v1.0/
//	client_id=6731de76-14a6-49ae-97bc-6eba6914391e       the app registered in the fake
//	client_secret=demo-secret-not-for-production
//	redirect_url=http://localhost:8080/auth/callback
//	control=http://127.0.0.1:41235                        the control API (below)
//	ready
//
// The authority and Graph URLs are the production ones: a client reaches
// the fake by sending the connections for login.microsoftonline.com and
// graph.microsoft.com to addr and trusting the certificate. In Go,
// graphtest.ClientFor(addr, caPEM) builds that *http.Client; give it to
// auth.Config.HTTPClient and graphclient.WithHTTPClient and change nothing
// else. A user signs in without a person through graphtest.Browse with the
// same client: the fake signs in the user the sign-in URL's login_hint names
// (auth.SignInRequest.LoginHint).
//
// Flags:
//
//	-addr 127.0.0.1:0         listen address (port 0 picks a free port)
//	-ca-out FILE              where to write the certificate (default m365fake-PID-ca.pem in the temp directory)
//	-demo                     add the demo tenant (default: on unless -users is set)
//	-users N -tenants M       generate N users in M tenants (graphtest.Generate)
//	-seed S                   seed of the generated content and of the faults
//	-events E -messages K     events per calendar and messages per Inbox of generated users (default 20 each)
//	-throttle R               rate (0 to 1) of Graph requests answered 429 with Retry-After
//	-unavailable R            rate of Graph requests answered 503 with Retry-After
//	-drop R                   rate of Graph requests whose connection is dropped
//	-retry-after S            the Retry-After of those 429s and 503s (default "1")
//	-latency D                delay before each Graph request is served (such as 100ms)
//	-mailbox-limit N          concurrent Graph requests per app and mailbox before 429 ApplicationThrottled (default 4, Outlook's; 0 = no limit)
//	-token-lifetime D         lifetime of issued access tokens (default 1h)
//	-webhook-ca FILE          PEM certificates to trust, beside the system's, when delivering change notifications
//	-control ADDR             listen address of the control API (default 127.0.0.1:0; "" turns it off)
//
// The control API is plain HTTP and JSON, for the test that drives the
// workers (it holds no secret but can revoke users: keep it on loopback):
//
//	GET  /users                       every user: ID, TenantID, UPN, AccountID, Admin
//	GET  /requests?since=N            the request log from the N-th request on (graphtest.Request, JSON with Go field
//	                                  names; Authorization and Cookie removed); UserID, Time, End and InFlight show
//	                                  each account's concurrent requests
//	POST /requests/reset              forget the log
//	GET  /deliveries                  every POST to a notification URL (graphtest.Delivery): validations,
//	                                  notifications and their retries, with the answer and whether it counted
//	POST /churn?n=K                   K random changes to generated users' data (graphtest.Change list); notifications follow
//	POST /revoke?user=UPN|ID          revoke the user's refresh tokens and expire their access tokens
//	POST /withdraw-consent?tenant=ID|DOMAIN  withdraw the tenant's consent to the app
//	POST /expire-tokens?user=UPN|ID   expire the access tokens issued for the user (or for every user of
//	     /expire-tokens?tenant=ID|DOMAIN  the tenant), as their lifetime passing would: the next request refreshes
//	GET  /state?user=UPN|ID&start=T&end=T&folder=F  the truth to compare a sync with: the user's events in the
//	                                  calendar view of [start, end) (RFC 3339; instances, no series masters) and the
//	                                  messages of folder (default inbox), with ID, Subject, Start, End / IsRead
//	POST /chaos?throttle=R&unavailable=R&drop=R&retry_after=S&seed=S  replace the fault rates (all zero: off)
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/m365kit/m365kit/graphtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "m365fake:", err)
		if errors.Is(err, flag.ErrHelp) || errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// errUsage marks a bad flag value.
var errUsage = errors.New("usage")

// options are the parsed flags.
type options struct {
	addr, caOut, control, webhookCA string
	demo                            bool
	gen                             graphtest.GenerateConfig
	chaos                           graphtest.ChaosConfig
	latency, tokenLifetime          time.Duration
	mailboxLimit                    int
}

// parse reads the flags.
func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("m365fake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "listen `address` (port 0 picks a free port)")
	fs.StringVar(&o.caOut, "ca-out", "", "write the certificate (PEM) to `file` (default m365fake-PID-ca.pem in the temp directory)")
	fs.BoolVar(&o.demo, "demo", true, "add the demo tenant (default on unless -users is set)")
	fs.IntVar(&o.gen.Users, "users", 0, "generate `N` users")
	fs.IntVar(&o.gen.Tenants, "tenants", 1, "spread the generated users over `M` tenants")
	fs.Int64Var(&o.gen.Seed, "seed", 1, "`seed` of the generated content and of the faults")
	fs.IntVar(&o.gen.Events, "events", 20, "events per generated calendar")
	fs.IntVar(&o.gen.Messages, "messages", 20, "messages per generated Inbox")
	fs.Float64Var(&o.chaos.Throttle, "throttle", 0, "`rate` (0 to 1) of Graph requests answered 429")
	fs.Float64Var(&o.chaos.Unavailable, "unavailable", 0, "`rate` of Graph requests answered 503")
	fs.Float64Var(&o.chaos.Drop, "drop", 0, "`rate` of Graph requests whose connection is dropped")
	fs.StringVar(&o.chaos.RetryAfter, "retry-after", "1", "Retry-After `seconds` of the 429s and 503s")
	fs.DurationVar(&o.latency, "latency", 0, "`delay` before each Graph request is served")
	fs.IntVar(&o.mailboxLimit, "mailbox-limit", graphtest.OutlookConcurrency, "concurrent Graph requests per app and mailbox before 429 (0 = no limit)")
	fs.DurationVar(&o.tokenLifetime, "token-lifetime", time.Hour, "lifetime of issued access tokens")
	fs.StringVar(&o.webhookCA, "webhook-ca", "", "PEM `file` of certificates to trust when delivering change notifications")
	fs.StringVar(&o.control, "control", "127.0.0.1:0", "listen `address` of the control API (\"\" turns it off)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	demoSet := false
	fs.Visit(func(f *flag.Flag) { demoSet = demoSet || f.Name == "demo" })
	if o.gen.Users > 0 && !demoSet {
		o.demo = false
	}
	c := o.chaos
	switch {
	case o.gen.Users < 0 || o.gen.Tenants < 1 || o.gen.Events < 0 || o.gen.Messages < 0:
		return o, fmt.Errorf("%w: -users, -events and -messages must not be negative, -tenants at least 1", errUsage)
	case o.gen.Users > 0 && o.gen.Tenants > o.gen.Users:
		return o, fmt.Errorf("%w: -tenants %d is more than -users %d", errUsage, o.gen.Tenants, o.gen.Users)
	case !o.demo && o.gen.Users == 0:
		return o, fmt.Errorf("%w: nothing to serve: -demo=false and no -users", errUsage)
	case !validRate(c.Throttle) || !validRate(c.Unavailable) || !validRate(c.Drop) || c.Throttle+c.Unavailable+c.Drop >= 1:
		return o, fmt.Errorf("%w: -throttle, -unavailable and -drop are rates between 0 and 1, their sum below 1", errUsage)
	case !validRetryAfter(c.RetryAfter):
		return o, fmt.Errorf("%w: -retry-after %q is not a number of seconds", errUsage, c.RetryAfter)
	case o.latency < 0 || o.tokenLifetime <= 0 || o.mailboxLimit < 0:
		return o, fmt.Errorf("%w: -latency and -mailbox-limit must not be negative, -token-lifetime must be positive", errUsage)
	}
	o.chaos.Seed = o.gen.Seed
	if o.caOut == "" {
		o.caOut = filepath.Join(os.TempDir(), fmt.Sprintf("m365fake-%d-ca.pem", os.Getpid()))
	}
	return o, nil
}

func validRate(r float64) bool { return r >= 0 && r < 1 }

func validRetryAfter(s string) bool {
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && f >= 0
}

// run serves the fake until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := graphtest.NewServer(
		graphtest.WithListener(ln),
		graphtest.WithLatency(o.latency),
		graphtest.WithMailboxConcurrency(o.mailboxLimit, o.chaos.RetryAfter),
		graphtest.WithTokenLifetime(o.tokenLifetime),
	)
	defer srv.Close()
	if o.webhookCA != "" {
		hc, err := webhookClient(o.webhookCA)
		if err != nil {
			return err
		}
		srv.SetNotificationClient(hc)
	}
	if o.demo {
		srv.AddDemoTenant()
	}
	var gen *graphtest.Generated
	if o.gen.Users > 0 {
		if gen, err = srv.Generate(o.gen); err != nil {
			return err
		}
	}
	if o.chaos.Throttle+o.chaos.Unavailable+o.chaos.Drop > 0 {
		srv.Chaos(o.chaos)
	}
	if err := os.WriteFile(o.caOut, srv.CertificatePEM(), 0o644); err != nil {
		return fmt.Errorf("-ca-out: %w", err)
	}

	controlURL := ""
	if o.control != "" {
		cl, err := net.Listen("tcp", o.control)
		if err != nil {
			return fmt.Errorf("-control: %w", err)
		}
		hs := &http.Server{Handler: &control{srv: srv, gen: gen}, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = hs.Serve(cl) }()
		defer hs.Close()
		controlURL = "http://" + cl.Addr().String()
	}

	lines := [][2]string{
		{"addr", srv.Addr()},
		{"ca", o.caOut},
		{"authority", "https://" + graphtest.LoginHost + "/organizations"},
		{"graph", "https://" + graphtest.GraphHost + "/v1.0/"},
		{"client_id", graphtest.DemoClientID},
		{"client_secret", graphtest.DemoClientSecret},
		{"redirect_url", graphtest.DemoRedirectURL},
	}
	if controlURL != "" {
		lines = append(lines, [2]string{"control", controlURL})
	}
	for _, l := range lines {
		fmt.Fprintf(stdout, "%s=%s\n", l[0], l[1])
	}
	fmt.Fprintln(stdout, "ready")
	<-ctx.Done()
	fmt.Fprintln(stderr, "m365fake: shutting down")
	return nil
}

// webhookClient returns the client that delivers change notifications,
// trusting the system's roots and the certificates in file.
func webhookClient(file string) (*http.Client, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("-webhook-ca: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if blk, _ := pem.Decode(b); blk == nil || !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("-webhook-ca: %s holds no PEM certificate", file)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, nil
}
