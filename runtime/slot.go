package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrNoModule is returned by Slot.Decide before the first Swap.
	ErrNoModule = errors.New("no policy module loaded")
	// ErrSlotClosed is returned by Slot.Swap after Slot.Close.
	ErrSlotClosed = errors.New("policy slot is closed")
)

// maxClosedRetries bounds how often Slot.Decide moves on to a newer
// generation when the one it picked was retired under it.
const maxClosedRetries = 8

// SlotConfig configures a Slot. The zero value is usable.
type SlotConfig struct {
	// Breaker sets when the current module is given up on.
	Breaker BreakerConfig
	// OnEvent, if set, is called for every swap, breaker trip, revert and
	// close of a retired module, after the slot's state has changed and
	// outside its locks. It runs on the goroutine that caused the event (a
	// Decide or Swap caller) and should return quickly.
	OnEvent func(Event)
	// Logger records the same events. Default slog.Default().
	Logger *slog.Logger
	// Clock is the time source of the breaker. Default time.Now.
	Clock func() time.Time
}

// Slot holds the generations of one policy: the current module, which
// serves Decide, and the last-known-good module, kept to revert to. It is
// safe for concurrent use.
//
// Swap makes a new module current atomically. Calls already running on the
// previous generation finish there; a generation that leaves the slot is
// closed once its last call has returned, exactly once. When the current
// module's faults trip the breaker, the slot reverts to the last-known-good
// module, or, without one, fails calls fast for a cooldown. Every such
// change is reported through SlotConfig.OnEvent, the logger and Stats.
type Slot struct {
	mu       sync.Mutex // guards lkg, closed, retiring, gens and the counters below
	lkg      *generation
	closed   bool
	retiring map[*Module]struct{}
	gens     uint64
	swaps    uint64
	reverts  uint64
	trips    uint64
	retired  uint64
	finished uint64

	cur    atomic.Pointer[generation]
	cfg    SlotConfig
	faults map[FaultKind]*atomic.Uint64 // fixed set of keys, read-only map
}

// generation is one module's tenure as the slot's current module.
type generation struct {
	m         *Module
	num       uint64
	brk       breaker // guarded by Slot.mu
	tripped   bool    // guarded by Slot.mu; set once the breaker has tripped
	openUntil atomic.Int64
}

// NewSlot returns an empty slot; Decide fails with ErrNoModule until Swap.
func NewSlot(cfg SlotConfig) *Slot {
	cfg.Breaker = cfg.Breaker.withDefaults()
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	s := &Slot{
		retiring: make(map[*Module]struct{}),
		cfg:      cfg,
		faults:   make(map[FaultKind]*atomic.Uint64, len(kindSentinels)),
	}
	for k := range kindSentinels {
		s.faults[k] = new(atomic.Uint64)
	}
	return s
}

// Decide runs one decision on the current module; see Module.Decide. It
// fails with ErrNoModule before the first Swap and with a KindUnhealthy
// fault while the breaker holds calls back.
func (s *Slot) Decide(ctx context.Context, input []byte) ([]byte, error) {
	out, _, err := s.DecideRef(ctx, input)
	return out, err
}

// DecideRef is Decide that also names the module that answered (or
// failed), for a decision's record: after a swap or a revert it is not
// necessarily the module that was current when the call began.
func (s *Slot) DecideRef(ctx context.Context, input []byte) ([]byte, ModuleRef, error) {
	for attempt := 0; ; attempt++ {
		g := s.cur.Load()
		if g == nil {
			return nil, ModuleRef{}, ErrNoModule
		}
		ref := refOf(g.m)
		ref.Generation = g.num
		if until := g.openUntil.Load(); until != 0 && s.cfg.Clock().UnixNano() < until {
			f := &Fault{Kind: KindUnhealthy, Module: g.m.name, SHA256: g.m.sha,
				Err: fmt.Errorf("breaker open until %s", time.Unix(0, until).UTC().Format(time.RFC3339))}
			s.faults[KindUnhealthy].Add(1)
			return nil, ref, f
		}
		out, err := g.m.Decide(ctx, input)
		if err == nil {
			return out, ref, nil
		}
		var f *Fault
		if !errors.As(err, &f) {
			return nil, ref, err
		}
		if f.Kind == KindClosed && s.cur.Load() != g && attempt < maxClosedRetries {
			continue // retired under us: the new generation serves this call
		}
		s.faults[f.Kind].Add(1)
		if f.Kind.ModuleAtFault() {
			s.recordFault(g, f)
		}
		return nil, ref, err
	}
}

