// Command fakegraph serves the benchmark's fake Graph (internal/fake) on a
// loopback TLS port until interrupted, for profiling one client by hand:
//
//	go run ./cmd/fakegraph -n 100000 -cacert /tmp/ca.pem &
//	go run ./cmd/kitsync -url https://127.0.0.1:PORT/v1.0/ -cacert /tmp/ca.pem -kind mail -cpuprofile /tmp/kit.prof
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/m365kit/m365kit/bench/internal/fake"
)

func main() {
	n := flag.Int("n", 100_000, "items in each round")
	ca := flag.String("cacert", "ca.pem", "where to write the server's certificate")
	flag.Parse()
	srv, err := fake.Start(*n)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakegraph:", err)
		os.Exit(1)
	}
	defer srv.Close()
	if err := os.WriteFile(*ca, srv.CAPEM, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "fakegraph:", err)
		os.Exit(1)
	}
	fmt.Println(srv.URL)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	<-sig
}
