// Command benchrun measures m365kit against msgraph-sdk-go and a plain
// net/http + encoding/json loop and prints a Markdown table of medians and
// ratios. run.sh is its front end; run it from the bench module's
// directory.
//
// It measures, for the three programs in cmd/ (each a full delta walk
// of a calendar view or a mail folder):
//   - cold build: wall time, CPU time and peak RSS (of the largest
//     process: the go command or one compiler) of `go build` with an empty
//     GOCACHE (modules already downloaded, GOPROXY=off), and the stripped
//     binary size (-ldflags=-s -w);
//   - each full sync against the loopback fake (internal/fake, a separate
//     process from the client): wall time, CPU time (user+system) of the
//     client process from wait4's rusage, and its peak RSS (VmHWM, which
//     the client reports: wait4's ru_maxrss would include benchrun's own);
//   - decode: ns, bytes and allocations per item of a one-page (100
//     items) walk from memory, through each client's whole stack.
//
// Runs of the three clients are interleaved so that load from other work
// on the machine falls on all of them alike.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/m365kit/m365kit/bench/internal/fake"
)

// leg is one of the three clients.
type leg struct {
	name string // column title
	pkg  string // ./cmd/...
	bin  string
}

var allLegs = []leg{
	{name: "m365kit", pkg: "./cmd/kitsync"},
	{name: "msgraph-sdk-go", pkg: "./cmd/msgraphsync"},
	{name: "plain", pkg: "./cmd/plainsync"},
}

type config struct {
	sizes      []int
	runs       int
	coldRuns   int
	cold       bool
	msgraph    bool
	decodeTime time.Duration
	out        string
	work       string
	nice       bool
	decode     bool
	syncs      bool
	kit        string
}

func main() {
	var c config
	quick := flag.Bool("quick", false, "quick mode: 10,000 items, one run of everything")
	sizes := flag.String("n", "10000,100000", "comma-separated round sizes (items)")
	flag.IntVar(&c.runs, "runs", 5, "runs of each sync and decode measurement (medians are reported)")
	flag.IntVar(&c.coldRuns, "coldruns", 1, "cold builds of each program")
	flag.BoolVar(&c.cold, "cold", true, "measure cold builds (empty GOCACHE); false measures warm builds only")
	flag.BoolVar(&c.msgraph, "msgraph", true, "include the msgraph-sdk-go leg")
	flag.DurationVar(&c.decodeTime, "decodetime", time.Second, "duration of each decode measurement")
	flag.StringVar(&c.out, "out", "", "also write the table to this file")
	flag.StringVar(&c.work, "work", "", "work directory (default: a new temporary one, removed at the end)")
	flag.BoolVar(&c.nice, "nice", true, "run builds and clients under nice")
	flag.BoolVar(&c.decode, "decode", true, "measure decode cost per item")
	flag.BoolVar(&c.syncs, "syncs", true, "measure the full syncs")
	flag.StringVar(&c.kit, "kit", "", "build against the m365kit source in this directory (a snapshot, e.g. from git archive) instead of ../")
	flag.Parse()
	if *quick {
		*sizes = "10000"
		c.runs, c.coldRuns = 1, 1
		c.decodeTime = 200 * time.Millisecond
	}
	for s := range strings.SplitSeq(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fatal(fmt.Errorf("bad -n entry %q: want a positive number of items", s))
		}
		c.sizes = append(c.sizes, n)
	}
	if c.runs < 1 || c.coldRuns < 1 {
		fatal(errors.New("-runs and -coldruns must be at least 1"))
	}
	if err := run(&c); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchrun:", err)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
}

// usage is what one measured process cost.
type usage struct {
	wall, cpu time.Duration
	maxRSS    int64 // bytes
}

// measure runs cmd and returns its wall time and its rusage (including its
// reaped descendants: the compiler processes of go build).
func measure(cmd *exec.Cmd) (usage, []byte, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return usage{}, nil, fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, tail(stderr.String()))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return usage{}, nil, errors.New("no rusage on this platform")
	}
	return usage{
		wall:   wall,
		cpu:    time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		maxRSS: ru.Maxrss * 1024, // KiB on Linux
	}, stdout.Bytes(), nil
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

func (c *config) command(name string, args ...string) *exec.Cmd {
	if c.nice {
		return exec.Command("nice", append([]string{name}, args...)...)
	}
	return exec.Command(name, args...)
}

// table collects rows of medians for the three legs.
type table struct {
	legs []leg
	rows []row
}

type row struct {
	section, metric, unit string
	vals                  map[string]float64
}

