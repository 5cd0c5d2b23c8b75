package runtime

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
)

var (
	errModuleClosed = errors.New("module is closed")
	errPoolClosed   = errors.New("instance pool is closed")
)

// Module is a loaded, validated policy module with its pool of instances.
// It is safe for concurrent use. Close it when it is no longer needed,
// unless a Slot owns it.
type Module struct {
	mu       sync.Mutex // guards closing, inflight, onClose
	closing  bool
	inflight int
	onClose  []func()

	closeOnce sync.Once
	done      chan struct{} // closed once the module's runtime is closed
	rtClosed  atomic.Bool   // set when the runtime starts closing

	name     string
	sha      string
	size     int
	version  uint32
	loadedAt time.Time
	cfg      Config
	hasInit  bool
	validate func([]byte) error
	adapt    func(uint16, []byte) []byte

	codeMu    sync.Mutex // guards rt, compiled, instances
	rt        wazero.Runtime
	compiled  wazero.CompiledModule
	instances int                  // open instances, which keep rt open
	rtConfig  wazero.RuntimeConfig // to wake from hibernation
	code      []byte               // the bytes compiled, kept to wake; nil: never hibernates
	log       *guestLog
	pool      *pool

	calls  atomic.Uint64
	faults map[FaultKind]*atomic.Uint64 // fixed set of keys, read-only map
}

// ModuleInfo describes a loaded module.
type ModuleInfo struct {
	// Name is the name passed to Engine.Load.
	Name string
	// SHA256 is the hex digest of the module's bytes.
	SHA256 string
	// Size is the length of the module's bytes.
	Size int
	// ABIMajor and ABIMinor are the version the module reported.
	ABIMajor, ABIMinor uint16
	// LoadedAt is when validation finished.
	LoadedAt time.Time
	// Closed reports whether the module is closing or closed.
	Closed bool
	// InFlight is the number of Decide calls in progress.
	InFlight int
	// Calls counts decision calls into guest code, the self-test included.
	Calls uint64
	// Faults counts failed decisions by kind; kinds never seen are absent.
	Faults map[FaultKind]uint64
	// Pool describes the module's instances.
	Pool PoolStats
	// GuestLogDropped counts guest log lines dropped by the rate limit.
	GuestLogDropped uint64
}

// Decide runs one decision: input is the input document, the result the
// decision document, checked by LoadOptions.Validate. Any error is a
// *Fault (use errors.As or errors.Is with the Err* sentinels), except for
// an input too large for Config.MemoryLimitPages; in every case the caller
// should make its fallback decision.
func (m *Module) Decide(ctx context.Context, input []byte) ([]byte, error) {
	if uint64(len(input)) > uint64(m.cfg.MemoryLimitPages)*pageSize || len(input) > math.MaxInt32 {
		return nil, fmt.Errorf("deciding: input of %d bytes does not fit the memory limit", len(input))
	}
	if err := ctx.Err(); err != nil {
		return nil, m.count(m.newFault(KindCanceled, fmt.Errorf("deciding: %w", err)))
	}
	if !m.enter() {
		return nil, m.count(m.newFault(KindClosed, errModuleClosed))
	}
	inst, err := m.pool.tryGet()
	if inst == nil && err == nil {
		waitCtx, cancel := context.WithTimeout(ctx, m.cfg.CallTimeout)
		inst, err = m.pool.get(waitCtx, ctx)
		cancel()
	}
	if err != nil {
		m.leave()
		return nil, m.count(m.getFault(ctx, err))
	}
	out, f := m.run(ctx, inst, m.input(input))
	m.pool.put(inst, f == nil || f.Kind == KindGuestError)
	m.leave()
	if f != nil {
		return nil, m.count(f)
	}
	return out, nil
}

// input is the caller's input as this module's ABI version receives it.
func (m *Module) input(in []byte) []byte {
	if m.adapt == nil {
		return in
	}
	return m.adapt(uint16(m.version), in)
}

