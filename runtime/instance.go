package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
	"github.com/wahost/wahost/abi"
)

// maxGuestError is the longest policy error message kept in a Fault.
const maxGuestError = 512

// instance is one instantiation of a module. Only the goroutine that took it
// from the pool touches it, so its api.Functions are never shared.
type instance struct {
	mod    api.Module
	mem    *limitedMemory
	alloc  api.Function
	decide api.Function
	stack  [2]uint64
	calls  uint64
	stdout *lineWriter
	stderr *lineWriter
	guard  guard
	owner  *Module // told when the instance closes
}

// stageError is an instantiation failure, tagged with the load stage it
// belongs to.
type stageError struct {
	stage Stage
	fault *Fault
}

func (e *stageError) Error() string { return e.fault.Error() }
func (e *stageError) Unwrap() error { return e.fault }

// newInstance instantiates the module and runs its _initialize export.
func (m *Module) newInstance(ctx context.Context) (*instance, error) {
	inst := &instance{
		mem:    &limitedMemory{limit: uint64(m.cfg.MemoryLimitPages) * pageSize},
		stdout: &lineWriter{log: m.log, level: slog.LevelInfo, source: "stdout"},
		stderr: &lineWriter{log: m.log, level: slog.LevelWarn, source: "stderr"},
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.InstantiateTimeout)
	defer cancel()
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithStdout(inst.stdout).
		WithStderr(inst.stderr)
	m.codeMu.Lock()
	err := m.wakeLocked(ctx)
	var mod api.Module
	if err == nil {
		mod, err = m.rt.InstantiateModule(withLimitedMemory(ctx, inst.mem), m.compiled, cfg)
	}
	if err == nil {
		m.instances++
		inst.owner = m
	}
	m.codeMu.Unlock()
	if err != nil {
		return nil, &stageError{StageInstantiate, m.classify(ctx, inst, 0, notStopped, false, fmt.Errorf("instantiating: %w", err))}
	}
	inst.mod = mod
	if !m.cfg.Unmetered {
		fuel, ok1 := mod.ExportedGlobal(fuelExport).(api.MutableGlobal)
		reserve, ok2 := mod.ExportedGlobal(reserveExport).(api.MutableGlobal)
		if !ok1 || !ok2 {
			inst.close()
			return nil, &stageError{StageInstantiate, m.newFault(KindTrap, errors.New("instantiating: the fuel globals are missing"))}
		}
		inst.guard.fuel, inst.guard.reserve = fuel, reserve
	}
	if m.hasInit {
		refused := inst.mem.refused
		inst.guard.begin(ctx, m.fuelFor(m.cfg.InstantiateTimeout), m.cfg.InstantiateTimeout)
		_, err := mod.ExportedFunction(abi.ExportInitialize).Call(ctx)
		stopped, spent := inst.guard.end()
		if err != nil && !exitedOK(err, mod) {
			inst.close()
			return nil, &stageError{StageInitialize, m.classify(ctx, inst, refused, stopped, spent, fmt.Errorf("running %s: %w", abi.ExportInitialize, err))}
		}
	}
	inst.alloc = mod.ExportedFunction(abi.ExportAlloc)
	inst.decide = mod.ExportedFunction(abi.ExportDecide)
	return inst, nil
}

// exitedOK reports whether err is a WASI exit with code 0 that left the
// module open, which some toolchains' initializers do.
func exitedOK(err error, mod api.Module) bool {
	var exit *sys.ExitError
	return errors.As(err, &exit) && exit.ExitCode() == 0 && !mod.IsClosed()
}

// close flushes the instance's partial log lines and closes it.
func (inst *instance) close() {
	inst.guard.close()
	inst.stdout.flush()
	inst.stderr.flush()
	if inst.mod != nil {
		_ = inst.mod.Close(context.Background())
	}
	if inst.owner != nil {
		inst.owner.instanceClosed()
	}
	// The guard's timer may outlive the instance for a while (see
	// guard.close); keep nothing of wazero's reachable from it.
	inst.mod, inst.alloc, inst.decide, inst.owner = nil, nil, nil, nil
}

// run runs one decision on inst on the caller's goroutine, under the
// instance's guard: fuel for Config.CallTimeout, the deadline as the
// backstop, and the caller's context.
func (m *Module) run(ctx context.Context, inst *instance, input []byte) ([]byte, *Fault) {
	inst.guard.begin(ctx, m.fuelFor(m.cfg.CallTimeout), m.cfg.CallTimeout)
	out, f := m.call(ctx, inst, input)
	stopped, spent := inst.guard.end()
	switch {
	case f == nil:
		return out, nil
	case f.err != nil:
		return nil, m.classify(ctx, inst, f.refused, stopped, spent, f.err)
	}
	return nil, f.fault
}

