package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wahost/wahost/storage"
)

// destination returns the lane key's URL of a claimed row and, for a
// broker row, its sink kind.
func (d *Dispatcher) destination(ev storage.OutboxEvent) (url, kind string, err error) {
	if ev.Destination == "" {
		url, err := destinationOf(ev.Payload)
		return url, "", err
	}
	kind, _, _, err = parseDestination(ev.Destination)
	if err != nil {
		return "", "", err
	}
	if d.sinks[kind] == nil {
		return "", "", fmt.Errorf("the event is for %s, which is not configured (configure it, then redeliver the event)", kind)
	}
	return ev.Destination, kind, nil
}

// publish runs a publisher job: every event of its parts goes to the
// broker in one call, in lane order, and each is recorded as the broker
// answered: confirmed events as deliveries, refused ones as failed, the
// others (the broker was unreachable or did not confirm in time) as
// retries that never give up. A lane whose event is retried waits for it.
func (d *Dispatcher) publish(ctx context.Context, rec *recorder, j job) result {
	kind := j.parts[0].lane.kind
	pub := d.sinks[kind].pub
	now := d.clock.Now()
	out := result{parts: make([]settled, len(j.parts))}
	var msgs []Message
	for i, p := range j.parts {
		out.parts[i] = settled{part: p, final: make([]bool, len(p.evs))}
		for k := range p.evs {
			ev := &p.evs[k]
			if ev.NextAttemptAt.Sub(now) < d.renewBelow {
				next := now.Add(d.cfg.Lease)
				if err := d.mark(ctx, func(ctx context.Context) error {
					return d.store.MarkRetry(ctx, ev.ID, next, ev.LastError)
				}); err != nil {
					d.log.Warn("webhook: renew lease before publishing", "event_id", ev.ID, "err", err)
				} else {
					ev.NextAttemptAt = next
				}
			}
			_, global, instance, _ := parseDestination(ev.Destination)
			msgs = append(msgs, Message{ID: ev.ID, Event: ev.Event, Instance: instance, Global: global,
				Body: ev.Payload, Time: ev.CreatedAt})
		}
	}
	pctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	start := time.Now()
	errs := pub.Publish(pctx, msgs)
	cancel()
	d.metrics.sinkLatency.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	if len(errs) != len(msgs) {
		errs = make([]error, len(msgs))
		for i := range errs {
			errs[i] = fmt.Errorf("%s publisher answered for %d of %d messages", kind, len(errs), len(msgs))
		}
	}

	n := 0
	for i := range out.parts {
		sp := &out.parts[i]
		for k, ev := range sp.evs {
			err := errs[n]
			n++
			switch {
			case err == nil:
				sp.final[k] = true
				d.metrics.sinkPublished.WithLabelValues(kind).Inc()
				rec.add(ev.ID)
			case errors.Is(err, ErrRefused):
				if sp.final[k] = d.refused(ctx, kind, ev, err); !sp.final[k] && sp.hold.IsZero() {
					sp.hold = ev.NextAttemptAt
				}
			case sp.hold.IsZero():
				// The first event of the lane not published: it is tried
				// again after a backoff; the lane's later events wait.
				sp.hold = d.retryPublish(ctx, kind, ev, sp.refunds[k], err)
			default:
				d.metrics.sinkRetries.WithLabelValues(kind).Inc()
			}
		}
	}
	return out
}

// refused records an event the broker refused as failed; it reports
// whether the record was written.
func (d *Dispatcher) refused(ctx context.Context, kind string, ev storage.OutboxEvent, err error) bool {
	d.metrics.sinkFailed.WithLabelValues(kind).Inc()
	msg := clip(err.Error())
	d.log.Warn("webhook: the broker refused an event; redeliver it once the cause is fixed",
		"sink", kind, "event_id", ev.ID, "event", ev.Event, "err", msg)
	if err := d.mark(ctx, func(ctx context.Context) error { return d.store.MarkFailed(ctx, ev.ID, msg) }); err != nil {
		d.log.Warn("webhook: record a refused event; it goes out again when its lease ends", "event_id", ev.ID, "err", err)
		return false
	}
	return true
}

// retryPublish makes an event that was not published due again after a
// backoff capped at sinkRetryCap, and returns when.
func (d *Dispatcher) retryPublish(ctx context.Context, kind string, ev storage.OutboxEvent, refund int, err error) time.Time {
	d.metrics.sinkRetries.WithLabelValues(kind).Inc()
	attempts := max(ev.Attempts-refund, 1)
	wait := max(min(backoff(attempts, 0, d.cfg.Jitter), sinkRetryCap), sinkRetryFloor)
	next := d.clock.Now().Add(wait)
	msg := clip(err.Error())
	d.log.Info("webhook: publish failed; will retry", "sink", kind, "event_id", ev.ID, "attempt", attempts, "err", msg, "next", next)
	if err := d.mark(ctx, func(ctx context.Context) error { return d.store.MarkRetry(ctx, ev.ID, next, msg) }); err != nil {
		d.log.Warn("webhook: record a publish retry; the event goes out when its lease ends", "event_id", ev.ID, "err", err)
		return ev.NextAttemptAt
	}
	return next
}
