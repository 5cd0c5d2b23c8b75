package disconnect

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the decision metrics, registered on a Prometheus registry.
type Metrics struct {
	decisions *prometheus.CounterVec
	fallbacks *prometheus.CounterVec
	latency   prometheus.Histogram
}

// FaultKinder is implemented by faults that carry a kind, such as the
// runtime's.
type FaultKinder interface{ FaultKind() string }

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wahost_policy_decisions_total",
			Help: "Disconnect decisions, by action and by whether the native fallback made them.",
		}, []string{"action", "fallback"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wahost_policy_fallbacks_total",
			Help: "Decisions made by the native fallback because the policy module could not answer, by fault kind.",
		}, []string{"fault"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wahost_policy_decision_seconds",
			Help:    "Time to make one disconnect decision, fallback included.",
			Buckets: []float64{5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 0.025, 0.1, 0.5, 1},
		}),
	}
	reg.MustRegister(m.decisions, m.fallbacks, m.latency)
	return m
}

func (m *Metrics) observe(o *Outcome) {
	if m == nil {
		return
	}
	fb := "false"
	if o.Fallback {
		fb = "true"
		m.fallbacks.WithLabelValues(faultKind(o.Fault)).Inc()
	}
	m.decisions.WithLabelValues(string(o.Decision.Action), fb).Inc()
	m.latency.Observe(o.Latency.Seconds())
}

func faultKind(err error) string {
	var k FaultKinder
	var inv *InvalidDecisionError
	switch {
	case errors.As(err, &inv):
		return "invalid_output"
	case errors.As(err, &k):
		return k.FaultKind()
	case errors.Is(err, ErrNoPolicy):
		return "no_module"
	}
	return "other"
}
