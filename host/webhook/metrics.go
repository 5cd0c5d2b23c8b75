package webhook

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Delivery results, the values of the deliveries counter's result label.
const (
	resultDelivered = "delivered" // the receiver answered 2xx
	resultRetry     = "retry"     // a retryable failure; the event will be tried again
	resultFailed    = "failed"    // a permanent failure, or the last attempt failed
)

type metrics struct {
	enqueued   prometheus.Counter
	deliveries *prometheus.CounterVec
	latency    prometheus.Histogram
	lag        prometheus.Histogram
	claimed    prometheus.Gauge
}

// newMetrics creates the dispatcher's metrics and registers them on reg
// when it is not nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		enqueued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wahost_webhook_enqueued_total",
			Help: "Webhook rows written to the outbox, one per destination.",
		}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wahost_webhook_deliveries_total",
			Help: "Webhook delivery attempts, by result: delivered, retry or failed.",
		}, []string{"result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wahost_webhook_request_duration_seconds",
			Help:    "Time from sending a webhook request to its response or failure.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wahost_webhook_queue_lag_seconds",
			Help:    "Time from enqueueing a webhook to its first claim by a worker.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		claimed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wahost_webhook_claimed_events",
			Help: "Events this host has claimed and not yet settled, queued or in flight.",
		}),
	}
	for _, r := range []string{resultDelivered, resultRetry, resultFailed} {
		m.deliveries.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	cs := []prometheus.Collector{m.enqueued, m.deliveries, m.latency, m.lag, m.claimed}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("register webhook metrics (one dispatcher per registry): %w", err)
		}
	}
	return m, nil
}
