package fleet

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/m365kit/m365kit/scopes"
)

// recorder is a MeterProvider that records counter additions and
// histogram records by instrument name and attributes; the rest is
// no-op. It stands in for an SDK, which the library does not depend on.
type recorder struct {
	noop.MeterProvider
	mu   sync.Mutex
	sums map[string]float64 // "name{k=v,...}" -> sum of values
	hits map[string]int     // "name{k=v,...}" -> number of measurements
}

func newRecorder() *recorder {
	return &recorder{sums: map[string]float64{}, hits: map[string]int{}}
}

func (r *recorder) Meter(string, ...metric.MeterOption) metric.Meter { return recMeter{r: r} }

func (r *recorder) add(name string, set attribute.Set, v float64) {
	var kv []string
	for _, a := range set.ToSlice() {
		kv = append(kv, string(a.Key)+"="+a.Value.String())
	}
	sort.Strings(kv)
	key := name + "{" + strings.Join(kv, ",") + "}"
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sums[key] += v
	r.hits[key]++
}

// count returns the number of measurements of name whose attributes
// include every k=v given.
func (r *recorder) count(name string, attrs ...string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for key, hits := range r.hits {
		if !strings.HasPrefix(key, name+"{") {
			continue
		}
		ok := true
		for _, a := range attrs {
			if !strings.Contains(key, a) {
				ok = false
			}
		}
		if ok {
			n += hits
		}
	}
	return n
}

type recMeter struct {
	noop.Meter
	r *recorder
}

func (m recMeter) Int64Counter(name string, _ ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	return recCounter{name: name, r: m.r}, nil
}

func (m recMeter) Float64Histogram(name string, _ ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	return recHistogram{name: name, r: m.r}, nil
}

type recCounter struct {
	noop.Int64Counter
	name string
	r    *recorder
}

func (c recCounter) Add(_ context.Context, v int64, opts ...metric.AddOption) {
	c.r.add(c.name, metric.NewAddConfig(opts).Attributes(), float64(v))
}

type recHistogram struct {
	noop.Float64Histogram
	name string
	r    *recorder
}

func (h recHistogram) Record(_ context.Context, v float64, opts ...metric.RecordOption) {
	h.r.add(h.name, metric.NewRecordConfig(opts).Attributes(), v)
}

// The metrics an operator needs are emitted through the MeterProvider of
// the Config: fleet's own and River's (otelriver).
func TestMetrics(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	e := newEnv(t, false, func(c *Config) { c.MeterProvider = rec })
	e.start(t)
	id := e.signIn(t, e.demo.Adele)
	e.connect(t, Account{ID: id, Features: []scopes.Feature{scopes.Calendar, scopes.Mail}})
	waitFor(t, "idle", func() bool { return e.idle(t) })
	for _, c := range []struct {
		name  string
		attrs []string
	}{
		{"fleet.jobs", []string{"kind=fleet.calendar_sync", "outcome=completed"}},
		{"fleet.jobs", []string{"kind=fleet.mail_sync", "outcome=completed"}},
		{"fleet.graph.requests", []string{"status=200"}},
		{"fleet.queue.latency", []string{"kind=fleet.calendar_sync"}},
		{"fleet.notification.latency", []string{"kind=fleet.mail_sync"}},
		{"fleet.status.changes", []string{"status=connected"}},
		{"river.work_count", nil},
	} {
		if rec.count(c.name, c.attrs...) == 0 {
			t.Errorf("no %s %v recorded", c.name, c.attrs)
		}
	}
}

// sum returns the total of the measurements of name whose attributes
// include every k=v given.
func (r *recorder) sum(name string, attrs ...string) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n float64
	for key, v := range r.sums {
		if !strings.HasPrefix(key, name+"{") {
			continue
		}
		ok := true
		for _, a := range attrs {
			if !strings.Contains(key, a) {
				ok = false
			}
		}
		if ok {
			n += v
		}
	}
	return n
}
