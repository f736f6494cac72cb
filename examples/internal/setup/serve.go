package setup

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Serve serves h until ctx is done, then shuts down, giving requests in
// flight five seconds. It listens on addr, or when addr is empty on the
// redirect URL's host and port (443 when the URL names none), and calls
// listening with the address once the listener is open, so a program can
// print where it is.
func Serve(ctx context.Context, addr, redirect string, h http.Handler, listening func(net.Addr)) error {
	if addr == "" {
		u, err := url.Parse(redirect)
		if err != nil {
			return fmt.Errorf("redirect URL %q: %w", redirect, err)
		}
		addr = u.Host
		if u.Port() == "" {
			addr = net.JoinHostPort(u.Hostname(), "443")
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("-addr: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	listening(ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}
