package proxy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// PoolsConfig configures Pools.
type PoolsConfig struct {
	// Pools are the named groups of proxy URLs (proxies.pools).
	Pools map[string][]string
	// Default is the proxy of an instance that names none: a pool name,
	// a URL, or empty for a direct connection (proxies.default).
	Default string
	// Setting returns an instance's own proxy setting: a pool name, a
	// URL, or empty for Default.
	Setting func(ctx context.Context, instanceID string) (string, error)
	// Health records outcomes and says which proxies are down; nil
	// means NewHealth with the default Breaker.
	Health *Health
}

// Pools chooses each instance's proxy: its own setting or the default,
// a fixed URL or a pool. In a pool an instance keeps its proxy while it
// is up; it moves to the next healthy one when its proxy is down, and
// stays put when no other is healthy. It implements the session's ProxyPicker.
type Pools struct {
	pools   map[string][]Endpoint
	def     string
	setting func(ctx context.Context, instanceID string) (string, error)
	health  *Health

	mu      sync.Mutex // guards current and known
	current map[string]Endpoint
	known   map[string]string // each instance's setting as last read
}

// NewPools checks every URL and the default, and returns the Pools.
func NewPools(cfg PoolsConfig) (*Pools, error) {
	p := &Pools{
		pools: make(map[string][]Endpoint), def: cfg.Default, setting: cfg.Setting, health: cfg.Health,
		current: make(map[string]Endpoint), known: make(map[string]string),
	}
	if p.health == nil {
		p.health = NewHealth(Breaker{}, nil)
	}
	for name, urls := range cfg.Pools {
		if len(urls) == 0 {
			return nil, fmt.Errorf("proxy pool %q is empty", name)
		}
		for _, raw := range urls {
			ep, err := Parse(raw)
			if err != nil {
				return nil, fmt.Errorf("proxy pool %q: %w", name, err)
			}
			p.pools[name] = append(p.pools[name], ep)
		}
	}
	if _, _, err := p.Resolve(cfg.Default); err != nil {
		return nil, fmt.Errorf("default proxy: %w", err)
	}
	return p, nil
}

// Health is the proxies' health.
func (p *Pools) Health() *Health { return p.health }

// Resolve reads a proxy setting: a URL gives that proxy, a pool name
// that pool's members, empty nothing (a direct connection). Its errors
// never quote a password.
func (p *Pools) Resolve(value string) (pool string, members []Endpoint, err error) {
	value = strings.TrimSpace(value)
	switch {
	case value == "":
		return "", nil, nil
	case strings.Contains(value, "://"):
		ep, err := Parse(value)
		if err != nil {
			return "", nil, err
		}
		return "", []Endpoint{ep}, nil
	}
	ms, ok := p.pools[value]
	if !ok {
		return "", nil, fmt.Errorf("no proxy pool %q (proxies.pools has %s)", value, strings.Join(p.Names(), ", "))
	}
	return value, ms, nil
}

