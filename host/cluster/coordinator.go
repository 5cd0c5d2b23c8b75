package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wahost/wahost/storage"
)

// DefaultTTL is a lease's lifetime when Config.TTL is zero.
const DefaultTTL = 15 * time.Second

// Store is what the coordinator reads and writes: the leases, the hosts'
// heartbeats and the list of instances.
type Store interface {
	storage.Leases
	storage.Fleet
	ListInstances(ctx context.Context) ([]storage.Instance, error)
}

// Driver runs the instances whose leases the coordinator holds: the host's
// sessions and reconnects.
type Driver interface {
	// Adopt starts driving an instance whose lease this host just
	// acquired; takeover says another host held it before.
	Adopt(ctx context.Context, instanceID string, takeover bool)
	// Drop stops driving an instance at once: its lease is lost, or about
	// to be handed off. It returns once the instance's client is closed.
	Drop(instanceID string)
}

// Config configures a Coordinator.
type Config struct {
	Store Store
	// HostID names this host in the leases; empty means NewHostID().
	HostID string
	// URL is this host's advertised API URL.
	URL string
	// MaxInstances caps the leases held; 0 means no cap.
	MaxInstances int
	// TTL is a lease's lifetime; 0 means DefaultTTL. Leases are renewed
	// every TTL/3.
	TTL time.Duration
	// Driver is told which instances to drive; it must be set.
	Driver Driver
	// Now is the clock of the lease arithmetic; nil means time.Now.
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// NewHostID returns the hostname with a random suffix: a restarted
// process is a new host, so it never mistakes an old lease for its own.
func NewHostID() string {
	name, err := os.Hostname()
	if err != nil || name == "" {
		name = "wahost"
	}
	if len(name) > 180 {
		name = name[:180]
	}
	return fmt.Sprintf("%s-%06x", name, rand.Uint32()&0xffffff)
}

// held is a lease this host holds and until when it may act on it: the
// moment its last renewal was sent, plus the TTL.
type held struct {
	lease      storage.Lease
	validUntil time.Time
}

// Coordinator acquires, renews, releases and hands off this host's leases.
// It is safe for concurrent use.
type Coordinator struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics

	mu        sync.Mutex                  // guards the fields below
	held      map[string]held             // by instance id
	fences    map[string]storage.Lease    // the last lease this host had on an instance, held or not
	released  map[string]time.Time        // handed off or lost at: not taken back for a TTL
	freeSince map[string]time.Time        // first seen without a live lease
	hosts     map[string]storage.HostInfo // live hosts at the last pass
	adopting  bool                        // Driver.Adopt is called (after the first pass)
	adopts    sync.WaitGroup              // adoptions in progress
	cancel    context.CancelFunc
	done      chan struct{}
}

// New returns a Coordinator; Start runs it.
func New(cfg Config) *Coordinator {
	if cfg.HostID == "" {
		cfg.HostID = NewHostID()
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Coordinator{
		cfg: cfg, log: cfg.Logger.With("host_id", cfg.HostID),
		held: map[string]held{}, fences: map[string]storage.Lease{}, released: map[string]time.Time{},
		freeSince: map[string]time.Time{}, hosts: map[string]storage.HostInfo{},
	}
	c.metrics = newMetrics(cfg.Registerer, func() float64 { return float64(c.Len()) })
	return c
}

// HostID is this host's name in the leases.
func (c *Coordinator) HostID() string { return c.cfg.HostID }

// URL is this host's advertised API URL.
func (c *Coordinator) URL() string { return c.cfg.URL }

// TTL is a lease's lifetime.
func (c *Coordinator) TTL() time.Duration { return c.cfg.TTL }

// Len is how many leases this host holds.
func (c *Coordinator) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.held)
}

// Holds reports whether this host holds the instance's lease and may act
// on it now.
func (c *Coordinator) Holds(instanceID string) bool {
	_, ok := c.Lease(instanceID)
	return ok
}

// Lease returns this host's lease on an instance while it is valid.
func (c *Coordinator) Lease(instanceID string) (storage.Lease, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.held[instanceID]
	if !ok || !c.cfg.Now().Before(h.validUntil) {
		return storage.Lease{}, false
	}
	return h.lease, true
}

