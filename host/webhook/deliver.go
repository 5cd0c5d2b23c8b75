package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wahost/wahost/storage"
)

const (
	userAgent    = "wahost"
	maxDrain     = 64 << 10         // response bytes read to keep the connection
	maxErrorBody = 256              // response bytes quoted in last_error
	maxErrorText = 1024             // bytes of last_error
	storeTimeout = 30 * time.Second // bounds each outbox write of a worker
)

// job is work handed to a worker: the head of a webhook lane, or the
// queued events of one or more lanes of one publisher.
type job struct{ parts []part }

// part is the events of one lane in a job, oldest first.
type part struct {
	lane    *lane
	evs     []storage.OutboxEvent
	refunds []int // claims each event spent held back, not counted as attempts
}

// result is a settled job: the events' new states are in the store.
type result struct{ parts []settled }

// settled is a settled part.
type settled struct {
	part
	final []bool    // per event: delivered or failed for good
	hold  time.Time // the lane's events not final wait until then; zero lets them go
}

// work runs one job.
func (d *Dispatcher) work(ctx context.Context, rec *recorder, j job) result {
	if j.parts[0].lane.kind != "" {
		return d.publish(ctx, rec, j)
	}
	return result{parts: []settled{d.deliver(ctx, rec, j.parts[0])}}
}

// attempt is the outcome of one request.
type attempt struct {
	verdict    verdict
	status     int
	retryAfter time.Duration
	err        string // for last_error; empty when delivered
}

// deliver runs one attempt for j and records its outcome in the store, a
// delivery through rec. ctx is not cancelled by Run's shutdown: an attempt
// under way completes.
func (d *Dispatcher) deliver(ctx context.Context, rec *recorder, p part) settled {
	ev := p.evs[0]
	done := func(final bool, hold time.Time) settled {
		return settled{part: p, final: []bool{final}, hold: hold}
	}
	now := d.clock.Now()
	if ev.NextAttemptAt.Sub(now) < d.renewBelow {
		// The event waited in memory: renew its lease so that no other
		// worker claims it while the request runs.
		next := now.Add(d.cfg.Lease)
		if err := d.mark(ctx, func(ctx context.Context) error {
			return d.store.MarkRetry(ctx, ev.ID, next, ev.LastError)
		}); err != nil {
			d.log.Warn("webhook: renew lease; the event goes out when its lease ends", "event_id", ev.ID, "err", err)
			return done(false, ev.NextAttemptAt)
		}
		ev.NextAttemptAt = next
	}

	url := p.lane.key.url
	a := d.attempt(ctx, ev, url)
	attempts := max(ev.Attempts-p.refunds[0], 1)
	log := d.log.With("event_id", ev.ID, "event", ev.Event, "instance_id", ev.InstanceID, "url", url, "attempt", attempts)
	switch a.verdict {
	case verdictDelivered:
		d.metrics.deliveries.WithLabelValues(resultDelivered).Inc()
		rec.add(ev.ID)
		return done(true, time.Time{})
	case verdictRetry:
		if attempts < d.cfg.MaxAttempts {
			next := d.clock.Now().Add(backoff(attempts, a.retryAfter, d.cfg.Jitter))
			d.metrics.deliveries.WithLabelValues(resultRetry).Inc()
			log.Info("webhook: delivery failed; will retry", "err", a.err, "next", next)
			if err := d.mark(ctx, func(ctx context.Context) error {
				return d.store.MarkRetry(ctx, ev.ID, next, a.err)
			}); err != nil {
				log.Warn("webhook: record retry; the event goes out when its lease ends", "err", err)
				return done(false, ev.NextAttemptAt)
			}
			return done(false, next)
		}
		a.err = fmt.Sprintf("gave up after %d attempts: %s", attempts, a.err)
	}
	d.metrics.deliveries.WithLabelValues(resultFailed).Inc()
	log.Warn("webhook: delivery failed for good; redeliver it once the receiver is fixed", "err", a.err)
	if err := d.mark(ctx, func(ctx context.Context) error {
		return d.store.MarkFailed(ctx, ev.ID, a.err)
	}); err != nil {
		log.Warn("webhook: record failure; the event goes out again when its lease ends", "err", err)
		return done(false, ev.NextAttemptAt)
	}
	return done(true, time.Time{})
}

// mark runs one outbox write with its own deadline.
func (d *Dispatcher) mark(ctx context.Context, write func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	return write(ctx)
}

// attempt sends ev to url once.
func (d *Dispatcher) attempt(ctx context.Context, ev storage.OutboxEvent, url string) attempt {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(ev.Payload))
	if err != nil {
		return attempt{verdict: verdictPermanent, err: clip("build request: " + err.Error())}
	}
	d.mu.Lock()
	secret := d.secret
	var headers map[string]string
	r := d.instances[ev.InstanceID]
	if r == nil {
		r = d.retired[ev.InstanceID]
	}
	if r != nil && len(r.headers) > 0 && r.target(ev.Event) == url {
		headers = r.headers
	}
	d.mu.Unlock()
	now := d.clock.Now()
	ts := now.Unix()
	customHeaders(req, headers, now)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderEvent, ev.Event)
	req.Header.Set(HeaderDelivery, ev.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	if secret != "" {
		req.Header.Set(HeaderSignature, sign(secret, ts, ev.Payload))
	}

	start := time.Now()
	resp, err := d.client.Do(req)
	d.metrics.latency.Observe(time.Since(start).Seconds())
	if err != nil {
		return attempt{verdict: verdictRetry, err: clip(err.Error())}
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))

	a := attempt{verdict: classify(resp.StatusCode, d.cfg.RetryRule), status: resp.StatusCode}
	if a.verdict == verdictDelivered {
		return a
	}
	msg := "HTTP " + resp.Status
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		msg += " to " + resp.Header.Get("Location") + " (redirects are not followed: configure the final URL)"
	}
	if body := strings.TrimSpace(string(head)); body != "" {
		msg += ": " + body
	}
	a.err = clip(msg)
	if a.verdict == verdictRetry {
		a.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), d.clock.Now())
	}
	return a
}

// clip makes s fit last_error: valid UTF-8 without NUL, at most
// maxErrorText bytes.
func clip(s string) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) <= maxErrorText {
		return s
	}
	cut := maxErrorText - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
