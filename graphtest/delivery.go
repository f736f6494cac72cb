package graphtest

import (
	"net/url"
	"slices"
	"strings"
	"time"
)

// Microsoft's delivery rules for change and lifecycle notifications, as
// "Receive change notifications through webhooks" words them (the stricter
// of its published versions).
const (
	// answerWindow is the timeout of Graph's publishing client: a 2xx
	// answered within it counts as delivered; any other answer, no answer
	// or a later one is retried.
	answerWindow = 3 * time.Second
	// slowAnswer: an answer taking longer counts as slow.
	slowAnswer = 2900 * time.Millisecond
	// retryFor is how long Graph retries a notification before it drops
	// it.
	retryFor = 4 * time.Hour
	// firstRetry is the first wait of the exponential back-off, doubled
	// at each retry. Microsoft does not publish it; the fake's choice
	// gives retries 1, 3, 7, 15, 31, 63 and 127 minutes after the first
	// attempt, then a drop (the next would fall past four hours).
	firstRetry = time.Minute
	// throttleWindow is how often an endpoint's slow-answer statistics
	// are flushed.
	throttleWindow = 10 * time.Minute
	// throttleMin is how many notifications an endpoint must have
	// answered in the window before it is judged.
	throttleMin = 100
	// throttleSlowPercent flags an endpoint slow: its new notifications,
	// and retries of failed ones, wait throttleDelay.
	throttleSlowPercent = 10
	// throttleDropPercent makes the fake drop new notifications.
	throttleDropPercent = 15
	// throttleDelay is the delay of a throttled endpoint's notifications.
	throttleDelay = 10 * time.Minute
	// retryPoll is how often, in real time, the fake looks for retries
	// that have come due by its clock, while some are pending.
	retryPoll = 5 * time.Millisecond
)

// pendingPost is a notification collection waiting to be sent again.
type pendingPost struct {
	kind, subID, url string
	items            []notificationJSON
	attempts         int       // POSTs sent so far
	first            time.Time // when Graph first tried (or queued) it
	due              time.Time
}

// endpointStats counts an endpoint's answers since the last flush.
type endpointStats struct {
	since       time.Time
	total, slow int
}

// endpointKey identifies a notification endpoint: its URL without the
// query (which Graph keeps per subscription).
func endpointKey(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	u.RawQuery, u.Fragment = "", ""
	return strings.ToLower(u.Scheme+"://"+u.Host) + u.Path
}

// endpointState is how Graph treats an endpoint now.
type endpointState int

const (
	endpointNormal   endpointState = iota
	endpointSlow                   // notifications delayed throttleDelay
	endpointDropping               // new notifications dropped
)

// endpointState judges the endpoint from its answers in the current
// window. The caller holds s.subs.mu.
func (s *Server) endpointState(key string, now time.Time) endpointState {
	st := s.subs.endpoints[key]
	if st == nil || now.Sub(st.since) >= throttleWindow || st.total < throttleMin {
		return endpointNormal
	}
	switch pct := st.slow * 100 / st.total; {
	case pct >= throttleDropPercent:
		return endpointDropping
	case pct >= throttleSlowPercent:
		return endpointSlow
	}
	return endpointNormal
}

// observe counts one answer of the endpoint, flushing a window that is
// over. The caller holds s.subs.mu.
func (s *Server) observe(key string, now time.Time, elapsed time.Duration) {
	if s.subs.endpoints == nil {
		s.subs.endpoints = map[string]*endpointStats{}
	}
	st := s.subs.endpoints[key]
	if st == nil || now.Sub(st.since) >= throttleWindow {
		st = &endpointStats{since: now}
		s.subs.endpoints[key] = st
	}
	st.total++
	if elapsed > slowAnswer {
		st.slow++
	}
}

// deliver sends a notification collection as Graph does and reports
// whether it was delivered (2xx within the answer window) on this first
// attempt. A slow endpoint's collection is queued for later, a dropping
// endpoint's dropped; one that fails is queued for a retry.
func (s *Server) deliver(kind, subID, target string, items []notificationJSON) (Delivery, bool) {
	now := s.now()
	p := &pendingPost{kind: kind, subID: subID, url: target, items: items, first: now}
	s.subs.mu.Lock()
	state := s.endpointState(endpointKey(target), now)
	switch state {
	case endpointDropping:
		d := p.record(true)
		s.subs.deliveries = append(s.subs.deliveries, d)
		s.subs.mu.Unlock()
		return d, false
	case endpointSlow:
		p.due = now.Add(throttleDelay)
		s.enqueue(p)
		d := p.record(false)
		d.Delayed = true
		s.subs.deliveries = append(s.subs.deliveries, d)
		s.subs.mu.Unlock()
		return d, false
	}
	s.subs.mu.Unlock()
	return s.attempt(p)
}