// Fence returns the lease a write for the instance must be fenced with:
// the last one this host had, held or lost. ok is false for an instance
// this host never drove.
func (c *Coordinator) Fence(instanceID string) (storage.Lease, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.fences[instanceID]
	return l, ok
}

// Host returns a live host as the last pass saw it.
func (c *Coordinator) Host(id string) (storage.HostInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.hosts[id]
	return h, ok
}

// Settle waits until the Driver has been handed every instance acquired
// so far (adoptions run in the background, apart from the renewals).
func (c *Coordinator) Settle() { c.adopts.Wait() }

// Start runs a first pass — a heartbeat, then leases on the free
// instances up to this host's share — and then the loop in the
// background. Instances leased by the first pass are not adopted: the
// sessions' own start connects them (Holds filters it).
func (c *Coordinator) Start(ctx context.Context) error {
	c.mu.Lock()
	if c.done != nil {
		c.mu.Unlock()
		return errors.New("cluster: already started")
	}
	c.done = make(chan struct{})
	c.mu.Unlock()
	if err := c.RunOnce(ctx); err != nil {
		c.mu.Lock()
		c.done = nil // Start may be called again (the store was unreachable)
		c.mu.Unlock()
		return err
	}
	c.mu.Lock()
	c.adopting = true
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	c.mu.Unlock()
	c.log.InfoContext(ctx, "joined the fleet", "leases", c.Len(), "ttl", c.cfg.TTL)
	go c.loop(loopCtx)
	return nil
}

func (c *Coordinator) loop(ctx context.Context) {
	defer close(c.done)
	defer c.adopts.Wait()
	// Three loops: the watchdog and the renewals run apart from the
	// balancing passes, so that neither a slow acquisition nor a slow
	// store keeps a client open past its lease.
	var wg sync.WaitGroup
	every := func(d time.Duration, fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(d)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					fn()
				}
			}
		}()
	}
	every(c.cfg.TTL/10, c.expire)
	every(c.cfg.TTL/3, func() { c.renew(ctx) })
	every(c.cfg.TTL/3, func() {
		if err := c.balance(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("cluster pass failed", "error", err)
		}
	})
	wg.Wait()
}

// lateLocked reports whether h must be given up: its last renewal was
// sent three quarters of a TTL ago. A host renews every third of the TTL,
// so one late renewal costs nothing; the last quarter is the time its
// clients have to close before another host may take the lease.
func (c *Coordinator) lateLocked(h held, now time.Time) bool {
	return !now.Before(h.validUntil.Add(-c.cfg.TTL / 4))
}

// expire drops the leases whose renewal is overdue, a quarter of the TTL
// before they may expire in the store: their clients close before another
// host can take the instances over.
func (c *Coordinator) expire() {
	now := c.cfg.Now()
	c.mu.Lock()
	var late []storage.Lease
	for _, h := range c.held {
		if c.lateLocked(h, now) {
			late = append(late, h.lease)
		}
	}
	c.mu.Unlock()
	c.lose("not renewed in time", late...)
}

// Stop ends the loop, releases every lease this host holds so that the
// others take its instances at once, and removes its heartbeat. Call it
// after the sessions are closed. It is idempotent and safe before Start.
func (c *Coordinator) Stop(ctx context.Context) error {
	c.mu.Lock()
	cancel, done := c.cancel, c.done
	c.cancel = nil
	c.mu.Unlock()
	if done == nil {
		return nil
	}
	if cancel != nil {
		cancel()
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	leases := make([]storage.Lease, 0, len(c.held))
	for _, h := range c.held {
		leases = append(leases, h.lease)
	}
	c.held = map[string]held{}
	c.mu.Unlock()
	err := c.releaseAll(ctx, leases)
	return errors.Join(err, c.cfg.Store.LeaveFleet(ctx, c.cfg.HostID))
}

// releaseAll releases leases, a few at a time.
func (c *Coordinator) releaseAll(ctx context.Context, leases []storage.Lease) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, 8)
	)
	for _, l := range leases {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := c.cfg.Store.ReleaseLease(ctx, l); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			c.metrics.released.Inc()
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("cluster: releasing %d of %d leases: %w", len(errs), len(leases), errs[0])
	}
	return nil
}
