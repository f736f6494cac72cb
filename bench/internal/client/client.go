// Package client holds what the three benchmark programs share, so that
// they differ only in the Graph client they use: flags, the TLS transport
// that trusts the fake server, an in-memory transport for the decode
// measurement, and the result line.
package client

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// MailSelect is the $select every mail walk sends: the properties
// mail.Message holds, and the body (m365kit's mail.SyncRequest.Body).
const MailSelect = "id,internetMessageId,conversationId,subject,from,sender,toRecipients,ccRecipients,bccRecipients," +
	"replyTo,receivedDateTime,sentDateTime,bodyPreview,hasAttachments,importance,categories,isDraft,isRead,parentFolderId,webLink,body"

// Window is the calendar window every calendar walk asks for.
var (
	WindowStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	WindowEnd   = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
)

// Flags are the command line of a benchmark program.
type Flags struct {
	URL        string // base URL of the fake, ".../v1.0/"
	CACert     string // PEM file of the fake's certificate
	Kind       string // "calendar" or "mail"
	Want       int    // items the walk must see
	Decode     string // file holding one page: measure the decode loop instead
	DecodeTime time.Duration
	NoBody     bool // mail: leave the body out of $select
	Token      string
	CPUProfile string
	MemProfile string
}

// Parse reads the flags.
func Parse() *Flags {
	f := &Flags{}
	flag.StringVar(&f.URL, "url", "", "base URL of the fake Graph (https://127.0.0.1:port/v1.0/)")
	flag.StringVar(&f.CACert, "cacert", "", "PEM certificate of the fake Graph to trust")
	flag.StringVar(&f.Kind, "kind", "calendar", "calendar or mail")
	flag.IntVar(&f.Want, "n", 0, "number of items the walk must see (0: any)")
	flag.StringVar(&f.Decode, "decode", "", "file with one page: measure ns, bytes and allocations per item of a one-page walk from memory")
	flag.DurationVar(&f.DecodeTime, "decodetime", time.Second, "how much CPU time to spend on the decode measurement")
	flag.BoolVar(&f.NoBody, "nobody", false, "mail: do not select the body")
	flag.StringVar(&f.Token, "token", "bench-static-token", "static bearer token")
	flag.StringVar(&f.CPUProfile, "cpuprofile", "", "write a CPU profile of the walk to this file")
	flag.StringVar(&f.MemProfile, "memprofile", "", "write an allocation profile of the walk to this file")
	flag.Parse()
	return f
}

// Select returns the mail $select for the flags.
func (f *Flags) Select() string {
	if f.NoBody {
		return MailSelect[:len(MailSelect)-len(",body")]
	}
	return MailSelect
}

// Transport returns an HTTP transport that trusts the fake's certificate
// (from CACert) and speaks HTTP/2, as every client does against Graph.
func Transport(caFile string) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ForceAttemptHTTP2 = true
	if caFile == "" {
		return t, nil
	}
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, errors.New("no certificate in " + caFile)
	}
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return t, nil
}

// Memory answers every request with the same page, without a network.
type Memory struct{ Page []byte }

// RoundTrip serves m.Page.
func (m Memory) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return &http.Response{
		StatusCode:    http.StatusOK,
		Status:        "200 OK",
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        http.Header{"Content-Type": {"application/json; charset=utf-8"}, "Content-Length": {strconv.Itoa(len(m.Page))}},
		Body:          io.NopCloser(bytes.NewReader(m.Page)),
		ContentLength: int64(len(m.Page)),
		Request:       req,
	}, nil
}

// Walk is one full delta walk; it returns the items and pages it saw.
type Walk func() (items, pages int, err error)

// Run does the walk once and prints the result line, or, with -decode,
// measures the walk over the in-memory page and prints per-item costs
// (CPU time, bytes and allocations).
func Run(f *Flags, walk Walk) {
	if f.CPUProfile != "" {
		pf, err := os.Create(f.CPUProfile)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			fail(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			pf.Close()
		}()
	}
	if f.MemProfile != "" {
		runtime.MemProfileRate = 4096
		defer func() {
			pf, err := os.Create(f.MemProfile)
			if err != nil {
				fail(err)
			}
			defer pf.Close()
			if err := pprof.Lookup("allocs").WriteTo(pf, 0); err != nil {
				fail(err)
			}
		}()
	}
	if f.Decode != "" {
		decode(f, walk)
		return
	}
	start := time.Now()
	items, pages, err := walk()
	if err != nil {
		fail(err)
	}
	if f.Want > 0 && items != f.Want {
		fail(fmt.Errorf("walked %d items, want %d", items, f.Want))
	}
	out(map[string]any{"items": items, "pages": pages, "walk_ns": time.Since(start).Nanoseconds(), "peak_rss_kb": peakRSS()})
}

// peakRSS is this process's peak resident set (VmHWM) in KiB, or 0 where
// /proc does not say. The parent's rusage cannot tell: Linux carries the
// parent's high-water mark into a child spawned with a shared address space
// (as Go's os/exec does) through exec.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}

func decode(f *Flags, walk Walk) {
	items := 0
	for range 20 { // warm up
		n, _, err := walk()
		if err != nil {
			fail(err)
		}
		items = n
	}
	if items == 0 {
		fail(errors.New("the decode page has no items"))
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := cpuTime()
	start := time.Now()
	iters := 0
	for iters < 50 || cpuTime()-cpu0 < f.DecodeTime {
		if _, _, err := walk(); err != nil {
			fail(err)
		}
		iters++
	}
	el := time.Since(start)
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&after)
	total := float64(iters * items)
	out(map[string]any{
		"ns_per_item":      float64(cpu.Nanoseconds()) / total,
		"wall_ns_per_item": float64(el.Nanoseconds()) / total,
		"bytes_per_item":   float64(after.TotalAlloc-before.TotalAlloc) / total,
		"allocs_per_item":  float64(after.Mallocs-before.Mallocs) / total,
		"iters":            iters,
	})
}

// cpuTime is the CPU time (user and system) this process has used, on
// all its threads: the garbage collector's included. On a loaded machine it
// measures the work where wall time measures the queue.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fail(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func out(v map[string]any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(1)
}

// Fatal prints err and exits.
func Fatal(err error) { fail(err) }