// fuelFor is the fuel budget of a call bounded by timeout.
func (m *Module) fuelFor(timeout time.Duration) int64 {
	return max(1, timeout.Milliseconds()) * m.cfg.FuelPerMillisecond
}

// callFault is a call's failure: a fault already classified, or an error
// from guest code for run to classify once the guard has ended.
type callFault struct {
	fault   *Fault
	err     error
	refused uint64
}

// call runs one decision on inst: wahost_alloc, copy the input in,
// wahost_decide, copy the output out and check it. ctx is the caller's
// context, to tell its cancellation from a timeout.
func (m *Module) call(ctx context.Context, inst *instance, input []byte) ([]byte, *callFault) {
	inst.calls++
	m.calls.Add(1)
	refused := inst.mem.refused
	stack := inst.stack[:]
	fault := func(kind FaultKind, err error) *callFault { return &callFault{fault: m.newFault(kind, err)} }

	stack[0] = api.EncodeI32(int32(len(input)))
	if err := inst.alloc.CallWithStack(ctx, stack); err != nil {
		return nil, &callFault{err: fmt.Errorf("calling %s: %w", abi.ExportAlloc, err), refused: refused}
	}
	ptr := api.DecodeU32(stack[0])
	if ptr == 0 {
		return nil, fault(KindMemory, fmt.Errorf("%s(%d) returned 0", abi.ExportAlloc, len(input)))
	}
	mem := inst.mod.Memory()
	if !mem.Write(ptr, input) {
		return nil, fault(KindOutOfBounds, fmt.Errorf("input buffer at %d+%d is outside memory of %d bytes", ptr, len(input), mem.Size()))
	}

	stack[0], stack[1] = api.EncodeU32(ptr), api.EncodeI32(int32(len(input)))
	if err := inst.decide.CallWithStack(ctx, stack); err != nil {
		return nil, &callFault{err: fmt.Errorf("calling %s: %w", abi.ExportDecide, err), refused: refused}
	}
	optr, n, isErr := abi.UnpackResult(stack[0])
	if n > abi.MaxOutput {
		return nil, fault(KindOutputTooLarge, fmt.Errorf("%d bytes, limit %d", n, abi.MaxOutput))
	}
	out, ok := mem.Read(optr, n)
	if !ok {
		return nil, fault(KindOutOfBounds, fmt.Errorf("output at %d+%d is outside memory of %d bytes", optr, n, mem.Size()))
	}
	if isErr {
		return nil, fault(KindGuestError, errors.New(guestMessage(out)))
	}
	if !utf8.Valid(out) {
		return nil, fault(KindInvalidOutput, errors.New("output is not UTF-8"))
	}
	if err := m.validate(out); err != nil {
		return nil, fault(KindInvalidOutput, err)
	}
	return bytes.Clone(out), nil
}

// classify turns an error from guest code into a Fault. ctx is the
// caller's context; stopped and spent are what the instance's guard
// reported for the call.
func (m *Module) classify(ctx context.Context, inst *instance, refusedBefore uint64, stopped stopReason, spent bool, err error) *Fault {
	switch {
	case m.rtClosed.Load() || stopped == stoppedClosed:
		return m.newFault(KindClosed, err)
	case ctx.Err() != nil:
		return m.newFault(KindCanceled, fmt.Errorf("%w: %w", ctx.Err(), err))
	case stopped == stoppedDeadline:
		return m.newFault(KindTimeout, fmt.Errorf("stopped at the %v deadline: %w: %w", m.cfg.CallTimeout, context.DeadlineExceeded, err))
	case spent:
		return m.newFault(KindTimeout, fmt.Errorf("out of fuel, the deterministic form of the deadline: %w: %w", context.DeadlineExceeded, err))
	case inst.mem.refused > refusedBefore:
		return m.newFault(KindMemory, fmt.Errorf("memory.grow past %d pages refused: %w", m.cfg.MemoryLimitPages, err))
	default:
		return m.newFault(KindTrap, err)
	}
}

// newFault builds a Fault of kind for this module.
func (m *Module) newFault(kind FaultKind, err error) *Fault {
	return &Fault{Kind: kind, Module: m.name, SHA256: m.sha, Err: err}
}

// count adds f to the module's fault counters and returns it.
func (m *Module) count(f *Fault) *Fault {
	if c := m.faults[f.Kind]; c != nil {
		c.Add(1)
	}
	return f
}

// guestMessage makes a policy's error message safe to log and return.
func guestMessage(b []byte) string {
	if len(b) > maxGuestError {
		b = b[:maxGuestError]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
