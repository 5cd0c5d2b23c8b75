package rollout

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wahost/wahost/storage"
)

// Metrics are the rollout's metrics; nil records nothing.
type Metrics struct {
	step     prometheus.Gauge
	share    prometheus.Gauge
	finishes *prometheus.CounterVec
}

// NewMetrics registers the rollout metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		step: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wahost_policy_rollout_step", Help: "The policy rollout's step, from 1; 0 when none runs.",
		}),
		share: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wahost_policy_rollout_share_percent", Help: "The share of instances the canary policy decides for.",
		}),
		finishes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wahost_policy_rollouts_total",
			Help: "Rollouts finished, by result (promoted, rolled_back, aborted) and the measure that rolled one back.",
		}, []string{"result", "measure"}),
	}
	if reg != nil {
		reg.MustRegister(m.step, m.share, m.finishes)
	}
	return m
}

func (m *Metrics) state(s storage.RolloutState, spec *Spec) {
	if m == nil {
		return
	}
	if spec == nil || !live(s.Status) {
		m.step.Set(0)
		m.share.Set(0)
		return
	}
	m.step.Set(float64(s.Step + 1))
	m.share.Set(spec.Steps[s.Step])
}

func (m *Metrics) finished(result, measure string) {
	if m == nil {
		return
	}
	m.finishes.WithLabelValues(result, measure).Inc()
	m.step.Set(0)
	m.share.Set(0)
}