// getFault converts a failure to get an instance into a Fault.
func (m *Module) getFault(ctx context.Context, err error) *Fault {
	var se *stageError
	switch {
	case errors.As(err, &se):
		return se.fault
	case errors.Is(err, errPoolClosed):
		return m.newFault(KindClosed, err)
	case ctx.Err() != nil:
		return m.newFault(KindCanceled, fmt.Errorf("waiting for an instance: %w", ctx.Err()))
	default:
		return m.newFault(KindBusy, fmt.Errorf("no instance free within %v", m.cfg.CallTimeout))
	}
}

// Name returns the name the module was loaded under.
func (m *Module) Name() string { return m.name }

// SHA256 returns the hex digest of the module's bytes.
func (m *Module) SHA256() string { return m.sha }

// Info returns the module's identity and counters.
func (m *Module) Info() ModuleInfo {
	m.mu.Lock()
	closing, inflight := m.closing, m.inflight
	m.mu.Unlock()
	faults := make(map[FaultKind]uint64)
	for k, c := range m.faults {
		if n := c.Load(); n > 0 {
			faults[k] = n
		}
	}
	return ModuleInfo{
		Name:            m.name,
		SHA256:          m.sha,
		Size:            m.size,
		ABIMajor:        uint16(m.version >> 16),
		ABIMinor:        uint16(m.version),
		LoadedAt:        m.loadedAt,
		Closed:          closing,
		InFlight:        inflight,
		Calls:           m.calls.Load(),
		Faults:          faults,
		Pool:            m.pool.stats(),
		GuestLogDropped: m.log.total.Load(),
	}
}

// Close stops new calls, waits for calls in progress to finish and closes
// every instance. If ctx ends first, calls in progress are interrupted
// (they fail with KindClosed) and ctx's error is returned. Close is
// idempotent and safe to call concurrently.
func (m *Module) Close(ctx context.Context) error {
	m.retire()
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
		m.finalClose()
		return fmt.Errorf("closing policy %s: interrupted calls in progress: %w", m.name, ctx.Err())
	}
}

// Done returns a channel closed once the module is fully closed.
func (m *Module) Done() <-chan struct{} { return m.done }

// isClosing reports whether Close or retire has begun.
func (m *Module) isClosing() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closing
}

// enter registers a call; it fails once the module is closing.
func (m *Module) enter() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return false
	}
	m.inflight++
	return true
}

// leave ends a call; the last call out of a closing module closes it.
func (m *Module) leave() {
	m.mu.Lock()
	m.inflight--
	last := m.closing && m.inflight == 0
	m.mu.Unlock()
	if last {
		m.finalClose()
	}
}

// retire stops new calls without waiting: the module closes as soon as the
// calls in progress have finished, on the goroutine of the last one.
func (m *Module) retire() {
	m.mu.Lock()
	if m.closing {
		m.mu.Unlock()
		return
	}
	m.closing = true
	idle := m.inflight == 0
	m.mu.Unlock()
	if idle {
		m.finalClose()
	}
}

// addCloseHook registers fn to run once the module is closed, or runs it
// now if it already is.
func (m *Module) addCloseHook(fn func()) {
	m.mu.Lock()
	select {
	case <-m.done:
		m.mu.Unlock()
		fn()
		return
	default:
	}
	m.onClose = append(m.onClose, fn)
	m.mu.Unlock()
}

// finalClose closes the pool and the runtime, exactly once, then runs the
// close hooks.
func (m *Module) finalClose() {
	m.closeOnce.Do(func() {
		m.rtClosed.Store(true)
		m.pool.close()
		m.closeRuntime()
		m.mu.Lock()
		m.closing = true
		hooks := m.onClose
		m.onClose = nil
		close(m.done)
		m.mu.Unlock()
		for _, fn := range hooks {
			fn()
		}
	})
}