func (t *table) add(section, metric, unit string, vals map[string]float64) {
	t.rows = append(t.rows, row{section: section, metric: metric, unit: unit, vals: vals})
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func run(c *config) error {
	legs := allLegs
	if !c.msgraph {
		legs = slices.DeleteFunc(slices.Clone(allLegs), func(l leg) bool { return l.name == "msgraph-sdk-go" })
	}
	work := c.work
	if work == "" {
		dir, err := os.MkdirTemp("", "m365kit-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		work = dir
	}
	var modArgs []string
	if c.kit != "" {
		mf, err := modfile(work, c.kit)
		if err != nil {
			return err
		}
		modArgs = []string{"-modfile=" + mf}
	}
	t := &table{legs: legs}
	loadBefore := loadavg()
	startAll := time.Now()

	// Builds: the binaries measured below are the stripped ones. With
	// -cold each program is built once, from an empty GOCACHE; without, from
	// the usual cache.
	sizes := map[string]float64{}
	wall, cpu, rss := map[string]float64{}, map[string]float64{}, map[string]float64{}
	for i := range legs {
		l := &legs[i]
		l.bin = filepath.Join(work, filepath.Base(l.pkg))
		runs := 1
		if c.cold {
			runs = c.coldRuns
		}
		var ws, cs, rs []float64
		for r := range runs {
			cmd := c.command("go", append(append([]string{"build"}, modArgs...), "-ldflags=-s -w", "-o", l.bin, l.pkg)...)
			cache := ""
			if c.cold {
				var err error
				if cache, err = os.MkdirTemp(work, "gocache-"); err != nil {
					return err
				}
				cmd.Env = append(os.Environ(), "GOCACHE="+cache, "GOFLAGS=-mod=mod", "GOPROXY=off")
				logf("cold build %s (%d/%d), load %s", l.name, r+1, runs, loadavg())
			} else {
				logf("build %s", l.name)
			}
			u, _, err := measure(cmd)
			if cache != "" {
				os.RemoveAll(cache)
			}
			if err != nil {
				return err
			}
			if c.cold {
				logf("  %s: %.1f s wall, %.1f s CPU, %.0f MiB peak RSS", l.name, u.wall.Seconds(), u.cpu.Seconds(), float64(u.maxRSS)/(1<<20))
				ws, cs, rs = append(ws, u.wall.Seconds()), append(cs, u.cpu.Seconds()), append(rs, float64(u.maxRSS)/(1<<20))
			}
		}
		if c.cold {
			wall[l.name], cpu[l.name], rss[l.name] = median(ws), median(cs), median(rs)
		}
		fi, err := os.Stat(l.bin)
		if err != nil {
			return err
		}
		sizes[l.name] = float64(fi.Size()) / (1 << 20)
	}
	if c.cold {
		t.add("build", "cold build, wall", "s", wall)
		t.add("build", "cold build, CPU (user+sys)", "s", cpu)
		t.add("build", "cold build, peak RSS (largest process)", "MiB", rss)
	}
	t.add("build", "binary, stripped", "MiB", sizes)

	// Syncs against the fake.
	for _, n := range c.sizes {
		if !c.syncs {
			break
		}
		srv, err := fake.Start(n)
		if err != nil {
			return err
		}
		ca := filepath.Join(work, "ca.pem")
		if err := os.WriteFile(ca, srv.CAPEM, 0o600); err != nil {
			srv.Close()
			return err
		}
		for _, kind := range []string{"calendar", "mail"} {
			wall, cpu, rss := map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
			for r := range c.runs {
				for _, l := range legs {
					logf("sync %s n=%d %s (%d/%d)", kind, n, l.name, r+1, c.runs)
					u, out, err := measure(c.command(l.bin, "-url", srv.URL, "-cacert", ca, "-kind", kind, "-n", strconv.Itoa(n), "-token", fake.Token))
					if err != nil {
						srv.Close()
						return err
					}
					var res struct {
						Items  int
						PeakKB int64 `json:"peak_rss_kb"`
					}
					if err := json.Unmarshal(out, &res); err != nil || res.Items != n {
						srv.Close()
						return fmt.Errorf("%s %s: walked %d items, want %d (%v, output %q)", l.name, kind, res.Items, n, err, out)
					}
					wall[l.name] = append(wall[l.name], u.wall.Seconds()*1000)
					cpu[l.name] = append(cpu[l.name], u.cpu.Seconds()*1000)
					peak := float64(u.maxRSS) / (1 << 20)
					if res.PeakKB > 0 {
						peak = float64(res.PeakKB) / 1024 // VmHWM: see client.peakRSS
					}
					rss[l.name] = append(rss[l.name], peak)
				}
			}
			sec := fmt.Sprintf("%s sync, %s items", kind, thousands(n))
			t.add(sec, "wall", "ms", medians(wall))
			t.add(sec, "CPU (user+sys)", "ms", medians(cpu))
			t.add(sec, "peak RSS", "MiB", medians(rss))
		}
		srv.Close()
	}

	// Decode of a 100-item page, from memory, through each client's stack.
	pages := fake.NewPages(fake.PageSize)
	for _, kind := range []string{"calendar", "mail"} {
		if !c.decode {
			break
		}
		file := filepath.Join(work, kind+"-page.json")
		if err := os.WriteFile(file, pages.AppendPage(nil, kind, "https://graph.microsoft.com/v1.0/", 0, true), 0o600); err != nil {
			return err
		}
		ns, by, al := map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
		for r := range c.runs {
			for _, l := range legs {
				logf("decode %s %s (%d/%d)", kind, l.name, r+1, c.runs)
				_, out, err := measure(c.command(l.bin, "-decode", file, "-decodetime", c.decodeTime.String(), "-kind", kind, "-token", fake.Token))
				if err != nil {
					return err
				}
				var res struct {
					NS     float64 `json:"ns_per_item"`
					Bytes  float64 `json:"bytes_per_item"`
					Allocs float64 `json:"allocs_per_item"`
				}
				if err := json.Unmarshal(out, &res); err != nil {
					return fmt.Errorf("%s decode output %q: %v", l.name, out, err)
				}
				ns[l.name] = append(ns[l.name], res.NS)
				by[l.name] = append(by[l.name], res.Bytes)
				al[l.name] = append(al[l.name], res.Allocs)
			}
		}
		sec := kind + " decode, 100-item page"
		t.add(sec, "CPU time per item", "ns", medians(ns))
		t.add(sec, "bytes per item", "B", medians(by))
		t.add(sec, "allocs per item", "", medians(al))
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "Measured %s by bench/run.sh %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), strings.Join(os.Args[1:], " "))
	fmt.Fprintf(&b, "- %s, %s/%s; %s\n", goVersion(), runtime.GOOS, runtime.GOARCH, machine())
	if c.kit != "" {
		commit, _ := os.ReadFile(filepath.Join(c.kit, ".commit"))
		fmt.Fprintf(&b, "- m365kit from %s %s\n", c.kit, strings.TrimSpace(string(commit)))
	}
	fmt.Fprintf(&b, "- load average before: %s; after: %s (%.0f s in all)\n", loadBefore, loadavg(), time.Since(startAll).Seconds())
	switch {
	case c.cold && (c.syncs || c.decode):
		fmt.Fprintf(&b, "- medians of %d run(s); cold builds: %d run(s) each\n\n", c.runs, c.coldRuns)
	case c.cold:
		fmt.Fprintf(&b, "- cold builds: %d run(s) each\n\n", c.coldRuns)
	default:
		fmt.Fprintf(&b, "- medians of %d run(s)\n\n", c.runs)
	}
	t.write(&b)
	os.Stdout.Write(b.Bytes())
	if c.out != "" {
		return os.WriteFile(c.out, b.Bytes(), 0o644)
	}
	return nil
}

// modfile writes a copy of go.mod whose replace points at dir, with
// go.sum beside it, for go build -modfile.
func modfile(work, dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(abs, "go.mod")); err != nil {
		return "", fmt.Errorf("-kit %s: not a module directory: %w", dir, err)
	}
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		return "", err
	}
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		return "", err
	}
	const from = "replace github.com/m365kit/m365kit => ../"
	if !bytes.Contains(mod, []byte(from)) {
		return "", errors.New("go.mod has no line " + from)
	}
	mod = bytes.Replace(mod, []byte(from), []byte("replace github.com/m365kit/m365kit => "+abs), 1)
	mf := filepath.Join(work, "bench.mod")
	if err := os.WriteFile(mf, mod, 0o644); err != nil {
		return "", err
	}
	return mf, os.WriteFile(filepath.Join(work, "bench.sum"), sum, 0o644)
}

