package host

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wahost/wahost/storage"
)

// backlogSource is what the backlog collector reads.
type backlogSource interface {
	Backlog(ctx context.Context) (storage.Backlog, error)
}

// poolStater is a store with a connection pool (PostgreSQL).
type poolStater interface {
	PoolStats() storage.PoolStats
}

// backlogCollector reads, at each scrape, what the store holds that an
// operator watches: instances by state, webhook deliveries pending and
// failed, purges pending, and the connection pool. A store that does not
// answer within two seconds counts a store error and reports nothing.
type backlogCollector struct {
	store     backlogSource
	pool      poolStater // nil without a pool
	instances *prometheus.Desc
	pending   *prometheus.Desc
	failed    *prometheus.Desc
	purges    *prometheus.Desc
	poolConns *prometheus.Desc
	poolWaits *prometheus.Desc
	errors    *prometheus.CounterVec
}

// The states an instance gauge always reports, zero or not.
var instanceStates = []storage.Status{storage.StatusClose, storage.StatusConnecting, storage.StatusOpen, storage.StatusRefused}

func newBacklogCollector(store backlogSource, errors *prometheus.CounterVec) *backlogCollector {
	c := &backlogCollector{
		store:     store,
		instances: prometheus.NewDesc("wahost_instances", "Instances by state.", []string{"state"}, nil),
		pending:   prometheus.NewDesc("wahost_webhook_pending", "Webhook deliveries waiting to be delivered.", nil, nil),
		failed:    prometheus.NewDesc("wahost_webhook_failed", "Webhook deliveries given up on (kept for webhook.failed_retention).", nil, nil),
		purges:    prometheus.NewDesc("wahost_pending_purges", "Cache purges waiting for the cache.", nil, nil),
		poolConns: prometheus.NewDesc("wahost_store_pool_connections", "Store pool connections, by state: max, open, in_use, idle.", []string{"state"}, nil),
		poolWaits: prometheus.NewDesc("wahost_store_pool_waits_total", "Connection acquisitions that waited for a free connection.", nil, nil),
		errors:    errors,
	}
	c.pool, _ = store.(poolStater)
	return c
}

// Describe implements prometheus.Collector.
func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.instances, c.pending, c.failed, c.purges, c.poolConns, c.poolWaits} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	if c.pool != nil {
		st := c.pool.PoolStats()
		for state, n := range map[string]int32{"max": st.Max, "open": st.Total, "in_use": st.Acquired, "idle": st.Idle} {
			ch <- prometheus.MustNewConstMetric(c.poolConns, prometheus.GaugeValue, float64(n), state)
		}
		ch <- prometheus.MustNewConstMetric(c.poolWaits, prometheus.CounterValue, float64(st.Waited))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b, err := c.store.Backlog(ctx)
	if err != nil {
		c.errors.WithLabelValues("store").Inc()
		return
	}
	for _, st := range instanceStates {
		ch <- prometheus.MustNewConstMetric(c.instances, prometheus.GaugeValue, float64(b.Instances[st]), string(st))
	}
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(b.OutboxPending))
	ch <- prometheus.MustNewConstMetric(c.failed, prometheus.GaugeValue, float64(b.OutboxFailed))
	ch <- prometheus.MustNewConstMetric(c.purges, prometheus.GaugeValue, float64(b.PendingPurges))
}

// newDependencyErrors counts failures of the store and of Redis seen
// outside a unit of work (scrapes, pruning, pings, purges).
func newDependencyErrors(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wahost_dependency_errors_total",
		Help: "Failures of a dependency (store, redis) outside the units of work (wahost_store_errors_total counts those).",
	}, []string{"dependency"})
	reg.MustRegister(c)
	c.WithLabelValues("store")
	c.WithLabelValues("redis")
	return c
}
