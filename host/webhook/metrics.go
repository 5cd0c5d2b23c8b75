package webhook

import (
	"fmt"
	"strings"

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

	// Broker sinks, by sink kind.
	sinkRows      *prometheus.CounterVec // rows written to the outbox
	sinkPublished *prometheus.CounterVec // events the broker confirmed
	sinkFailed    *prometheus.CounterVec // events the broker refused
	sinkRetries   *prometheus.CounterVec // attempts that found the broker unreachable
	sinkLatency   *prometheus.HistogramVec
}

// sinkEnqueued counts the broker rows of one event by kind.
func (m *metrics) sinkEnqueued(dsts []string) {
	for _, dst := range dsts {
		kind, _, _ := strings.Cut(dst, ":")
		m.sinkRows.WithLabelValues(kind).Inc()
	}
}

// newMetrics creates the dispatcher's metrics and registers them on reg
// when it is not nil.
func newMetrics(reg prometheus.Registerer, sinkKinds []string) (*metrics, error) {
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
		sinkRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wahost_sink_enqueued_total",
			Help: "Broker rows written to the outbox, by sink (rabbitmq, nats); with published and failed it gives the backlog.",
		}, []string{"sink"}),
		sinkPublished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wahost_sink_published_total",
			Help: "Events a broker confirmed, by sink.",
		}, []string{"sink"}),
		sinkFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wahost_sink_failed_total",
			Help: "Events a broker refused, by sink; they wait for a redelivery.",
		}, []string{"sink"}),
		sinkRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wahost_sink_retries_total",
			Help: "Event attempts that found the broker unreachable or unconfirming, by sink; they are tried again.",
		}, []string{"sink"}),
		sinkLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wahost_sink_publish_duration_seconds",
			Help:    "Time from publishing a batch of events to the broker's last confirmation, by sink.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"sink"}),
	}
	for _, k := range sinkKinds {
		for _, v := range []*prometheus.CounterVec{m.sinkRows, m.sinkPublished, m.sinkFailed, m.sinkRetries} {
			v.WithLabelValues(k)
		}
	}
	for _, r := range []string{resultDelivered, resultRetry, resultFailed} {
		m.deliveries.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	cs := []prometheus.Collector{m.enqueued, m.deliveries, m.latency, m.lag, m.claimed}
	if len(sinkKinds) > 0 {
		cs = append(cs, m.sinkRows, m.sinkPublished, m.sinkFailed, m.sinkRetries, m.sinkLatency)
	}
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