// attempt sends p once, records the outcome and queues a retry when it
// was not delivered.
func (s *Server) attempt(p *pendingPost) (Delivery, bool) {
	p.attempts++
	d := s.post(s.subs.ctx, p)
	now := s.now()
	s.subs.mu.Lock()
	defer s.subs.mu.Unlock()
	key := endpointKey(p.url)
	if d.Err == "" {
		s.observe(key, now, d.Elapsed)
	}
	if d.Delivered {
		return d, true
	}
	wait := firstRetry << (p.attempts - 1)
	if s.endpointState(key, now) != endpointNormal {
		wait = throttleDelay // offloaded to the workers for failed and throttled notifications
	}
	if due := now.Add(wait); !due.After(p.first.Add(retryFor)) && s.subs.ctx.Err() == nil {
		p.due = due
		s.enqueue(p)
	} else {
		s.subs.deliveries = append(s.subs.deliveries, p.record(true))
	}
	return d, false
}

// record is the Delivery for p's collection without a POST: dropped, or
// given up on after four hours.
func (p *pendingPost) record(dropped bool) Delivery {
	return Delivery{Kind: p.kind, SubscriptionID: p.subID, URL: p.url, Events: p.events(), Attempt: p.attempts, Dropped: dropped}
}

func (p *pendingPost) events() []string {
	var out []string
	for _, n := range p.items {
		out = append(out, firstNonEmpty(n.LifecycleEvent, n.ChangeType))
	}
	return out
}

// enqueue adds p to the retry queue and makes sure the poller runs. The
// caller holds s.subs.mu.
func (s *Server) enqueue(p *pendingPost) {
	s.subs.queue = append(s.subs.queue, p)
	if !s.subs.polling && s.subs.ctx.Err() == nil {
		s.subs.polling = true
		go s.pollRetries()
	}
}

// pollRetries sends the queued collections that have come due by the
// server clock, oldest due first, until the queue is empty or the server
// closes.
func (s *Server) pollRetries() {
	t := time.NewTicker(retryPoll)
	defer t.Stop()
	for {
		select {
		case <-s.subs.ctx.Done():
			s.subs.mu.Lock()
			s.subs.polling = false
			s.subs.mu.Unlock()
			return
		case <-t.C:
		}
		if s.RetryDue() == 0 {
			s.subs.mu.Lock()
			if len(s.subs.queue) == 0 {
				s.subs.polling = false
				s.subs.mu.Unlock()
				return
			}
			s.subs.mu.Unlock()
		}
	}
}

// RetryDue sends at once, by the server clock, every notification
// collection whose retry or delay has come due, and returns how many it
// sent. The fake also does this by itself, a few milliseconds of real time
// after the clock passes a due time; a test that moved the clock with
// WithClock calls RetryDue to have the retries sent before it goes on.
func (s *Server) RetryDue() int {
	s.subs.sending.Lock() // one sender at a time: a test's call waits for the poller's
	defer s.subs.sending.Unlock()
	now := s.now()
	s.subs.mu.Lock()
	var due []*pendingPost
	s.subs.queue = slices.DeleteFunc(s.subs.queue, func(p *pendingPost) bool {
		if p.due.After(now) {
			return false
		}
		due = append(due, p)
		return true
	})
	s.subs.mu.Unlock()
	slices.SortStableFunc(due, func(a, b *pendingPost) int { return a.due.Compare(b.due) })
	for _, p := range due {
		s.subs.mu.Lock()
		dropping := s.endpointState(endpointKey(p.url), now) == endpointDropping && p.attempts == 0
		if dropping {
			s.subs.deliveries = append(s.subs.deliveries, p.record(true))
		}
		s.subs.mu.Unlock()
		if !dropping {
			s.attempt(p)
		}
	}
	return len(due)
}