func medians(m map[string][]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		out[k] = median(v)
	}
	return out
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func (t *table) write(w io.Writer) {
	has := func(name string) bool {
		return slices.ContainsFunc(t.legs, func(l leg) bool { return l.name == name })
	}
	cols := []string{"| what | unit |"}
	sep := "|---|---|"
	for _, l := range t.legs {
		cols = append(cols, " "+l.name+" |")
		sep += "---:|"
	}
	ratios := [][2]string{{"m365kit", "plain"}}
	if has("msgraph-sdk-go") {
		ratios = append(ratios, [2]string{"msgraph-sdk-go", "plain"}, [2]string{"msgraph-sdk-go", "m365kit"})
	}
	for _, r := range ratios {
		cols = append(cols, fmt.Sprintf(" %s / %s |", short(r[0]), short(r[1])))
		sep += "---:|"
	}
	fmt.Fprintln(w, strings.Join(cols, ""))
	fmt.Fprintln(w, sep)
	for _, r := range t.rows {
		fmt.Fprintf(w, "| %s: %s | %s |", r.section, r.metric, r.unit)
		for _, l := range t.legs {
			fmt.Fprintf(w, " %s |", num(r.vals[l.name]))
		}
		for _, q := range ratios {
			a, b := r.vals[q[0]], r.vals[q[1]]
			if b == 0 {
				fmt.Fprint(w, " - |")
				continue
			}
			fmt.Fprintf(w, " %.2fx |", a/b)
		}
		fmt.Fprintln(w)
	}
}

func short(name string) string {
	if name == "msgraph-sdk-go" {
		return "msgraph"
	}
	return name
}

func num(v float64) string {
	switch {
	case v >= 100:
		return thousands(int(v + 0.5))
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func goVersion() string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 2 && f[0] == "MemTotal:" {
			if kb, err := strconv.Atoi(f[1]); err == nil {
				mem = fmt.Sprintf(", %.0f GiB RAM", float64(kb)/(1<<20))
			}
		}
	}
	return fmt.Sprintf("%s, %d CPUs%s", model, runtime.NumCPU(), mem)
}
