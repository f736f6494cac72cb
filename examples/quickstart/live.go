package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/m365kit/m365kit/consent"
	"github.com/m365kit/m365kit/examples/internal/setup"
)

// callbackAddr returns the loopback address to serve the redirect URL on: its
// host and explicit port. The quickstart receives the callbacks itself, so the
// redirect URL must point at this machine.
func callbackAddr(redirect string) (addr, path string, err error) {
	u, err := url.Parse(redirect)
	if err != nil {
		return "", "", &setup.ConfigError{Variable: setup.EnvRedirectURL, Problem: "is not a URL"}
	}
	if u.Scheme != "http" || !setup.IsLoopback(u.Hostname()) || u.Port() == "" {
		return "", "", &setup.ConfigError{Variable: setup.EnvRedirectURL,
			Problem: "the quickstart serves the callback itself: use http://localhost:PORT/PATH (registered on the app as a Web redirect URI)"}
	}
	path = u.Path
	if path == "" {
		path = "/"
	}
	return u.Host, path, nil
}

// callback is one request Microsoft's redirect sent to the loopback server,
// held open until the waiting step answers it.
type callback struct {
	r    *http.Request
	done chan string
}

// live sets the walker up against Microsoft: the configured app, its sealed
// file store, and a loopback server for the callbacks. hc is the HTTP client
// for Entra ID and Graph (nil in production; tests pass graphtest's). The
// returned function stops the server.
func (w *walker) live(ctx context.Context, cfg *setup.Config, hc *http.Client) (func(), error) {
	w.sum.Mode = "microsoft"
	addr, path, err := callbackAddr(cfg.RedirectURL)
	if err != nil {
		return nil, err
	}
	store, err := cfg.Store()
	if err != nil {
		return nil, err
	}
	app, err := cfg.App(store, hc)
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	flow, err := consent.New(consent.Config{ClientID: cfg.ClientID, RedirectURL: cfg.RedirectURL, StateKey: key, StateTTL: 30 * time.Minute})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot serve the callback on %s: %w", setup.EnvRedirectURL, addr, err)
	}
	calls := make(chan callback)
	mux := http.NewServeMux()
	mux.HandleFunc(path, func(rw http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || (r.Form.Get("state") == "" && r.Form.Get("error") == "") {
			http.Error(rw, "not a Microsoft callback", http.StatusBadRequest)
			return
		}
		cb := callback{r: r, done: make(chan string, 1)}
		select {
		case calls <- cb:
		case <-r.Context().Done():
			return
		}
		var msg string
		select {
		case msg = <-cb.done:
		case <-r.Context().Done():
			return
		}
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(rw, "<!doctype html><title>m365kit quickstart</title><p>%s</p>", html.EscapeString(msg))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}

	w.app, w.flow, w.hc = app, flow, hc
	w.consentTenant = "organizations"
	w.saveAccount = cfg.SaveAccount
	w.browse = func(ctx context.Context, who, u string) (*http.Request, func(string), error) {
		fmt.Fprintf(w.out, "      open the URL above in a browser as %s (waiting for the callback on %s)\n", who, cfg.RedirectURL)
		if w.open != nil {
			w.open(u)
		}
		select {
		case cb := <-calls:
			return cb.r, func(msg string) { cb.done <- msg }, nil
		case <-ctx.Done():
			return nil, nil, errors.New("stopped while waiting for the browser")
		}
	}
	fmt.Fprintf(w.out, "m365kit quickstart against Microsoft 365: app %s (%s), tokens sealed in %s\n", cfg.ClientID, cfg.CredentialKind, cfg.Dir)
	return stop, nil
}
