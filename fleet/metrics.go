package fleet

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/m365kit/m365kit/notify"
)

// metrics are fleet's OpenTelemetry instruments (River's own come from
// otelriver). Instrument names:
//
//	fleet.accounts               gauge, accounts by status (read from the database at collection)
//	fleet.jobs                   counter, sync jobs by kind and outcome
//	fleet.queue.latency          histogram (s), from a job's scheduled time to its start, by kind
//	fleet.notification.latency   histogram (s), from a sync request (notification) to the commit of the round that served it
//	fleet.graph.requests         counter, Graph HTTP requests by status ("error" for no response)
//	fleet.status.changes         counter, status changes by new status
//	fleet.notifications          counter, verified notifications stored by the webhook, by action (resync, renew, recreate)
//	fleet.notifications.rejected counter, notifications the webhook refused or dropped, by reason:
//	                             unknown_subscription (no registration: an unknown, disconnected or parked
//	                             account's subscription, or a forgery), client_state (a wrong clientState),
//	                             malformed (a bad request), inactive_account (registered, but the account is
//	                             no longer active when the notification is stored)
type metrics struct {
	jobs, graph, changes, notes, rejects metric.Int64Counter
	queue, notify                        metric.Float64Histogram
}

func newMetrics(mp metric.MeterProvider, f *Fleet) (*metrics, error) {
	meter := mp.Meter("github.com/m365kit/m365kit/fleet")
	var m metrics
	var err error
	if m.jobs, err = meter.Int64Counter("fleet.jobs", metric.WithDescription("Sync jobs by kind and outcome"), metric.WithUnit("{job}")); err != nil {
		return nil, err
	}
	if m.graph, err = meter.Int64Counter("fleet.graph.requests", metric.WithDescription("Graph requests by HTTP status"), metric.WithUnit("{request}")); err != nil {
		return nil, err
	}
	if m.changes, err = meter.Int64Counter("fleet.status.changes", metric.WithDescription("Account status changes by new status"), metric.WithUnit("{change}")); err != nil {
		return nil, err
	}
	if m.notes, err = meter.Int64Counter("fleet.notifications", metric.WithDescription("Verified notifications stored by the webhook, by action"), metric.WithUnit("{notification}")); err != nil {
		return nil, err
	}
	if m.rejects, err = meter.Int64Counter("fleet.notifications.rejected", metric.WithDescription("Notifications the webhook refused or dropped, by reason"), metric.WithUnit("{notification}")); err != nil {
		return nil, err
	}
	if m.queue, err = meter.Float64Histogram("fleet.queue.latency", metric.WithDescription("Time from a job's scheduled time to its start"), metric.WithUnit("s")); err != nil {
		return nil, err
	}
	if m.notify, err = meter.Float64Histogram("fleet.notification.latency", metric.WithDescription("Time from a sync request to the commit of the round that served it"), metric.WithUnit("s")); err != nil {
		return nil, err
	}
	_, err = meter.Int64ObservableGauge("fleet.accounts", metric.WithDescription("Accounts by status"), metric.WithUnit("{account}"),
		metric.WithInt64Callback(func(ctx context.Context, o metric.Int64Observer) error {
			counts, err := f.Counts(ctx)
			if err != nil {
				return err
			}
			for s, n := range counts {
				o.Observe(int64(n), metric.WithAttributes(attribute.String("status", string(s))))
			}
			return nil
		}))
	if err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *metrics) job(ctx context.Context, kind, outcome string) {
	m.jobs.Add(ctx, 1, metric.WithAttributes(attribute.String("kind", kind), attribute.String("outcome", outcome)))
}

func (m *metrics) queued(ctx context.Context, kind string, d time.Duration) {
	m.queue.Record(ctx, max(d, 0).Seconds(), metric.WithAttributes(attribute.String("kind", kind)))
}

func (m *metrics) notificationLatency(ctx context.Context, kind string, d time.Duration) {
	m.notify.Record(ctx, max(d, 0).Seconds(), metric.WithAttributes(attribute.String("kind", kind)))
}

func (m *metrics) statusChanged(ctx context.Context, c StatusChange) {
	m.changes.Add(ctx, 1, metric.WithAttributes(attribute.String("status", string(c.To))))
}

// instrument returns a copy of hc whose transport counts Graph requests
// by status.
func (m *metrics) instrument(hc *http.Client) *http.Client {
	cp := *hc
	base := cp.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cp.Transport = &countingTransport{base: base, m: m}
	return &cp
}

type countingTransport struct {
	base http.RoundTripper
	m    *metrics
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	status := "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode)
	}
	t.m.graph.Add(req.Context(), 1, metric.WithAttributes(attribute.String("status", status)))
	return resp, err
}

func (m *metrics) notified(ctx context.Context, total, resyncs, renews, removed int) {
	for action, n := range map[string]int{"received": total, "resync": resyncs, "renew": renews, "recreate": removed} {
		if n > 0 {
			m.notes.Add(ctx, int64(n), metric.WithAttributes(attribute.String("action", action)))
		}
	}
}

// rejected counts n notifications the webhook refused or dropped.
func (m *metrics) rejected(ctx context.Context, reason string, n int) {
	if n > 0 {
		m.rejects.Add(ctx, int64(n), metric.WithAttributes(attribute.String("reason", reason)))
	}
}

// rejectReason names the reason of a notify.HandlerConfig.OnReject error.
func rejectReason(err error) string {
	switch {
	case errors.Is(err, notify.ErrUnknownSubscription):
		return "unknown_subscription"
	case errors.Is(err, notify.ErrClientState):
		return "client_state"
	default:
		return "malformed"
	}
}
