package host

import (
	"context"
	"fmt"

	"github.com/wahost/wahost/host/config"
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
