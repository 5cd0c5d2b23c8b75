package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
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
	mod, err := m.rt.InstantiateModule(withLimitedMemory(ctx, inst.mem), m.compiled, cfg)
	if err != nil {
		return nil, &stageError{StageInstantiate, m.classify(ctx, inst, 0, fmt.Errorf("instantiating: %w", err))}
	}
	inst.mod = mod
	if m.hasInit {
		refused := inst.mem.refused
		if _, err := mod.ExportedFunction(abi.ExportInitialize).Call(ctx); err != nil && !exitedOK(err, mod) {
			inst.close()
			return nil, &stageError{StageInitialize, m.classify(ctx, inst, refused, fmt.Errorf("running %s: %w", abi.ExportInitialize, err))}
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
	inst.stdout.flush()
	inst.stderr.flush()
	if inst.mod != nil {
		_ = inst.mod.Close(context.Background())
	}
}

// callResult is the outcome of one call.
type callResult struct {
	out   []byte
	fault *Fault
}

// run runs one decision on inst on a goroutine of its own and waits for it
// until Config.CallTimeout. Guest code that loops stops at the deadline;
// guest code that never reaches a loop cannot be interrupted, so run
// returns a timeout at the deadline and leaves the call running. The
// goroutine returns inst to the pool (discarded if the call failed or
// finished late), then calls release, then delivers the result.
func (m *Module) run(ctx context.Context, inst *instance, input []byte, release func()) ([]byte, *Fault) {
	callCtx, cancel := context.WithTimeout(ctx, m.cfg.CallTimeout)
	res := make(chan callResult, 1)
	var late atomic.Bool
	in := &callInput{b: input}
	go func() {
		defer cancel()
		out, f := m.call(ctx, callCtx, inst, in)
		m.pool.put(inst, (f == nil || f.Kind == KindGuestError) && !late.Load())
		if release != nil {
			release()
		}
		res <- callResult{out, f}
	}()
	select {
	case r := <-res:
		return r.out, r.fault
	case <-callCtx.Done():
	}
	select {
	case r := <-res: // stopped at the deadline, or finished just then
		return r.out, r.fault
	default:
	}
	late.Store(true)
	in.release() // the caller owns input again: the late call must not read it
	if err := ctx.Err(); err != nil {
		return nil, m.newFault(KindCanceled, fmt.Errorf("guest still running: %w", err))
	}
	return nil, m.newFault(KindTimeout, fmt.Errorf("guest still running past %v: %w", m.cfg.CallTimeout, context.DeadlineExceeded))
}

// callInput is the caller's input, lent to a call until run returns. A
// call that is still running when run gives up on it (a guest that cannot
// be interrupted) finds it released and stops before copying it in.
type callInput struct {
	mu       sync.Mutex
	b        []byte
	released bool
}

func (c *callInput) release() {
	c.mu.Lock()
	c.released = true
	c.mu.Unlock()
}

// write copies the input into guest memory at ptr unless it was released.
func (c *callInput) write(mem api.Memory, ptr uint32) (ok, released bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.released {
		return false, true
	}
	return mem.Write(ptr, c.b), false
}

// call runs one decision on inst: wahost_alloc, copy the input in,
// wahost_decide, copy the output out and check it, all under callCtx. ctx
// is the caller's context, to tell its cancellation from a timeout.
func (m *Module) call(ctx, callCtx context.Context, inst *instance, in *callInput) ([]byte, *Fault) {
	input := in.b
	inst.calls++
	m.calls.Add(1)
	refused := inst.mem.refused
	stack := inst.stack[:]

	stack[0] = api.EncodeI32(int32(len(input)))
	if err := inst.alloc.CallWithStack(callCtx, stack); err != nil {
		return nil, m.classify(ctx, inst, refused, fmt.Errorf("calling %s: %w", abi.ExportAlloc, err))
	}
	ptr := api.DecodeU32(stack[0])
	if ptr == 0 {
		return nil, m.newFault(KindMemory, fmt.Errorf("%s(%d) returned 0", abi.ExportAlloc, len(input)))
	}
	mem := inst.mod.Memory()
	ok, released := in.write(mem, ptr)
	if released {
		return nil, m.newFault(KindTimeout, fmt.Errorf("%s outlasted the deadline", abi.ExportAlloc))
	}
	if !ok {
		return nil, m.newFault(KindOutOfBounds, fmt.Errorf("input buffer at %d+%d is outside memory of %d bytes", ptr, len(input), mem.Size()))
	}

	stack[0], stack[1] = api.EncodeU32(ptr), api.EncodeI32(int32(len(input)))
	if err := inst.decide.CallWithStack(callCtx, stack); err != nil {
		return nil, m.classify(ctx, inst, refused, fmt.Errorf("calling %s: %w", abi.ExportDecide, err))
	}
	optr, n, isErr := abi.UnpackResult(stack[0])
	if n > abi.MaxOutput {
		return nil, m.newFault(KindOutputTooLarge, fmt.Errorf("%d bytes, limit %d", n, abi.MaxOutput))
	}
	out, ok := mem.Read(optr, n)
	if !ok {
		return nil, m.newFault(KindOutOfBounds, fmt.Errorf("output at %d+%d is outside memory of %d bytes", optr, n, mem.Size()))
	}
	if isErr {
		return nil, m.newFault(KindGuestError, errors.New(guestMessage(out)))
	}
	out = bytes.Clone(out)
	if !utf8.Valid(out) {
		return nil, m.newFault(KindInvalidOutput, errors.New("output is not UTF-8"))
	}
	if err := m.validate(out); err != nil {
		return nil, m.newFault(KindInvalidOutput, err)
	}
	return out, nil
}

// classify turns an error from guest code into a Fault. ctx is the
// caller's context, before the per-call deadline was added.
func (m *Module) classify(ctx context.Context, inst *instance, refusedBefore uint64, err error) *Fault {
	var exit *sys.ExitError
	switch {
	case m.rtClosed.Load():
		return m.newFault(KindClosed, err)
	case ctx.Err() != nil:
		return m.newFault(KindCanceled, fmt.Errorf("%w: %w", ctx.Err(), err))
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded:
		return m.newFault(KindTimeout, err)
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
