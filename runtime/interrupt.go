package runtime

import (
	"context"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// stopReason says why the host stopped a call from outside.
type stopReason uint8

const (
	notStopped stopReason = iota
	stoppedDeadline
	stoppedCanceled
	stoppedClosed
)

// guard bounds the calls on one instance. Fuel is the deterministic bound:
// each call starts with a budget, and the checks the metering pass put into
// the guest's code trap once it is spent. The deadline is the backstop for
// what fuel does not count (a bulk memory operation, a slow host function,
// a stalled machine): a timer that empties the fuel of a call that
// outlives it, so that the guest's next check traps. The caller's context
// and Module.Close stop a call the same way.
//
// The timer is not set and stopped around every call, which would cost
// more than a small decision: once armed it stays armed, and when it fires
// it either stops the call that outlived its deadline, or re-arms for the
// running call's deadline, or, with no call running, disarms.
//
// Storing into the fuel globals while guest code runs races with the
// guest's own updates of them, which are not Go code; a store the guest
// overwrites is lost, so stop repeats it until the call has returned.
type guard struct {
	fuel    api.MutableGlobal // nil for an unmetered module
	reserve api.MutableGlobal

	mu       sync.Mutex // guards the fields below and stores into fuel while running
	running  bool
	seq      uint64
	deadline time.Time
	reason   stopReason
	armed    bool
	timer    *time.Timer
	afterCtx func() bool // unregisters the caller's context watch
}

// begin starts a call with the given fuel and deadline; end ends it.
func (g *guard) begin(ctx context.Context, fuel int64, timeout time.Duration) {
	if g.fuel == nil {
		return
	}
	g.mu.Lock()
	slice := min(fuel, fuelSlice)
	g.fuel.Set(api.EncodeI64(slice))
	g.reserve.Set(api.EncodeI64(fuel - slice))
	g.running = true
	g.seq++
	g.reason = notStopped
	g.deadline = time.Now().Add(timeout)
	if !g.armed {
		g.armed = true
		if g.timer == nil {
			g.timer = time.AfterFunc(timeout, g.onTimer)
		} else {
			g.timer.Reset(timeout)
		}
	}
	seq := g.seq
	g.mu.Unlock()
	if ctx.Done() != nil {
		g.afterCtx = context.AfterFunc(ctx, func() { g.stop(seq, stoppedCanceled) })
	}
}

// end ends the call begun last and returns why the host stopped it, if it
// did, and whether the call spent its fuel.
func (g *guard) end() (reason stopReason, spent bool) {
	if g.fuel == nil {
		return notStopped, false
	}
	if g.afterCtx != nil {
		g.afterCtx()
		g.afterCtx = nil
	}
	g.mu.Lock()
	g.running = false
	reason = g.reason
	g.mu.Unlock()
	return reason, int64(g.fuel.Get()) < 0 && int64(g.reserve.Get()) <= 0
}

// onTimer is the timer's function: it stops a call past its deadline,
// re-arms for the deadline of a call still within it, and disarms when no
// call runs.
func (g *guard) onTimer() {
	g.mu.Lock()
	if !g.running {
		g.armed = false
		g.mu.Unlock()
		return
	}
	if left := time.Until(g.deadline); left > 0 {
		g.timer.Reset(left)
		g.mu.Unlock()
		return
	}
	g.armed = false
	seq := g.seq
	g.mu.Unlock()
	g.stop(seq, stoppedDeadline)
}

// close stops the timer of an instance that is closing and drops the
// guard's references into the instance: a stopped timer can stay in the
// Go runtime's timer heap for a while, and through its function it would
// keep the instance, and the compiled code, from being collected.
func (g *guard) close() {
	g.mu.Lock()
	if g.timer != nil {
		g.timer.Stop()
	}
	g.armed = false
	g.fuel, g.reserve = nil, nil
	g.mu.Unlock()
}

// interrupt stops the call in progress, if any, for reason.
func (g *guard) interrupt(reason stopReason) {
	g.mu.Lock()
	seq := g.seq
	g.mu.Unlock()
	g.stop(seq, reason)
}

// stop empties the fuel and the reserve of call seq while it runs, until it has returned:
// the guest may overwrite a single store with its own update.
func (g *guard) stop(seq uint64, reason stopReason) {
	for i := 0; ; i++ {
		g.mu.Lock()
		if !g.running || g.seq != seq {
			g.mu.Unlock()
			return
		}
		if g.reason == notStopped {
			g.reason = reason
		}
		if g.fuel == nil {
			g.mu.Unlock()
			return
		}
		g.reserve.Set(api.EncodeI64(fuelStopped))
		g.fuel.Set(api.EncodeI64(fuelStopped))
		g.mu.Unlock()
		time.Sleep(time.Duration(min(i+1, 100)) * 10 * time.Microsecond)
	}
}
