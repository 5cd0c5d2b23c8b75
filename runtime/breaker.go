package runtime

import "time"

// Breaker defaults applied by NewSlot to zero fields of BreakerConfig.
const (
	DefaultBreakerThreshold = 5
	DefaultBreakerWindow    = time.Minute
	DefaultBreakerCooldown  = 30 * time.Second
)

// BreakerConfig sets when a Slot gives up on its current module. Only
// faults whose kind is ModuleAtFault count.
type BreakerConfig struct {
	// Threshold faults within Window trip the breaker. Default 5.
	Threshold int
	// Window is the span Threshold faults must fall in. Default 1 minute.
	Window time.Duration
	// Cooldown is how long calls fail fast with KindUnhealthy after a trip
	// when there is no last-known-good module to revert to. Afterwards
	// calls reach the module again, and Threshold new faults trip it again.
	// Default 30 seconds.
	Cooldown time.Duration
}

func (c BreakerConfig) withDefaults() BreakerConfig {
	if c.Threshold <= 0 {
		c.Threshold = DefaultBreakerThreshold
	}
	if c.Window <= 0 {
		c.Window = DefaultBreakerWindow
	}
	if c.Cooldown <= 0 {
		c.Cooldown = DefaultBreakerCooldown
	}
	return c
}

// breaker remembers the times of the last Threshold faults of one module.
// Its owner serialises access.
type breaker struct {
	window time.Duration
	times  []time.Time // ring buffer, len Threshold
	next   int         // index of the oldest entry once the ring is full
	n      int         // entries recorded, up to len(times)
}

func newBreaker(c BreakerConfig) breaker {
	return breaker{window: c.Window, times: make([]time.Time, c.Threshold)}
}

// record notes a fault at now and reports whether it trips the breaker:
// Threshold faults within the window. A trip clears the record.
func (b *breaker) record(now time.Time) bool {
	b.times[b.next] = now
	b.next = (b.next + 1) % len(b.times)
	if b.n < len(b.times) {
		b.n++
	}
	if b.n < len(b.times) || now.Sub(b.times[b.next]) > b.window {
		return false
	}
	b.reset()
	return true
}

// reset forgets every recorded fault.
func (b *breaker) reset() {
	b.n, b.next = 0, 0
}
