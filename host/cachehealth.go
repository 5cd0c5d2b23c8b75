package host

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// pinger is what the cache health watch needs of the cache.
type pinger interface {
	Ping(ctx context.Context) error
}

// cacheHealth watches Redis: wahost starts and runs without it (purges
// wait in their queue and retry), says so once when it goes and once when
// it comes back, reports it in /readyz as degraded and in
// wahost_dependency_up{dependency="redis"}.
type cacheHealth struct {
	cache pinger
	addr  string
	log   *slog.Logger
	up    prometheus.Gauge
	errs  prometheus.Counter // failed pings

	mu  sync.Mutex // guards err
	err error      // the last ping's failure; nil while Redis answers
}

func newCacheHealth(cache pinger, addr string, log *slog.Logger, reg prometheus.Registerer, errs prometheus.Counter) *cacheHealth {
	up := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "wahost_dependency_up", Help: "Whether a dependency answers (1) or not (0).",
		ConstLabels: prometheus.Labels{"dependency": "redis"},
	})
	reg.MustRegister(up)
	up.Set(1)
	return &cacheHealth{cache: cache, addr: addr, log: log, up: up, errs: errs}
}

// check pings once and records the outcome, logging a change.
func (c *cacheHealth) check(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err := c.cache.Ping(pctx)
	if ctx.Err() != nil {
		return err // stopping: not a change of Redis's
	}
	if err != nil {
		c.errs.Inc()
	}
	c.mu.Lock()
	was := c.err
	c.err = err
	c.mu.Unlock()
	switch {
	case err != nil && was == nil:
		c.up.Set(0)
		c.log.Warn("Redis is unreachable; running without it, purges wait and retry",
			"addr", c.addr, "key", "cache.redis_addr", "error", err)
	case err == nil && was != nil:
		c.up.Set(1)
		c.log.Info("Redis is reachable again", "addr", c.addr)
	}
	return err
}

// degraded is /readyz's reason while Redis does not answer.
func (c *cacheHealth) degraded() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return fmt.Errorf("redis at %s (cache.redis_addr) is unreachable: %v", c.addr, rootCause(c.err))
	}
	return nil
}

// run pings until ctx ends: with back-off from 100ms to 30s while Redis
// is down, every 15s while it answers.
func (c *cacheHealth) run(ctx context.Context) error {
	wait := 100 * time.Millisecond
	for {
		next := 15 * time.Second
		if c.degraded() != nil {
			next, wait = wait, min(2*wait, 30*time.Second)
		} else {
			wait = 100 * time.Millisecond
		}
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		_ = c.check(ctx)
	}
}
