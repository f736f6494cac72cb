package setup

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
)

func TestServeUntilCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello") })
	go func() {
		done <- Serve(ctx, "127.0.0.1:0", "http://localhost:8400/callback", h, func(a net.Addr) { addrs <- a })
	}()
	var addr net.Addr
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("Serve returned before listening: %v", err)
	}
	resp, err := http.Get("http://" + addr.String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Errorf("body = %q", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel = %v, want nil", err)
	}
}

func TestServeBadAddress(t *testing.T) {
	t.Parallel()
	err := Serve(t.Context(), "", "http://localhost:notaport/callback", http.NotFoundHandler(), func(net.Addr) { t.Error("listening on a bad address") })
	if err == nil {
		t.Fatal("Serve on a bad redirect URL returned nil")
	}
}
