package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/wahost/wahost/storage"
)

// RunOnce is one pass of the loop: renew the leases held (dropping the
// ones lost), then balance (see balance).
func (c *Coordinator) RunOnce(ctx context.Context) error {
	c.renew(ctx)
	return c.balance(ctx)
}

// balance sends a heartbeat, acquires free leases up to this host's share
// and hands off the surplus to a host below its share. The loop runs it
// apart from the renewals, so that a long acquisition never delays one.
func (c *Coordinator) balance(ctx context.Context) error {
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
		if _, ok := v.perHost[h.ID]; !ok {
			v.perHost[h.ID] = 0
		}
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

// renew extends every lease held, a page of leases per statement. A
// lease another host took, or one not renewed in time, is dropped: its
// client closes at once.
func (c *Coordinator) renew(ctx context.Context) {
	c.mu.Lock()
	list := make([]held, 0, len(c.held))
	for _, h := range c.held {
		list = append(list, h)
	}
	c.mu.Unlock()
	began := c.cfg.Now()
	var wg sync.WaitGroup
	for page := range slices.Chunk(list, storage.MaxPage) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.renewPage(ctx, page)
		}()
	}
	wg.Wait()
	if took := c.cfg.Now().Sub(began); took > c.cfg.TTL/6 {
		c.log.Warn("renewing the leases took long: the store or this host is overloaded", "took", took, "leases", len(list), "ttl", c.cfg.TTL)
	}
}

func (c *Coordinator) renewPage(ctx context.Context, page []held) {
	sent := c.cfg.Now()
	var late, ask []storage.Lease
	c.mu.Lock()
	for _, h := range page {
		if c.lateLocked(h, sent) {
			late = append(late, h.lease)
		} else {
			ask = append(ask, h.lease)
		}
	}
	c.mu.Unlock()
	c.lose("not renewed in time", late...)
	if len(ask) == 0 {
		return
	}
	renewed, err := c.cfg.Store.RenewLeases(ctx, ask, c.cfg.TTL)
	if err != nil {
		// Kept until they are late: a store blip shorter than the
		// leases' remaining life costs nothing.
		if ctx.Err() == nil {
			c.log.Warn("renewing leases failed", "leases", len(ask), "error", err)
		}
		return
	}
	got := make(map[string]storage.Lease, len(renewed))
	for _, l := range renewed {
		got[l.InstanceID] = l
	}
	var lost []storage.Lease
	now := c.cfg.Now()
	c.mu.Lock()
	for _, l := range ask {
		r, ok := got[l.InstanceID]
		if !ok {
			lost = append(lost, l)
			continue
		}
		if cur, ok := c.held[l.InstanceID]; ok && cur.lease.Token == r.Token && !c.lateLocked(cur, now) {
			c.held[l.InstanceID] = held{lease: r, validUntil: sent.Add(c.cfg.TTL)}
		}
	}
	c.mu.Unlock()
	c.lose("taken by another host", lost...)
}

// lose forgets leases that are no longer this host's and stops driving
// their instances, all at once; the leases stay the instances' fences, so
// nothing more is committed for them.
func (c *Coordinator) lose(why string, leases ...storage.Lease) {
	now := c.cfg.Now()
	c.mu.Lock()
	var gone []string
	for _, l := range leases {
		if cur, ok := c.held[l.InstanceID]; ok && cur.lease.Token == l.Token {
			delete(c.held, l.InstanceID)
			// Not taken back for a TTL: whatsmeow may still deliver
			// the old socket's last events (a 440 read after a pause)
			// on the client a new connection would reuse.
			c.released[l.InstanceID] = now
			gone = append(gone, l.InstanceID)
		}
	}
	c.mu.Unlock()
	if len(gone) == 0 {
		return
	}
	c.metrics.lost.Add(float64(len(gone)))
	c.log.Warn("leases lost; closing their instances", "count", len(gone), "reason", why, "first", gone[0])
	c.dropAll(gone)
}

// dropParallelism bounds the clients closed at once when many leases go
// together (a pause, a store outage): every one must close before its
// lease can expire in the store.
const dropParallelism = 64

// dropAll has the Driver stop driving the instances, in parallel.
func (c *Coordinator) dropAll(ids []string) {
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(dropParallelism, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				c.cfg.Driver.Drop(id)
			}
		}()
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
}

// acquire takes free leases up to this host's share; an instance free for a
// whole TTL (its hosts are at their caps, or the share is stale) is taken
// up to the cap.
func (c *Coordinator) acquire(ctx context.Context, v view) {
	c.mu.Lock()
	base := len(c.held)
	c.mu.Unlock()
	var (
		mu      sync.Mutex // guards adopt, pending
		adopt   []adoption // acquired this pass
		pending int        // acquisitions in flight
	)
	// room reserves a slot for id when this host may take it.
	room := func(id string) bool {
		mu.Lock()
		defer mu.Unlock()
		n := base + len(adopt) + pending
		c.mu.Lock()
		_, handedOff := c.released[id]
		longFree := v.now.Sub(c.freeSince[id]) >= c.cfg.TTL
		c.mu.Unlock()
		if handedOff || (n >= v.share && (!longFree || (c.cfg.MaxInstances > 0 && n >= c.cfg.MaxInstances))) {
			return false
		}
		pending++
		return true
	}
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(acquireParallelism, len(v.free)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				if ctx.Err() != nil || !room(id) {
					continue
				}
				prior, hadOwner := v.prior[id]
				takeover := hadOwner && prior.Owner != c.cfg.HostID
				ok := c.take(ctx, id, takeover)
				mu.Lock()
				pending--
				if ok {
					adopt = append(adopt, adoption{id, takeover})
				}
				mu.Unlock()
			}
		}()
	}
	for _, id := range v.free {
		work <- id
	}
	close(work)
	wg.Wait()
	c.adopt(ctx, adopt)
}

// acquireParallelism bounds the acquisitions in flight in one pass.
const acquireParallelism = 16

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
	ids := make([]string, len(give))
	for i, l := range give {
		ids[i] = l.InstanceID
	}
	c.dropAll(ids)
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
