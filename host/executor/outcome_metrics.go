package executor

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wahost/wahost/storage"
)

// maxPolicyLabels bounds the policy label's values: past it, episodes of
// further policies are counted under "other".
const maxPolicyLabels = 16

// outcomeMetrics count episodes by policy (its digest's first 12 hex
// digits) and outcome, and time the recovered ones.
type outcomeMetrics struct {
	episodes *prometheus.CounterVec
	recovery *prometheus.HistogramVec

	mu     sync.Mutex // guards labels
	labels map[string]bool
}

func newOutcomeMetrics(reg prometheus.Registerer) *outcomeMetrics {
	m := &outcomeMetrics{
		episodes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wahost_policy_episodes_total",
			Help: "Outage episodes ended, by policy digest prefix, outcome (recovered, ended, cut) and rollout arm.",
		}, []string{"policy", "outcome", "arm"}),
		recovery: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wahost_policy_recovery_seconds",
			Help:    "Time from an open session's first drop to its being open again, by policy digest prefix.",
			Buckets: prometheus.ExponentialBuckets(0.5, 2, 14),
		}, []string{"policy"}),
		labels: map[string]bool{},
	}
	if reg != nil {
		reg.MustRegister(m.episodes, m.recovery)
	}
	return m
}

// label returns the bounded label of a policy digest.
func (m *outcomeMetrics) label(digest string) string {
	p := digest[:min(12, len(digest))]
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.labels[p] {
		return p
	}
	if len(m.labels) >= maxPolicyLabels {
		return "other"
	}
	m.labels[p] = true
	return p
}

// ended records an episode that ended.
func (m *Metrics) episodeEnded(e *storage.Episode) {
	if m == nil || m.outcomes == nil || e == nil || e.EndedAt == nil {
		return
	}
	p := m.outcomes.label(e.Policy)
	m.outcomes.episodes.WithLabelValues(p, e.Outcome, e.Arm).Inc()
	if e.Outcome == storage.EpisodeRecovered {
		m.outcomes.recovery.WithLabelValues(p).Observe(e.EndedAt.Sub(e.StartedAt).Seconds())
	}
}
