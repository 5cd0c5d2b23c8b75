package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/wahost/wahost/abi"
)

// ErrEngineClosed is returned by Engine.Load after Engine.Close.
var ErrEngineClosed = errors.New("policy engine is closed")

// Engine compiles and loads policy modules. It holds one wazero
// configuration and one compilation cache shared by every module it loads.
// It is safe for concurrent use.
type Engine struct {
	mu     sync.Mutex // guards live, closed
	live   map[*Module]struct{}
	closed bool

	cfg      Config
	exec     chan struct{} // slots for guest code running at once
	cache    wazero.CompilationCache
	rtConfig wazero.RuntimeConfig

	loaded   atomic.Uint64
	rejected atomic.Uint64
}

// EngineStats counts an engine's loads.
type EngineStats struct {
	// Loaded counts modules that passed validation.
	Loaded uint64
	// Rejected counts modules that failed it.
	Rejected uint64
	// Live is the number of loaded modules not yet closed.
	Live int
}

// LoadOptions are the per-module inputs of Engine.Load.
type LoadOptions struct {
	// SelfTestInput is a canonical input document. Load runs one decision
	// on it and rejects the module unless the decision is valid. Required.
	SelfTestInput []byte
	// Validate checks every decision the module returns; a decision it
	// rejects is a KindInvalidOutput fault. It must be safe for concurrent
	// use. Default: the output must be a JSON document.
	Validate func(out []byte) error
	// Input, if set, gives every input document, the self-test's included,
	// the form a module of the given ABI minor version receives (see
	// abi.InputForMinor); the runtime itself does not interpret documents.
	// It must be safe for concurrent use and must not modify input.
	Input func(minor uint16, input []byte) []byte
}

// NewEngine returns an engine configured by cfg. With cfg.CacheDir set the
// compilation cache persists in that directory, which is created if needed.
func NewEngine(ctx context.Context, cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	cache := wazero.NewCompilationCache()
	if cfg.CacheDir != "" {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("opening compilation cache %s: %w", cfg.CacheDir, err)
		}
	}
	// The memory cap is enforced by limitedMemory, not WithMemoryLimitPages,
	// so that refusals are observable. NewRuntimeConfig picks the compiler
	// on amd64 and arm64, the interpreter elsewhere. Calls are bounded by
	// fuel (see meter and guard), not WithCloseOnContextDone, whose check
	// at every loop back-edge exits to Go and costs 3-5x on loop-heavy
	// guest code.
	rc := wazero.NewRuntimeConfig().WithCompilationCache(cache)
	return &Engine{
		live:     make(map[*Module]struct{}),
		cfg:      cfg,
		exec:     make(chan struct{}, cfg.MaxConcurrentCalls),
		cache:    cache,
		rtConfig: rc,
	}, nil
}

// Load compiles wasm and validates it: imports, exports and signatures, the
// first instance and its _initialize, the ABI version, and a self-test
// decision on opts.SelfTestInput. It returns a module ready for Decide, or a
// *LoadError naming the stage that rejected it. name labels the module in
// errors, logs and stats.
func (e *Engine) Load(ctx context.Context, name string, wasm []byte, opts LoadOptions) (*Module, error) {
	if opts.SelfTestInput == nil {
		return nil, fmt.Errorf("loading policy %s: LoadOptions.SelfTestInput is required", name)
	}
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, ErrEngineClosed
	}
	sum := sha256.Sum256(wasm)
	m := &Module{
		done:     make(chan struct{}),
		name:     name,
		sha:      hex.EncodeToString(sum[:]),
		size:     len(wasm),
		cfg:      e.cfg,
		validate: opts.Validate,
		adapt:    opts.Input,
		rt:       wazero.NewRuntimeWithConfig(ctx, e.rtConfig),
		rtConfig: e.rtConfig,
		faults:   make(map[FaultKind]*atomic.Uint64, len(kindSentinels)),
	}
	for k := range kindSentinels {
		m.faults[k] = new(atomic.Uint64)
	}
	if m.validate == nil {
		m.validate = validJSON
	}
	logger := e.cfg.Logger.With(slog.String("policy", name), slog.String("sha256", shortHash(m.sha)))
	m.log = newGuestLog(logger, e.cfg.GuestLogRate, e.cfg.GuestLogBurst, e.cfg.Clock)
	m.pool = newPool(e.cfg.PoolSize, e.exec, e.cfg.RecycleAfterCalls, e.cfg.RecycleAboveBytes, m.newInstance)

	if stage, err := m.validateLoad(ctx, wasm, opts.SelfTestInput); err != nil {
		m.finalClose()
		e.rejected.Add(1)
		return nil, &LoadError{Module: name, Stage: stage, Err: err}
	}
	m.loadedAt = e.cfg.Clock()
	// Instances are created on demand, and the code compiled again from
	// the cache when needed: a module may decide rarely (a disconnect),
	// and an idle Go guest holds megabytes.
	m.idle()
	// Compiling a large module leaves tens of megabytes of garbage, which
	// the Go runtime would otherwise hand back to the system only
	// gradually: return it now, once per load, off the caller's path.
	go debug.FreeOSMemory()

	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		m.finalClose()
		return nil, ErrEngineClosed
	}
	e.live[m] = struct{}{}
	e.mu.Unlock()
	m.addCloseHook(func() {
		e.mu.Lock()
		delete(e.live, m)
		e.mu.Unlock()
	})
	e.loaded.Add(1)
	return m, nil
}

