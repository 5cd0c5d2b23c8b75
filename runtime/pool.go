package runtime

import (
	"context"
	"sync"
	"sync/atomic"
)

// PoolStats describes a module's instances.
type PoolStats struct {
	// Size is the bound on instances (Config.PoolSize).
	Size int
	// Live is the number of open instances, idle or busy.
	Live int64
	// Idle is the number of instances waiting for a call.
	Idle int
	// Created counts instances created, the load-time one included.
	Created uint64
	// Discarded counts instances closed after a fault.
	Discarded uint64
	// Recycled counts healthy instances closed after Config.RecycleAfterCalls
	// calls or once their memory passed Config.RecycleAboveBytes.
	Recycled uint64
}

// pool is a bounded set of instances of one module. A token in tokens is the
// right to hold one instance, idle or busy, so at most cap(tokens)
// instances exist at any time. A checked-out instance also holds a slot of
// exec, the engine-wide bound on guest code running at once.
type pool struct {
	mu     sync.Mutex // guards idle, all, closed
	warmMu sync.Mutex // one warm at a time: the next finds the instance the first made
	idle   []*instance
	all    map[*instance]struct{} // every open instance, idle or busy
	closed bool

	tokens       chan struct{}
	exec         chan struct{}
	create       func(context.Context) (*instance, error)
	recycleCalls uint64
	recycleBytes uint64

	onTake func() // test hook, called when a caller gets an instance
	onWait func() // test hook, called when a caller starts waiting

	live      atomic.Int64
	created   atomic.Uint64
	discarded atomic.Uint64
	recycled  atomic.Uint64
}

func newPool(size int, exec chan struct{}, recycleCalls, recycleBytes uint64, create func(context.Context) (*instance, error)) *pool {
	return &pool{
		all:          make(map[*instance]struct{}, size),
		tokens:       make(chan struct{}, size),
		exec:         exec,
		create:       create,
		recycleCalls: recycleCalls,
		recycleBytes: recycleBytes,
	}
}

// get returns an idle instance, or creates one under ctx if the pool is
// below its bound. It waits until waitCtx ends for an instance to be
// returned and then for an engine execution slot. It fails with
// errPoolClosed once the pool is closed, with waitCtx's error when the wait
// ends, and with the creation error otherwise.
func (p *pool) get(waitCtx, ctx context.Context) (*instance, error) {
	if err := waitCtx.Err(); err != nil {
		return nil, err
	}
	if err := p.acquire(waitCtx, p.tokens); err != nil {
		return nil, err
	}
	if err := p.acquire(waitCtx, p.exec); err != nil {
		<-p.tokens
		return nil, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.release()
		return nil, errPoolClosed
	}
	if n := len(p.idle); n > 0 {
		inst := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		p.taken()
		return inst, nil
	}
	p.mu.Unlock()
	return p.createTaken(ctx)
}

// tryGet is get without waiting: it returns nil and no error when the
// pool is at its bound or every execution slot is busy. It creates an
// instance under a background context bounded by the instantiation
// timeout, as get does, when none is idle.
func (p *pool) tryGet() (*instance, error) {
	select {
	case p.tokens <- struct{}{}:
	default:
		return nil, nil
	}
	select {
	case p.exec <- struct{}{}:
	default:
		<-p.tokens
		return nil, nil
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.release()
		return nil, errPoolClosed
	}
	if n := len(p.idle); n > 0 {
		inst := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		p.taken()
		return inst, nil
	}
	p.mu.Unlock()
	return p.createTaken(context.Background())
}

// createTaken creates an instance for a caller that holds a token and an
// execution slot, and gives both back if it fails.
func (p *pool) createTaken(ctx context.Context) (*instance, error) {
	inst, err := p.create(ctx)
	if err != nil {
		p.release()
		return nil, err
	}
	p.mu.Lock()
	p.all[inst] = struct{}{}
	closed := p.closed
	p.mu.Unlock()
	if closed { // Module.Close ran while it was created
		inst.guard.interrupt(stoppedClosed)
	}
	p.created.Add(1)
	p.live.Add(1)
	p.taken()
	return inst, nil
}

