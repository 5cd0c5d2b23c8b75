package runtime

import (
	"errors"
	"fmt"

	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/leb128"
	"github.com/tetratelabs/wabin/wasm"
)

// The metering pass adds two globals and exports them: the fuel of the
// current slice, which every check charges, and the reserve the slices are
// drawn from. The names have a dot, which no ABI export has, so they
// cannot clash with a policy's own exports.
const (
	fuelExport    = "wahost.fuel"
	reserveExport = "wahost.fuel_reserve"
)

// fuelSlice is how much fuel the guest draws from the reserve at a time.
// Each draw exits to Go once (a memory.grow by 0 pages), where the Go
// scheduler can preempt the goroutine: native code cannot be preempted, so
// without these exits a long call would hold up every stop-the-world
// garbage collection of the process until it returned. A slice is about a
// millisecond of guest code.
const fuelSlice = 1 << 20

// startFuel is the fuel a module's start function gets: the reserve's
// initial value, fixed in the rewritten bytes (the host cannot set it
// before instantiation runs the start function). It is the default
// instantiation deadline's worth.
const startFuel = int64(DefaultInstantiateTimeout/1e6) * DefaultFuelPerMillisecond

// fuelStopped is what the host stores in both globals to stop a call at
// its deadline, on cancellation or on close: the next check traps. Far
// from both ends of int64, so that no charge overflows it.
const fuelStopped int64 = -1 << 62

// meter rewrites a module so that guest code cannot run without bound. It
// adds a fuel check at the entry of every function and at the header of
// every loop. A check subtracts the cost of the code it guards (an upper
// bound on the instructions that can run before the next check) from the
// fuel global and, when that goes negative, calls an added function that
// draws the next slice from the reserve, or traps with unreachable once the
// reserve is spent. Structured control flow is what makes the bound hold:
// between two passes through the same loop header or function entry,
// control only moves forward through the instructions of that loop or
// function body, nested loops aside, and those charge at their own headers.
//
// The added globals and function come after the module's own, so no index
// moves. The host sets both globals before every call (see guard), and
// stores fuelStopped in them to stop a call from outside. The rewrite is
// deterministic, so the compilation cache, keyed by the bytes, still hits.
func meter(b []byte) ([]byte, error) {
	m, err := binary.DecodeModule(b, wasm.CoreFeaturesV2)
	if err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	for _, e := range m.ExportSection {
		if e.Name == fuelExport || e.Name == reserveExport {
			return nil, fmt.Errorf("exports %q, a name the host reserves", e.Name)
		}
	}
	hasMemory := m.MemorySection != nil || m.ImportMemoryCount() > 0
	fuel := m.ImportGlobalCount() + uint32(len(m.GlobalSection))
	reserve := fuel + 1
	for _, init := range []int64{0, startFuel} {
		m.GlobalSection = append(m.GlobalSection, &wasm.Global{
			Type: &wasm.GlobalType{ValType: wasm.ValueTypeI64, Mutable: true},
			Init: &wasm.ConstantExpression{Opcode: wasm.OpcodeI64Const, Data: leb128.EncodeInt64(init)},
		})
	}
	m.ExportSection = append(m.ExportSection,
		&wasm.Export{Type: wasm.ExternTypeGlobal, Name: fuelExport, Index: fuel},
		&wasm.Export{Type: wasm.ExternTypeGlobal, Name: reserveExport, Index: reserve})
	refill := m.ImportFuncCount() + uint32(len(m.FunctionSection))
	for i, c := range m.CodeSection {
		if c.Body, err = meterBody(c.Body, fuel, refill); err != nil {
			return nil, fmt.Errorf("function %d: %w", int(m.ImportFuncCount())+i, err)
		}
	}
	m.TypeSection = append(m.TypeSection, &wasm.FunctionType{})
	m.FunctionSection = append(m.FunctionSection, uint32(len(m.TypeSection)-1))
	m.CodeSection = append(m.CodeSection, &wasm.Code{Body: refillBody(fuel, reserve, hasMemory)})
	return binary.EncodeModule(m), nil
}

