package proxy

import "github.com/prometheus/client_golang/prometheus"

var (
	descUp = prometheus.NewDesc("wahost_proxy_up",
		"1 while the proxy is healthy, 0 while its breaker holds it down.", []string{"proxy", "pool"}, nil)
	descSessions = prometheus.NewDesc("wahost_proxy_sessions",
		"Instances whose last login went through the proxy.", []string{"proxy", "pool"}, nil)
	descConnects = prometheus.NewDesc("wahost_proxy_connects_total",
		"Logins through the proxy.", []string{"proxy", "pool"}, nil)
	descFailures = prometheus.NewDesc("wahost_proxy_failures_total",
		"Failed connects through the proxy, by cause.", []string{"proxy", "pool", "cause"}, nil)
)

// Collector exports the proxies' health as metrics, labelled by ID (no
// credentials).
func (p *Pools) Collector() prometheus.Collector { return collector{p} }

type collector struct{ p *Pools }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descUp
	ch <- descSessions
	ch <- descConnects
	ch <- descFailures
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.p.Statuses() {
		up := 1.0
		if st.Down {
			up = 0
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up, st.ID, st.Pool)
		ch <- prometheus.MustNewConstMetric(descSessions, prometheus.GaugeValue, float64(st.Sessions), st.ID, st.Pool)
		ch <- prometheus.MustNewConstMetric(descConnects, prometheus.CounterValue, float64(st.Connects), st.ID, st.Pool)
		for cause, n := range st.ByCause {
			ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, float64(n), st.ID, st.Pool, cause)
		}
	}
}
