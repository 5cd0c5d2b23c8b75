package executor

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wahost/wahost/abi"
)

// Metrics are the executor's Prometheus metrics.
type Metrics struct {
	disconnects *prometheus.CounterVec
	actions     *prometheus.CounterVec
	reconnects  *prometheus.CounterVec
	reopenTime  prometheus.Histogram
	cleanups    *prometheus.CounterVec
	manuals     *prometheus.CounterVec
	shadows     *prometheus.CounterVec
	outcomes    *outcomeMetrics
}

// NewMetrics creates the metrics and registers them on reg; pending, if
// not nil, reports the number of scheduled reconnects.
func NewMetrics(reg prometheus.Registerer, pending func() int) *Metrics {
	m := &Metrics{
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wahost_disconnects_total", Help: "Disconnects, by event kind and status code.",
		}, []string{"kind", "code"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wahost_disconnect_actions_total", Help: "Decisions carried out, by action and rule.",
		}, []string{"action", "rule"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wahost_reconnects_total", Help: "Reconnects started, by escalation step.",
		}, []string{"step"}),
		reopenTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "wahost_reconnection_seconds", Help: "Time from a disconnect to the session being open again.",
			Buckets: prometheus.ExponentialBuckets(0.5, 2, 14),
		}),
		cleanups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wahost_cleanup_failures_total", Help: "Cleanup scopes that failed on logout.",
		}, []string{"scope"}),
		manuals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wahost_manual_operations_total", Help: "Manual recovery operations, by operation.",
		}, []string{"operation"}),
		shadows:  newShadowCounter(),
		outcomes: newOutcomeMetrics(reg),
	}
	reg.MustRegister(m.disconnects, m.actions, m.reconnects, m.reopenTime, m.cleanups, m.manuals, m.shadows)
	if pending != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wahost_pending_reconnects", Help: "Reconnects scheduled and not yet started.",
		}, func() float64 { return float64(pending()) }))
	}
	return m
}

func (m *Metrics) disconnect(ev *abi.Event, d *abi.Decision) {
	if m == nil {
		return
	}
	m.disconnects.WithLabelValues(string(ev.Kind), strconv.Itoa(ev.Code)).Inc()
	m.actions.WithLabelValues(string(d.Action), d.Rule).Inc()
}

func (m *Metrics) reconnect(step int) {
	if m != nil {
		m.reconnects.WithLabelValues(strconv.Itoa(step)).Inc()
	}
}

func (m *Metrics) reopened(d time.Duration) {
	if m != nil {
		m.reopenTime.Observe(d.Seconds())
	}
}

func (m *Metrics) cleanupFailed(scope string) {
	if m != nil {
		m.cleanups.WithLabelValues(scope).Inc()
	}
}

func (m *Metrics) manual(op string) {
	if m != nil {
		m.manuals.WithLabelValues(op).Inc()
	}
}

func (m *Metrics) shadowed(result string) {
	if m == nil {
		return
	}
	m.shadows.WithLabelValues(result).Inc()
}