// validateLoad runs the load stages in order, leaving the self-tested
// instance idle in the pool (Load then closes it).
func (m *Module) validateLoad(ctx context.Context, wasm, selfTest []byte) (Stage, error) {
	if err := precheck(wasm); err != nil {
		return StageCompile, err
	}
	if !m.cfg.Unmetered {
		metered, err := meter(wasm)
		if err != nil {
			return StageCompile, fmt.Errorf("adding fuel checks: %w", err)
		}
		wasm = metered
	}
	var err error
	if m.compiled, err = m.rt.CompileModule(ctx, wasm); err != nil {
		return StageCompile, err
	}
	if m.cfg.CacheDir != "" {
		m.code = wasm
	}
	if err = m.linkImports(ctx); err != nil {
		return StageImports, err
	}
	if m.hasInit, err = checkExports(m.compiled, m.cfg.MemoryLimitPages); err != nil {
		return StageExports, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, m.cfg.InstantiateTimeout)
	inst, err := m.pool.get(waitCtx, ctx)
	cancel()
	if err != nil {
		if se, ok := errors.AsType[*stageError](err); ok {
			return se.stage, m.count(se.fault)
		}
		return StageInstantiate, m.count(m.getFault(ctx, err))
	}
	if err := m.checkVersion(ctx, inst); err != nil {
		m.pool.put(inst, false)
		return StageABIVersion, err
	}
	_, f := m.run(ctx, inst, m.input(selfTest))
	m.pool.put(inst, f == nil || f.Kind == KindGuestError)
	if f != nil {
		return StageSelfTest, m.count(f)
	}
	return "", nil
}

// checkVersion calls wahost_abi_version and accepts the same major and a
// minor no newer than the host's.
func (m *Module) checkVersion(ctx context.Context, inst *instance) error {
	refused := inst.mem.refused
	inst.guard.begin(ctx, m.fuelFor(m.cfg.CallTimeout), m.cfg.CallTimeout)
	res, err := inst.mod.ExportedFunction(abi.ExportABIVersion).Call(ctx)
	stopped, spent := inst.guard.end()
	if err != nil {
		return m.count(m.classify(ctx, inst, refused, stopped, spent, err))
	}
	m.version = uint32(res[0])
	major, minor := m.version>>16, m.version&0xffff
	if major != abi.Major || minor > abi.Minor {
		return fmt.Errorf("module implements ABI %d.%d, host implements %d.%d (same major, minor up to %d)",
			major, minor, abi.Major, abi.Minor, abi.Minor)
	}
	return nil
}

// Stats returns the engine's load counters.
func (e *Engine) Stats() EngineStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return EngineStats{Loaded: e.loaded.Load(), Rejected: e.rejected.Load(), Live: len(e.live)}
}

// Close closes every module still open (see Module.Close for how ctx
// bounds the wait) and then the compilation cache. Load fails afterwards.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	e.closed = true
	mods := make([]*Module, 0, len(e.live))
	for m := range e.live {
		mods = append(mods, m)
	}
	e.mu.Unlock()
	var errs []error
	for _, m := range mods {
		errs = append(errs, m.Close(ctx))
	}
	if err := e.cache.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("closing compilation cache: %w", err))
	}
	return errors.Join(errs...)
}

// validJSON is the default LoadOptions.Validate.
func validJSON(out []byte) error {
	if !json.Valid(out) {
		return errors.New("output is not a JSON document")
	}
	return nil
}
