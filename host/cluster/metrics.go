package cluster

import "github.com/prometheus/client_golang/prometheus"

// metrics are the coordinator's Prometheus series.
type metrics struct {
	held      prometheus.GaugeFunc
	acquired  prometheus.Counter
	lost      prometheus.Counter
	released  prometheus.Counter
	takeovers prometheus.Counter
	hosts     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, held func() float64) *metrics {
	m := &metrics{
		held: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wahost_cluster_leases_held", Help: "Instance leases this host holds.",
		}, held),
		acquired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wahost_cluster_leases_acquired_total", Help: "Instance leases this host acquired.",
		}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wahost_cluster_leases_lost_total",
			Help: "Instance leases this host lost before releasing them (renewal refused or not in time).",
		}),
		released: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wahost_cluster_leases_released_total", Help: "Instance leases this host released (hand-off, stop).",
		}),
		takeovers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wahost_cluster_takeovers_total",
			Help: "Leases acquired that another host held before (it died, was cut off or handed them off).",
		}),
		hosts: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wahost_cluster_hosts", Help: "Live hosts of the fleet as this host last saw them.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.held, m.acquired, m.lost, m.released, m.takeovers, m.hosts)
	}
	return m
}
