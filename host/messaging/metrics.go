package messaging

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the queue's Prometheus metrics.
type metrics struct {
	sent     prometheus.Counter
	failed   *prometheus.CounterVec
	ack      prometheus.Histogram
	incoming prometheus.Counter
}

// failReasons are the values of failed_total's reason label: a reason
// with detail ("server_error:463", "invalid: …") counts under its kind.
var failReasons = []string{ReasonNotOnWhatsApp, ReasonExpired, ReasonLoggedOut, ReasonMediaUnreachable,
	ReasonMediaTooLarge, ReasonInvalid, ReasonServerError}

// newMetrics creates the metrics and registers them, and a gauge of the
// instances with queued messages, on reg when it is not nil.
func newMetrics(reg prometheus.Registerer, queued func() float64) (*metrics, error) {
	m := &metrics{
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wahost_messages_sent_total",
			Help: "Outgoing messages the server acknowledged, recorded with their webhooks.",
		}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wahost_messages_failed_total",
			Help: "Outgoing messages that failed, by reason.",
		}, []string{"reason"}),
		ack: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wahost_messages_ack_seconds",
			Help:    "Time from accepting an outgoing message to recording the server's acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 16),
		}),
		incoming: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wahost_messages_incoming_total",
			Help: "Incoming messages stored with their webhook (a redelivery of a stored one is not counted).",
		}),
	}
	for _, r := range failReasons {
		m.failed.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	cs := []prometheus.Collector{m.sent, m.failed, m.ack, m.incoming,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wahost_messages_queued_instances",
			Help: "Instances with outgoing messages queued (each has a worker sending them).",
		}, queued)}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("registering the messaging metrics: %w", err)
		}
	}
	return m, nil
}

// failedAs counts a failure under its reason's kind.
func (m *metrics) failedAs(reason string) {
	kind, _, _ := strings.Cut(reason, ":")
	m.failed.WithLabelValues(kind).Inc()
}

// acked counts a recorded acknowledgement and observes its latency.
func (m *metrics) acked(accepted, now time.Time) {
	m.sent.Inc()
	if !accepted.IsZero() {
		m.ack.Observe(now.Sub(accepted).Seconds())
	}
}
