package host

import (
	"context"
	"fmt"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/config"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/host/proxy"
)

// newProxies builds the proxy pools of cfg, reading each instance's own
// setting from the store, with their health in the metrics and a prober
// started with the host.
func (h *Host) newProxies(cfg *config.Config) error {
	health := proxy.NewHealth(cfg.Proxies.BreakerConfig(), h.clock)
	pools, err := proxy.NewPools(proxy.PoolsConfig{
		Pools: cfg.Proxies.Pools, Default: cfg.Proxies.Default, Health: health,
		Setting: func(ctx context.Context, instanceID string) (string, error) {
			s, err := h.store.Settings(ctx, instanceID)
			if err != nil {
				return "", err
			}
			return s.Proxy, nil
		},
	})
	if err != nil {
		return fmt.Errorf("proxies: %w", err)
	}
	h.proxies = pools
	h.prober = proxy.NewProber(health, h.log)
	h.reg.MustRegister(pools.Collector())
	h.closers = append(h.closers, h.prober.Stop)
	return nil
}

// policyProxies is the executor's view of the proxy pools: what the
// policy sees of an instance's proxy, and the switch a decision asks for.
type policyProxies struct{ pools *proxy.Pools }

var _ executor.Proxies = policyProxies{}

func (p policyProxies) Proxy(instanceID, setting string) (abi.Proxy, bool) {
	v, err := p.pools.ViewSetting(instanceID, setting)
	if err != nil || v.ID == "" {
		// An unreadable setting was refused when it was set; a pool the
		// config no longer has leaves the input without a proxy.
		return abi.Proxy{}, false
	}
	return abi.Proxy{
		ID: v.ID, Pool: v.Pool, PoolSize: v.Size, Healthy: v.Healthy, Down: v.Down,
		Failures: v.Failures, PoolFailures: v.PoolFailures,
	}, true
}

func (p policyProxies) Switch(instanceID, setting, to string) (from, next string, err error) {
	f, n, err := p.pools.Switch(instanceID, setting, to)
	return f.ID(), n.ID(), err
}