// Names lists the pools, sorted.
func (p *Pools) Names() []string {
	names := make([]string, 0, len(p.pools))
	for n := range p.pools {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// members returns what an instance's connections may go through. When
// its setting cannot be read (the store is away), the one last read is
// used: a reconnect during a database outage goes where the one before
// went instead of failing.
func (p *Pools) members(ctx context.Context, instanceID string) (string, []Endpoint, error) {
	value := ""
	if p.setting != nil {
		v, err := p.setting(ctx, instanceID)
		p.mu.Lock()
		last, ok := p.known[instanceID]
		if err == nil {
			p.known[instanceID] = v
		}
		p.mu.Unlock()
		switch {
		case err == nil:
			value = v
		case ok:
			value = last
		default:
			return "", nil, fmt.Errorf("reading the proxy setting of %s: %w", instanceID, err)
		}
	}
	if strings.TrimSpace(value) == "" {
		value = p.def
	}
	return p.Resolve(value)
}

// Pick returns the proxy of the instance's next connection (see Pools).
func (p *Pools) Pick(ctx context.Context, instanceID string) (Endpoint, error) {
	_, ms, err := p.members(ctx, instanceID)
	if err != nil {
		return Endpoint{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(ms) == 0 {
		delete(p.current, instanceID)
		return Endpoint{}, nil
	}
	cur, had := p.current[instanceID]
	at := slices.Index(ms, cur)
	if had && at >= 0 && !p.health.Down(cur) {
		return cur, nil
	}
	var next Endpoint
	if at >= 0 {
		// The next healthy member after the current one.
		for i := 1; i < len(ms); i++ {
			if c := ms[(at+i)%len(ms)]; !p.health.Down(c) {
				next = c
				break
			}
		}
		if next.IsZero() {
			next = cur // no other is healthy: stay
		}
	} else {
		next = p.leastUsedLocked(ms)
	}
	p.current[instanceID] = next
	return next, nil
}

// leastUsedLocked returns the healthy member fewest instances use, the
// first member when none is healthy.
func (p *Pools) leastUsedLocked(ms []Endpoint) Endpoint {
	use := make(map[Endpoint]int)
	for _, ep := range p.current {
		use[ep]++
	}
	best, bestUse := ms[0], -1
	for _, ep := range ms {
		if p.health.Down(ep) {
			continue
		}
		if bestUse < 0 || use[ep] < bestUse {
			best, bestUse = ep, use[ep]
		}
	}
	return best
}

// Outcome records a connect's end in Health.
func (p *Pools) Outcome(ep Endpoint, instanceID string, err error) {
	p.health.Record(ep, instanceID, err)
}

// View is what the policy and the diagnostics see of an instance's
// proxy: IDs and counts, never an address with credentials.
type View struct {
	ID   string // the current proxy's ID; empty for a direct connection
	Pool string // its pool; empty for a fixed URL
	// Size and Healthy count the pool's proxies (1 and 0 or 1 for a
	// fixed URL).
	Size, Healthy int
	Down          bool // the current proxy is marked down
	// Failures counts the current proxy's failures for this instance
	// within the breaker's window, PoolFailures those of every member
	// for every instance.
	Failures, PoolFailures int
	// Endpoint is the current proxy, for dialing (diagnostics); its
	// String is masked.
	Endpoint Endpoint
}

// View returns the instance's proxy as of now.
func (p *Pools) View(ctx context.Context, instanceID string) (View, error) {
	pool, ms, err := p.members(ctx, instanceID)
	if err != nil || len(ms) == 0 {
		return View{}, err
	}
	return p.view(instanceID, pool, ms), nil
}

// ViewSetting is View for a caller that has read the instance's proxy
// setting already (setting; empty for proxies.default).
func (p *Pools) ViewSetting(instanceID, setting string) (View, error) {
	if strings.TrimSpace(setting) == "" {
		setting = p.def
	}
	pool, ms, err := p.Resolve(setting)
	if err != nil || len(ms) == 0 {
		return View{}, err
	}
	return p.view(instanceID, pool, ms), nil
}

func (p *Pools) view(instanceID, pool string, ms []Endpoint) View {
	p.mu.Lock()
	cur, ok := p.current[instanceID]
	p.mu.Unlock()
	if !ok || !slices.Contains(ms, cur) {
		cur = ms[0]
	}
	v := View{ID: cur.ID(), Pool: pool, Size: len(ms), Down: p.health.Down(cur), Endpoint: cur}
	for _, ep := range ms {
		if !p.health.Down(ep) {
			v.Healthy++
		}
		all, mine := p.health.RecentFailures(ep, instanceID)
		v.PoolFailures += all
		if ep == cur {
			v.Failures = mine
		}
	}
	return v
}

// Switch moves the instance off its current proxy before its next
// connect, as a policy's switch_proxy asks: to the member whose ID is to
// when that one is healthy and not the current one, else (to empty, or
// naming no such member) to the next healthy member after the current
// one. With no other healthy member it stays. setting is the instance's
// proxy setting (empty for proxies.default). It returns the proxy before
// and after; they are equal when it stayed, zero for a direct connection.
func (p *Pools) Switch(instanceID, setting, to string) (from, next Endpoint, err error) {
	if strings.TrimSpace(setting) == "" {
		setting = p.def
	}
	_, ms, err := p.Resolve(setting)
	if err != nil || len(ms) == 0 {
		return Endpoint{}, Endpoint{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	from, ok := p.current[instanceID]
	at := slices.Index(ms, from)
	if !ok || at < 0 {
		from, at = ms[0], 0
	}
	next = from
	if i := slices.IndexFunc(ms, func(ep Endpoint) bool { return ep.ID() == to }); i >= 0 && i != at && !p.health.Down(ms[i]) {
		next = ms[i]
	} else {
		for i := 1; i < len(ms); i++ {
			if c := ms[(at+i)%len(ms)]; !p.health.Down(c) {
				next = c
				break
			}
		}
	}
	p.current[instanceID] = next
	return from, next, nil
}

// Forget drops an instance from the pools' and the health's state: a
// deleted instance no longer holds a proxy, counts among its sessions or
// weighs on the choice of the least used one.
func (p *Pools) Forget(instanceID string) {
	p.mu.Lock()
	delete(p.current, instanceID)
	delete(p.known, instanceID)
	p.mu.Unlock()
	p.health.Forget(instanceID)
}

// Statuses returns every configured or used proxy's health, each with
// its pool.
func (p *Pools) Statuses() []Status {
	for _, ms := range p.pools {
		for _, ep := range ms {
			p.health.mu.Lock()
			p.health.getLocked(ep)
			p.health.mu.Unlock()
		}
	}
	out := p.health.Statuses()
	for i := range out {
		for _, name := range p.Names() {
			if slices.ContainsFunc(p.pools[name], func(ep Endpoint) bool { return ep.ID() == out[i].ID }) {
				out[i].Pool = name
				break
			}
		}
	}
	return out
}
