package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/wahost/wahost/storage"
)

// RunOnce is one pass of the loop: renew the leases held (dropping the
// ones lost), send a heartbeat, acquire free leases up to this host's
// share, and hand off the surplus to a host below its share.
func (c *Coordinator) RunOnce(ctx context.Context) error {
	c.renew(ctx)
	if err := c.cfg.Store.Heartbeat(ctx, storage.HostInfo{
		ID: c.cfg.HostID, URL: c.cfg.URL, MaxInstances: c.cfg.MaxInstances,
	}); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	now := c.cfg.Now()
	insts, err := c.cfg.Store.ListInstances(ctx)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	leases, err := c.cfg.Store.ListLeases(ctx)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	// A live host renews its heartbeat every TTL/3: one not seen for half
	// a TTL has stopped (its leases expire soon after).
	hosts, err := c.cfg.Store.Hosts(ctx, now.Add(-c.cfg.TTL/2))
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	v := c.view(now, insts, leases, hosts)
	c.acquire(ctx, v)
	c.handOff(ctx, v)
	return nil
}

// view is the fleet as one pass sees it.
type view struct {
	now     time.Time
	total   int                      // instances
	share   int                      // this host's fair share, capped
	free    []string                 // instances without a live lease, shuffled
	prior   map[string]storage.Lease // the lease rows of the free instances
	perHost map[string]int           // live leases by live host
}

func (c *Coordinator) view(now time.Time, insts []storage.Instance, leases []storage.Lease, hosts []storage.HostInfo) view {
	v := view{now: now, total: len(insts), prior: map[string]storage.Lease{}, perHost: map[string]int{c.cfg.HostID: 0}}
	live := map[string]storage.HostInfo{}
	for _, h := range hosts {
		live[h.ID] = h
		v.perHost[h.ID] += 0
	}
	byInstance := make(map[string]storage.Lease, len(leases))
	for _, l := range leases {
		byInstance[l.InstanceID] = l
		if l.ExpiresAt.After(now) {
			if _, ok := v.perHost[l.Owner]; ok {
				v.perHost[l.Owner]++
			}
		}
	}
	n := len(v.perHost)
	v.share = (v.total + n - 1) / n
	if m := c.cfg.MaxInstances; m > 0 && v.share > m {
		v.share = m
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	c.hosts = live
	c.metrics.hosts.Set(float64(n))
	exists := make(map[string]bool, len(insts))
	for _, in := range insts {
		exists[in.ID] = true
		if _, mine := c.held[in.ID]; mine {
			continue
		}
		l, ok := byInstance[in.ID]
		if ok && l.ExpiresAt.After(now) {
			delete(c.freeSince, in.ID)
			continue
		}
		if ok {
			v.prior[in.ID] = l
		}
		if _, seen := c.freeSince[in.ID]; !seen {
			c.freeSince[in.ID] = now
		}
		v.free = append(v.free, in.ID)
	}
	for id := range c.freeSince {
		if !exists[id] {
			delete(c.freeSince, id)
		}
	}
	for id := range c.fences {
		if !exists[id] {
			delete(c.fences, id)
			delete(c.held, id)
		}
	}
	for id, at := range c.released {
		if now.Sub(at) >= c.cfg.TTL {
			delete(c.released, id)
		}
	}
	rand.Shuffle(len(v.free), func(i, j int) { v.free[i], v.free[j] = v.free[j], v.free[i] })
	return v
}

// renew extends every lease held. A lease another host took, or one not
// renewed in time, is dropped: its client closes at once.
func (c *Coordinator) renew(ctx context.Context) {
	c.mu.Lock()
	list := make([]held, 0, len(c.held))
	for _, h := range c.held {
		list = append(list, h)
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	sem := make(chan struct{}, renewParallelism)
	for _, h := range list {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c.renewOne(ctx, h)
		}()
	}
	wg.Wait()
}

// renewParallelism bounds the renewals in flight: a host with thousands
// of leases renews them all well within a third of the TTL.
const renewParallelism = 16

func (c *Coordinator) renewOne(ctx context.Context, h held) {
	sent := c.cfg.Now()
	if c.lateLocked(h, sent) {
		c.lose(h.lease, "not renewed in time")
		return
	}
	l, err := c.cfg.Store.RenewLease(ctx, h.lease, c.cfg.TTL)
	switch {
	case errors.Is(err, storage.ErrLeaseLost):
		c.lose(h.lease, "taken by another host")
	case err != nil:
		// Kept until validUntil: a store blip shorter than the
		// lease's remaining life costs nothing.
		c.log.Warn("renewing a lease failed", "instance_id", h.lease.InstanceID, "valid_for", h.validUntil.Sub(sent), "error", err)
	default:
		c.mu.Lock()
		if cur, ok := c.held[l.InstanceID]; ok && cur.lease.Token == l.Token && !c.lateLocked(cur, c.cfg.Now()) {
			c.held[l.InstanceID] = held{lease: l, validUntil: sent.Add(c.cfg.TTL)}
		}
		c.mu.Unlock()
	}
}

// lose forgets a lease that is no longer this host's and stops driving
// its instance; the lease stays the instance's fence, so nothing more is
// committed for it.
func (c *Coordinator) lose(l storage.Lease, why string) {
	c.mu.Lock()
	cur, ok := c.held[l.InstanceID]
	if ok && cur.lease.Token == l.Token {
		delete(c.held, l.InstanceID)
	}
	c.mu.Unlock()
	if !ok {
		return
	}
	c.metrics.lost.Inc()
	c.log.Warn("lease lost; closing the instance", "instance_id", l.InstanceID, "reason", why)
	c.cfg.Driver.Drop(l.InstanceID)
}

// acquire takes free leases up to this host's share; an instance free for a
// whole TTL (its hosts are at their caps, or the share is stale) is taken
// up to the cap.
func (c *Coordinator) acquire(ctx context.Context, v view) {
	var adopt []adoption
	defer func() { c.adopt(ctx, adopt) }()
	for _, id := range v.free {
		c.mu.Lock()
		n := len(c.held)
		_, handedOff := c.released[id]
		longFree := v.now.Sub(c.freeSince[id]) >= c.cfg.TTL
		c.mu.Unlock()
		if handedOff {
			continue
		}
		if n >= v.share && (!longFree || (c.cfg.MaxInstances > 0 && n >= c.cfg.MaxInstances)) {
			continue
		}
		prior, hadOwner := v.prior[id]
		takeover := hadOwner && prior.Owner != c.cfg.HostID
		if c.take(ctx, id, takeover) {
			adopt = append(adopt, adoption{id, takeover})
		}
	}
}

// adoption is a lease acquired whose instance the Driver must start.
type adoption struct {
	id       string
	takeover bool
}

// adopt hands the instances of newly acquired leases to the Driver in
// the background, so that connecting them never delays the renewals.
func (c *Coordinator) adopt(ctx context.Context, list []adoption) {
	c.mu.Lock()
	adopting := c.adopting
	if adopting && len(list) > 0 {
		c.adopts.Add(1)
	}
	c.mu.Unlock()
	if !adopting || len(list) == 0 {
		return
	}
	go func() {
		defer c.adopts.Done()
		work := make(chan adoption)
		var wg sync.WaitGroup
		for range min(adoptParallelism, len(list)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for a := range work {
					if ctx.Err() == nil && c.Holds(a.id) {
						c.cfg.Driver.Adopt(ctx, a.id, a.takeover)
					}
				}
			}()
		}
		for _, a := range list {
			work <- a
		}
		close(work)
		wg.Wait()
	}()
}