// refillBody is the body of the added refill function:
//
//	if reserve <= 0 { unreachable }
//	reserve -= fuelSlice; fuel += fuelSlice
//	drop(memory.grow(0))  // an exit to Go: a preemption point
func refillBody(fuel, reserve uint32, hasMemory bool) []byte {
	f, r, slice := leb128.EncodeUint32(fuel), leb128.EncodeUint32(reserve), leb128.EncodeInt64(fuelSlice)
	var b []byte
	b = append(append(b, 0x23), r...)
	b = append(b, 0x42, 0x00, 0x57, 0x04, 0x40, 0x00, 0x0b) // i64.const 0 i64.le_s if unreachable end
	b = append(append(b, 0x23), r...)
	b = append(append(b, 0x42), slice...)
	b = append(append(b, 0x7d, 0x24), r...) // i64.sub global.set
	b = append(append(b, 0x23), f...)
	b = append(append(b, 0x42), slice...)
	b = append(append(b, 0x7c, 0x24), f...) // i64.add global.set
	if hasMemory {
		b = append(b, 0x41, 0x00, 0x40, 0x00, 0x1a) // i32.const 0 memory.grow drop
	}
	return append(b, 0x0b)
}

// meterBody returns a function body with fuel checks inserted at its entry
// and after the block type of every loop.
func meterBody(body []byte, fuel, refill uint32) ([]byte, error) {
	// Pass 1: the cost of each region (0 is the function body outside any
	// loop, then each loop in order) and where its check goes.
	costs := []int64{0}
	at := []int{0}
	open := []int{0} // the region of each open block, innermost last
	for pc := 0; ; {
		if pc >= len(body) {
			return nil, errors.New("body ends inside a block")
		}
		op := body[pc]
		cur := open[len(open)-1]
		costs[cur]++
		next, err := skipInstruction(body, pc)
		if err != nil {
			return nil, fmt.Errorf("at byte %d: %w", pc, err)
		}
		switch op {
		case 0x02, 0x04: // block, if: same region
			open = append(open, cur)
		case 0x03: // loop: a region of its own, checked after the block type
			costs = append(costs, 0)
			at = append(at, next)
			open = append(open, len(costs)-1)
		case 0x0b: // end
			open = open[:len(open)-1]
		}
		pc = next
		if len(open) == 0 {
			if pc != len(body) {
				return nil, fmt.Errorf("%d bytes after the body's end", len(body)-pc)
			}
			break
		}
	}
	// A body that starts with a loop (every Go function does) needs no
	// entry check: the loop's own check runs first, and charging it the
	// entry region as well keeps the bound.
	first := 0
	if len(costs) > 1 && at[1] > 0 && body[0] == 0x03 {
		costs[1] += costs[0]
		first = 1
	}
	// Pass 2: copy the body with the checks in place.
	out := make([]byte, 0, len(body)+len(costs)*24)
	prev := 0
	for r := first; r < len(costs); r++ {
		out = append(out, body[prev:at[r]]...)
		out = appendCheck(out, fuel, refill, costs[r])
		prev = at[r]
	}
	return append(out, body[prev:]...), nil
}

// appendCheck appends one fuel check:
//
//	global.get $fuel  i64.const cost  i64.sub  global.set $fuel
//	global.get $fuel  i64.const 0  i64.lt_s  if  call $refill  end
func appendCheck(b []byte, fuel, refill uint32, cost int64) []byte {
	idx := leb128.EncodeUint32(fuel)
	b = append(append(b, 0x23), idx...)
	b = append(append(b, 0x42), leb128.EncodeInt64(cost)...)
	b = append(b, 0x7d)
	b = append(append(b, 0x24), idx...)
	b = append(append(b, 0x23), idx...)
	b = append(b, 0x42, 0x00, 0x53, 0x04, 0x40, 0x10)
	b = append(b, leb128.EncodeUint32(refill)...)
	return append(b, 0x0b)
}