// acquire takes a slot of sem, waiting until waitCtx ends.
func (p *pool) acquire(waitCtx context.Context, sem chan struct{}) error {
	select {
	case sem <- struct{}{}:
		return nil
	default:
	}
	if p.onWait != nil {
		p.onWait()
	}
	select {
	case sem <- struct{}{}:
		return nil
	case <-waitCtx.Done():
		return waitCtx.Err()
	}
}

// release gives back the execution slot and the pool token of one
// checked-out instance.
func (p *pool) release() {
	<-p.exec
	<-p.tokens
}

// put returns inst to the pool after a call. An unhealthy instance is
// discarded; a healthy one is recycled when it has served enough calls or
// its memory has grown past the recycle size.
func (p *pool) put(inst *instance, healthy bool) {
	keep := healthy
	switch {
	case !healthy:
		p.discarded.Add(1)
	case inst.calls >= p.recycleCalls || inst.mod.IsClosed() ||
		uint64(inst.mod.Memory().Size()) > p.recycleBytes:
		keep = false
		p.recycled.Add(1)
	}
	p.mu.Lock()
	if keep && !p.closed {
		p.idle = append(p.idle, inst)
		inst = nil
	}
	p.mu.Unlock()
	if inst != nil {
		p.closeInstance(inst)
	}
	p.release()
}

// warm creates one idle instance when the pool has none idle, without
// taking an execution slot: a module about to replace another is made
// ready while the one it replaces keeps deciding, so the first decisions
// after a swap do not queue behind its wake-up and instantiation; and a
// host with sessions keeps its module ready (Slot.Warm).
func (p *pool) warm(ctx context.Context) error {
	p.warmMu.Lock()
	defer p.warmMu.Unlock()
	select {
	case p.tokens <- struct{}{}:
	default:
		return nil // every instance it may hold exists
	}
	defer func() { <-p.tokens }()
	p.mu.Lock()
	ready := p.closed || len(p.idle) > 0
	p.mu.Unlock()
	if ready {
		return nil
	}
	inst, err := p.create(ctx)
	if err != nil {
		return err
	}
	p.created.Add(1)
	p.live.Add(1)
	p.mu.Lock()
	p.all[inst] = struct{}{}
	closed := p.closed
	if !closed {
		p.idle = append(p.idle, inst)
	}
	p.mu.Unlock()
	if closed {
		p.closeInstance(inst)
	}
	return nil
}

func (p *pool) taken() {
	if p.onTake != nil {
		p.onTake()
	}
}

// trim closes the idle instances, keeping the pool usable. A module kept
// as last-known-good holds no instances until it is needed again.
func (p *pool) trim() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, inst := range idle {
		p.closeInstance(inst)
	}
}

// close closes the idle instances, stops the calls in progress and makes
// get fail from now on. Instances in use are closed when they are put
// back.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	busy := make([]*instance, 0, len(p.all))
	for inst := range p.all {
		busy = append(busy, inst)
	}
	p.mu.Unlock()
	for _, inst := range busy {
		inst.guard.interrupt(stoppedClosed)
	}
	p.trim()
}

func (p *pool) closeInstance(inst *instance) {
	p.mu.Lock()
	delete(p.all, inst)
	p.mu.Unlock()
	inst.close()
	p.live.Add(-1)
}

func (p *pool) stats() PoolStats {
	p.mu.Lock()
	idle := len(p.idle)
	p.mu.Unlock()
	return PoolStats{
		Size:      cap(p.tokens),
		Live:      p.live.Load(),
		Idle:      idle,
		Created:   p.created.Load(),
		Discarded: p.discarded.Load(),
		Recycled:  p.recycled.Load(),
	}
}