// adoptParallelism bounds the adoptions in flight: each reads the
// instance and its device before its reconnect is scheduled (the
// reconnects themselves pass the global rate limit).
const adoptParallelism = 16

// take acquires one instance's lease and reports whether it is now held.
func (c *Coordinator) take(ctx context.Context, id string, takeover bool) bool {
	sent := c.cfg.Now()
	l, err := c.cfg.Store.AcquireLease(ctx, id, c.cfg.HostID, c.cfg.TTL)
	if err != nil {
		if !errors.Is(err, storage.ErrLeaseHeld) && !errors.Is(err, storage.ErrNotFound) && ctx.Err() == nil {
			c.log.Warn("acquiring a lease failed", "instance_id", id, "error", err)
		}
		return false
	}
	c.mu.Lock()
	c.held[id] = held{lease: l, validUntil: sent.Add(c.cfg.TTL)}
	c.fences[id] = l
	delete(c.freeSince, id)
	c.mu.Unlock()
	c.metrics.acquired.Inc()
	if takeover {
		c.metrics.takeovers.Inc()
	}
	return true
}

// handOff releases the leases held beyond this host's share while a live
// host holds fewer than its own, closing their sessions first.
func (c *Coordinator) handOff(ctx context.Context, v view) {
	c.mu.Lock()
	adopting := c.adopting
	surplus := len(c.held) - v.share
	c.mu.Unlock()
	if !adopting || surplus <= 1 {
		return
	}
	room := 0
	for id, n := range v.perHost {
		if id != c.cfg.HostID && n < v.share-1 {
			room += v.share - n
		}
	}
	n := min(surplus, room)
	if n <= 0 {
		return
	}
	c.mu.Lock()
	var give []storage.Lease
	for _, h := range c.held {
		if len(give) == n {
			break
		}
		give = append(give, h.lease)
	}
	for _, l := range give {
		delete(c.held, l.InstanceID)
		c.released[l.InstanceID] = v.now
	}
	c.mu.Unlock()
	for _, l := range give {
		c.cfg.Driver.Drop(l.InstanceID)
	}
	if err := c.releaseAll(ctx, give); err != nil {
		c.log.Warn("handing off leases", "error", err)
	}
	c.log.Info("handed off instances to hosts below their share", "count", len(give), "share", v.share)
}

// Claim acquires the lease of an instance no host drives (one created a
// moment ago, say) when this host has room, and adopts it. It reports
// whether this host holds the lease.
func (c *Coordinator) Claim(ctx context.Context, instanceID string) bool {
	if c.Holds(instanceID) {
		return true
	}
	c.mu.Lock()
	full := c.cfg.MaxInstances > 0 && len(c.held) >= c.cfg.MaxInstances
	c.mu.Unlock()
	if full {
		return false
	}
	if !c.take(ctx, instanceID, false) {
		return false
	}
	c.mu.Lock()
	adopting := c.adopting
	c.mu.Unlock()
	if adopting {
		c.cfg.Driver.Adopt(ctx, instanceID, false)
	}
	return true
}
