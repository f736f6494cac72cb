package neterr

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"syscall"
	"testing"
)

func TestUnreachable(t *testing.T) {
	t.Parallel()
	dns := func(notFound bool) error {
		return &url.Error{Op: "Get", URL: "https://graph.microsoft.com/v1.0/me", Err: &net.OpError{Op: "dial", Net: "tcp",
			Err: &net.DNSError{Err: "no such host", Name: "graph.microsoft.com", IsNotFound: notFound, IsTemporary: !notFound}}}
	}
	tests := []struct {
		name   string
		err    error
		reason string
	}{
		{"name does not resolve", dns(true), "no such host"},
		{"wrapped again", fmt.Errorf("msal: %w", dns(true)), "no such host"},
		{"unknown authority", &url.Error{Op: "Get", Err: x509.UnknownAuthorityError{}}, "certificate signed by unknown authority"},
		{"temporary DNS failure", dns(false), ""},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, ""},
		{"context", context.Canceled, ""},
		{"nil", nil, ""},
	}
	for _, tt := range tests {
		reason, ok := Unreachable(tt.err)
		if reason != tt.reason || ok != (tt.reason != "") {
			t.Errorf("%s: Unreachable = %q, %v; want %q", tt.name, reason, ok, tt.reason)
		}
	}
}

func TestIsMicrosoftHost(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"graph.microsoft.com": true, "GRAPH.microsoft.com:443": true, "login.microsoftonline.com": true,
		"127.0.0.1:8443": false, "graph.microsoft.com.evil.example": false, "": false,
	} {
		if got := IsMicrosoftHost(host); got != want {
			t.Errorf("IsMicrosoftHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// madeUp is an error a RoundTripper makes up, as a replay with no recorded
// answer does.
type madeUp struct{}

func (madeUp) Error() string {
	return "recording: not recorded: GET https://graph.microsoft.com/v1.0/me"
}

type timeout struct{}

func (timeout) Error() string   { return "net/http: TLS handshake timeout" }
func (timeout) Timeout() bool   { return true }
func (timeout) Temporary() bool { return true }

func TestTransient(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error {
		return &url.Error{Op: "Get", URL: "https://graph.microsoft.com/v1.0/me", Err: err}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"connection reset", wrap(&net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}), true},
		{"connection refused", wrap(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), true},
		{"EOF", wrap(io.EOF), true},
		{"body cut short", io.ErrUnexpectedEOF, true},
		{"TLS handshake timeout", wrap(timeout{}), true},
		{"temporary DNS failure", wrap(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "server misbehaving", IsTemporary: true}}), true},
		{"made up by a RoundTripper", wrap(madeUp{}), false},
		{"plain error", wrap(errors.New("no answer")), false},
		{"name does not resolve", wrap(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", IsNotFound: true}}), false},
		{"unknown authority", wrap(x509.UnknownAuthorityError{}), false},
		{"bad certificate", wrap(x509.HostnameError{Host: "graph.microsoft.com"}), false},
		{"canceled", wrap(context.Canceled), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		if got := Transient(tt.err); got != tt.want {
			t.Errorf("%s: Transient(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// TestTransientHTTP2Reset: the HTTP/2 stream reset a server's aborted
// handler sends is transient.
func TestTransientHTTP2Reset(t *testing.T) {
	t.Parallel()
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	ts.EnableHTTP2 = true
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	defer ts.Close()
	resp, err := ts.Client().Get(ts.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("no error from an aborted handler")
	}
	if !Transient(err) {
		t.Errorf("Transient(%v) = false, want true", err)
	}
}
