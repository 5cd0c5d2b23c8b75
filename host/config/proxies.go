package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wahost/wahost/host/proxy"
)

// Proxies configures the proxies sessions connect through (host/proxy,
// docs/proxies.md).
type Proxies struct {
	// Pools are named lists of proxy URLs: http://, https:// or
	// socks5://, each with an optional user:password@.
	Pools map[string][]string `koanf:"pools"`
	// Default is the proxy of an instance that names none: a pool name
	// or a URL; empty connects directly.
	Default string `koanf:"default"`
	// Breaker marks a failing proxy down and probes it.
	Breaker ProxyBreaker `koanf:"breaker"`
}

// ProxyBreaker is host/proxy's Breaker as configuration keys.
type ProxyBreaker struct {
	// Failures from this many distinct instances within Window mark a
	// proxy down.
	Failures int `koanf:"failures"`
	// Window is how far back failures count.
	Window time.Duration `koanf:"window"`
	// CoolDown is how long a down proxy waits for its first probe.
	CoolDown time.Duration `koanf:"cool_down"`
	// ProbeInterval is the time between probes of a down proxy.
	ProbeInterval time.Duration `koanf:"probe_interval"`
	// ProbeTimeout bounds one probe (a TCP connect).
	ProbeTimeout time.Duration `koanf:"probe_timeout"`
}

func defaultProxies() Proxies {
	return Proxies{
		Pools: map[string][]string{},
		Breaker: ProxyBreaker{
			Failures: 3, Window: 2 * time.Minute, CoolDown: 30 * time.Second,
			ProbeInterval: 10 * time.Second, ProbeTimeout: 5 * time.Second,
		},
	}
}

// BreakerConfig returns the breaker's settings for host/proxy.
func (p *Proxies) BreakerConfig() proxy.Breaker {
	b := p.Breaker
	return proxy.Breaker{
		Failures: b.Failures, Window: b.Window, CoolDown: b.CoolDown,
		ProbeInterval: b.ProbeInterval, ProbeTimeout: b.ProbeTimeout,
	}
}

// validate checks the proxies.* keys; no message quotes a password.
func (p *Proxies) validate(bad func(key, format string, args ...any)) {
	names := make([]string, 0, len(p.Pools))
	for name := range p.Pools {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		key := "proxies.pools." + name
		if strings.Contains(name, "://") || strings.TrimSpace(name) == "" {
			bad(key, "a pool name must not be empty or look like a URL")
		}
		if len(p.Pools[name]) == 0 {
			bad(key, "the pool is empty")
		}
		for i, raw := range p.Pools[name] {
			if _, err := proxy.Parse(raw); err != nil {
				bad(fmt.Sprintf("%s[%d]", key, i), "%v", err)
			}
		}
	}
	if d := strings.TrimSpace(p.Default); d != "" {
		if strings.Contains(d, "://") {
			if _, err := proxy.Parse(d); err != nil {
				bad("proxies.default", "%v", err)
			}
		} else if _, ok := p.Pools[d]; !ok {
			bad("proxies.default", "%q is neither a URL nor a pool of proxies.pools", d)
		}
	}
	b := &p.Breaker
	if b.Failures < 1 {
		bad("proxies.breaker.failures", "%d, want at least 1", b.Failures)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"proxies.breaker.window", b.Window}, {"proxies.breaker.cool_down", b.CoolDown},
		{"proxies.breaker.probe_interval", b.ProbeInterval}, {"proxies.breaker.probe_timeout", b.ProbeTimeout},
	} {
		if d.v < 100*time.Millisecond {
			bad(d.key, "%s, want 100ms or more", d.v)
		}
	}
}
