package neterr

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
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