// Warm readies the current module for its next decision: it wakes the
// module from hibernation and creates an idle instance, unless one is
// idle already or the pool holds all it may. A host that runs sessions
// warms its policy, so that the first disconnect, and every disconnect
// of a storm, does not wait for the module to be compiled from the cache
// again and instantiated. Without a module it fails with ErrNoModule.
func (s *Slot) Warm(ctx context.Context) error {
	g := s.cur.Load()
	if g == nil {
		return ErrNoModule
	}
	if !g.m.enter() {
		return nil // retired: the module replacing it was warmed by Swap
	}
	defer g.m.leave()
	return g.m.pool.warm(ctx)
}

// Swap makes m the current module and returns its generation number. The
// previous current module becomes the last-known-good one, unless its
// breaker has tripped; the module it displaces is closed once drained. The
// slot owns m from now on; on error the caller still does.
func (s *Slot) Swap(m *Module) (uint64, error) {
	if m == nil {
		return 0, errors.New("swapping policy: nil module")
	}
	if m.isClosing() {
		return 0, fmt.Errorf("swapping policy %s: %w", m.name, errModuleClosed)
	}
	// Replacing a live module: build the new one fully first, so that the
	// decisions right after the swap find an instance ready. A failure
	// here is left to the first decision, which creates on demand.
	if s.cur.Load() != nil && m.enter() {
		_ = m.pool.warm(context.Background())
		m.leave()
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, ErrSlotClosed
	}
	old := s.cur.Load()
	if (old != nil && old.m == m) || (s.lkg != nil && s.lkg.m == m) {
		s.mu.Unlock()
		return 0, fmt.Errorf("swapping policy %s: module already in the slot", m.name)
	}
	s.gens++
	g := &generation{m: m, num: s.gens, brk: newBreaker(s.cfg.Breaker)}
	var retire []*Module
	var demoted *Module
	if old != nil {
		if old.tripped {
			retire = append(retire, old.m)
		} else {
			if s.lkg != nil {
				retire = append(retire, s.lkg.m)
			}
			s.lkg, demoted = old, old.m
		}
	}
	s.cur.Store(g)
	s.swaps++
	s.trackLocked(retire...)
	ev := Event{Kind: EventSwap, Time: s.cfg.Clock(), Generation: g.num, Module: refOf(m), Current: refOf(m)}
	if old != nil {
		ev.Previous = refOf(old.m)
	}
	s.mu.Unlock()

	m.addCloseHook(func() { s.moduleClosed(m) })
	s.emit(ev)
	if demoted != nil {
		demoted.idle()
	}
	for _, r := range retire {
		r.retire()
	}
	return g.num, nil
}

// recordFault feeds a fault of g's module to its breaker and acts on a trip.
func (s *Slot) recordFault(g *generation, f *Fault) {
	s.mu.Lock()
	if s.closed || s.cur.Load() != g {
		s.mu.Unlock()
		return
	}
	now := s.cfg.Clock()
	if !g.brk.record(now) {
		s.mu.Unlock()
		return
	}
	s.trips++
	g.tripped = true
	ev := Event{Time: now, Module: refOf(g.m), Current: refOf(g.m), Err: f}
	var retire *Module
	if next := s.lkg; next != nil {
		s.lkg = nil
		s.gens++
		next.num = s.gens
		next.brk.reset()
		s.cur.Store(next)
		s.reverts++
		retire = g.m
		s.trackLocked(retire)
		ev.Kind, ev.Generation, ev.Current = EventRevert, next.num, refOf(next.m)
	} else {
		g.openUntil.Store(now.Add(s.cfg.Breaker.Cooldown).UnixNano())
		ev.Kind, ev.Generation = EventUnhealthy, g.num
	}
	s.mu.Unlock()

	s.emit(ev)
	if retire != nil {
		retire.retire()
	}
}

// trackLocked counts modules leaving the slot; they are closed once drained.
func (s *Slot) trackLocked(mods ...*Module) {
	for _, m := range mods {
		s.retiring[m] = struct{}{}
		s.retired++
	}
}

// moduleClosed is the close hook of every module that entered the slot.
func (s *Slot) moduleClosed(m *Module) {
	s.mu.Lock()
	delete(s.retiring, m)
	s.finished++
	s.mu.Unlock()
	s.emit(Event{Kind: EventClosed, Time: s.cfg.Clock(), Module: refOf(m)})
}

// Close empties the slot and closes its modules, waiting for calls in
// progress as Module.Close does. Decide fails with ErrNoModule afterwards.
// Close is idempotent.
func (s *Slot) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	if g := s.cur.Swap(nil); g != nil {
		s.trackLocked(g.m)
	}
	if s.lkg != nil {
		s.trackLocked(s.lkg.m)
		s.lkg = nil
	}
	mods := make([]*Module, 0, len(s.retiring))
	for m := range s.retiring {
		mods = append(mods, m)
	}
	s.mu.Unlock()
	var errs []error
	for _, m := range mods {
		errs = append(errs, m.Close(ctx))
	}
	return errors.Join(errs...)
}
