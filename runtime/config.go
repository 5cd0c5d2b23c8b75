package runtime

import (
	"log/slog"
	goruntime "runtime"
	"time"
)

// Defaults applied by NewEngine to zero fields of Config.
const (
	DefaultPoolSize           = 4
	DefaultCallTimeout        = 500 * time.Millisecond
	DefaultInstantiateTimeout = 5 * time.Second
	DefaultMemoryLimitPages   = 512 // 32 MiB
	DefaultRecycleAfterCalls  = 10_000
	DefaultRecycleAboveBytes  = 16 << 20
	DefaultGuestLogRate       = 10
	DefaultGuestLogBurst      = 50
	// DefaultFuelPerMillisecond is the fuel a call gets per millisecond of
	// CallTimeout. One unit is about one WebAssembly instruction.
	DefaultFuelPerMillisecond = 1_000_000
)

// Config configures an Engine. The zero value is usable: every zero field
// takes its documented default.
type Config struct {
	// CacheDir, if set, persists compiled code on disk so that a restarted
	// process loads a known module in milliseconds instead of recompiling
	// it. Entries live under a subdirectory per wazero version (in `go test`
	// binaries that version is "dev"); old version directories are never
	// pruned. The directory must not be writable by anyone else. Without it
	// compiled code is still shared in memory across the engine's loads.
	CacheDir string

	// PoolSize bounds the instances per module, and therefore the
	// concurrent calls into one module; more callers wait for an instance.
	// Instances are created on demand: the one Load validates with is
	// closed once the module passed, so an idle module holds none.
	// Default 4.
	PoolSize int

	// CallTimeout bounds one decision, guest code included; a call past it
	// is stopped and reported as KindTimeout. It should be in the hundreds
	// of milliseconds: GC and scheduler stalls on small machines make
	// microsecond decisions take tens of milliseconds now and then.
	// Default 500ms.
	CallTimeout time.Duration

	// FuelPerMillisecond sets each call's fuel budget: CallTimeout in
	// milliseconds times this. Guest code is rewritten at load so that
	// every function entry and loop header charges the instructions it
	// guards; a call that spends its budget traps and is reported as
	// KindTimeout, deterministically: the same input stops at the same
	// instruction on any machine. The deadline stays as a backstop for
	// what fuel does not count. Default DefaultFuelPerMillisecond.
	FuelPerMillisecond int64

	// Unmetered loads modules as they are, without fuel checks and without
	// any other way to stop guest code: a module that loops hangs its
	// caller for good. It exists only to measure what the termination
	// guarantee costs (wahost policy bench, the benchmarks); never set it
	// for modules you do not control.
	Unmetered bool

	// MaxConcurrentCalls bounds the instances checked out at once across
	// every module of the engine, and so the guest code running at once:
	// while it runs, guest code holds an operating-system thread and a Go
	// processor. The default, GOMAXPROCS-1 (at least 1), keeps a processor
	// for the rest of the host even when every slot is busy.
	MaxConcurrentCalls int

	// InstantiateTimeout bounds creating an instance, _initialize included
	// (a Go guest needs 5-10 ms). Default 5s.
	InstantiateTimeout time.Duration

	// MemoryLimitPages caps each instance's linear memory, in 64 KiB pages.
	// A module whose initial memory is larger is rejected at load; growth
	// past the cap is refused, and a guest that traps after a refusal is
	// reported as KindMemory. Default 512 (32 MiB).
	MemoryLimitPages uint32

	// RecycleAfterCalls retires an instance after this many calls, and
	// RecycleAboveBytes retires one whose memory has grown past this size
	// (guest memory never shrinks). Defaults 10000 calls and 16 MiB.
	RecycleAfterCalls uint64
	RecycleAboveBytes uint64

	// Logger receives the engine's own messages and the guests' log lines
	// (wahost.log, WASI stdout and stderr). Default slog.Default().
	Logger *slog.Logger

	// GuestLogRate and GuestLogBurst limit each module's log lines with a
	// token bucket: GuestLogRate lines per second on average, bursts of up
	// to GuestLogBurst. Dropped lines are counted and reported with the
	// next line that passes. Defaults 10 lines/s and a burst of 50.
	GuestLogRate  float64
	GuestLogBurst int

	// Clock is the time source for load timestamps and log rate limiting.
	// Default time.Now.
	Clock func() time.Time
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.PoolSize <= 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.MaxConcurrentCalls <= 0 {
		c.MaxConcurrentCalls = max(1, goruntime.GOMAXPROCS(0)-1)
	}
	if c.FuelPerMillisecond <= 0 {
		c.FuelPerMillisecond = DefaultFuelPerMillisecond
	}
	if c.InstantiateTimeout <= 0 {
		c.InstantiateTimeout = DefaultInstantiateTimeout
	}
	if c.MemoryLimitPages == 0 {
		c.MemoryLimitPages = DefaultMemoryLimitPages
	}
	if c.MemoryLimitPages > maxPages {
		c.MemoryLimitPages = maxPages
	}
	if c.RecycleAfterCalls == 0 {
		c.RecycleAfterCalls = DefaultRecycleAfterCalls
	}
	if c.RecycleAboveBytes == 0 {
		c.RecycleAboveBytes = DefaultRecycleAboveBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.GuestLogRate <= 0 {
		c.GuestLogRate = DefaultGuestLogRate
	}
	if c.GuestLogBurst <= 0 {
		c.GuestLogBurst = DefaultGuestLogBurst
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c
}

// maxPages is the largest memory a 32-bit WebAssembly module can address.
const maxPages = 65536
