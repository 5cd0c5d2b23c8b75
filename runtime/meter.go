package runtime

import (
	"cmp"
	"errors"
	"fmt"
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
// moves. Only the sections that change are decoded (types, functions,
// globals, exports, code); the others are copied as they are. The host sets both globals before every call (see guard), and
// stores fuelStopped in them to stop a call from outside. The rewrite is
// deterministic, so the compilation cache, keyed by the bytes, still hits.
func meter(wasm []byte) ([]byte, error) {
	sections, err := splitSections(wasm)
	if err != nil {
		return nil, err
	}
	find := func(id byte) int {
		for i, s := range sections {
			if s.id == id {
				return i
			}
		}
		return -1
	}
	var importedFuncs, importedGlobals, importedMems uint32
	if i := find(secImport); i >= 0 {
		if importedFuncs, importedGlobals, importedMems, err = imports(sections[i].body); err != nil {
			return nil, fmt.Errorf("import section: %w", err)
		}
	}
	ti, fi, ci := find(secType), find(secFunction), find(secCode)
	if ti < 0 || fi < 0 || ci < 0 {
		return nil, errors.New("defines no functions")
	}
	typeCount, types, err := vector(sections[ti].body)
	if err != nil {
		return nil, err
	}
	funcCount, funcs, err := vector(sections[fi].body)
	if err != nil {
		return nil, err
	}
	var globalCount, exportCount uint32
	var globals, exports []byte
	gi, ei := find(secGlobal), find(secExport)
	if gi >= 0 {
		if globalCount, globals, err = vector(sections[gi].body); err != nil {
			return nil, err
		}
	}
	if ei >= 0 {
		if exportCount, exports, err = vector(sections[ei].body); err != nil {
			return nil, err
		}
		if name, err := exportsName(sections[ei].body, fuelExport, reserveExport); err != nil || name != "" {
			return nil, cmp.Or(err, fmt.Errorf("exports %q, a name the host reserves", name))
		}
	}
	hasMemory := importedMems > 0 || find(secMemory) >= 0
	fuel := importedGlobals + globalCount
	reserve := fuel + 1
	refill := importedFuncs + funcCount

	code, err := meterCode(sections[ci].body, funcCount, importedFuncs, fuel, refill)
	if err != nil {
		return nil, err
	}
	sections[ci].body = append(code, refillEntry(fuel, reserve, hasMemory)...)
	sections[ti].body = appendVector(nil, typeCount+1, types, []byte{0x60, 0x00, 0x00})
	sections[fi].body = appendVector(nil, funcCount+1, funcs, appendULEB(nil, typeCount))
	newGlobals := appendVector(nil, globalCount+2, globals, fuelGlobal(0), fuelGlobal(startFuel))
	newExports := appendVector(nil, exportCount+2, exports, globalExport(fuelExport, fuel), globalExport(reserveExport, reserve))
	if gi >= 0 {
		sections[gi].body = newGlobals
	} else {
		sections = insertSection(sections, section{secGlobal, newGlobals})
	}
	if ei := find(secExport); ei >= 0 {
		sections[ei].body = newExports
	} else {
		sections = insertSection(sections, section{secExport, newExports})
	}
	size := 8
	for _, s := range sections {
		size += len(s.body) + 6
	}
	out := append(make([]byte, 0, size), wasm[:8]...)
	for _, s := range sections {
		out = appendSection(out, s.id, s.body)
	}
	return out, nil
}

// meterCode returns the code section's entries, each function's locals
// copied and its body metered, with a count one larger (for the refill
// function the caller appends).
func meterCode(s []byte, funcCount, importedFuncs, fuel, refill uint32) ([]byte, error) {
	n, b, err := vector(s)
	if err != nil {
		return nil, err
	}
	if n != funcCount {
		return nil, fmt.Errorf("%d function bodies for %d functions", n, funcCount)
	}
	out := appendULEB(make([]byte, 0, len(s)+len(s)/4), n+1)
	var sc scratch
	pc := 0
	for i := range n {
		size, p, err := readLEB(b, pc)
		if err != nil {
			return nil, err
		}
		end, err := skipBytes(b, p, size)
		if err != nil {
			return nil, err
		}
		entry := b[p:end]
		groups, q, err := readLEB(entry, 0)
		if err != nil {
			return nil, err
		}
		for range groups { // count, value type
			if q, err = skipLEB(entry, q, 1); err == nil {
				q, err = skipBytes(entry, q, 1)
			}
			if err != nil {
				return nil, fmt.Errorf("function %d: locals: %w", importedFuncs+i, err)
			}
		}
		body, err := sc.meterBody(entry[q:], fuel, refill)
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", importedFuncs+i, err)
		}
		out = appendULEB(out, uint32(q+len(body)))
		out = append(append(out, entry[:q]...), body...)
		pc = end
	}
	return out, nil
}

// fuelGlobal is a mutable i64 global initialized to v.
func fuelGlobal(v int64) []byte {
	return append(appendSLEB([]byte{0x7e, 0x01, 0x42}, v), 0x0b)
}

// globalExport exports global idx as name.
func globalExport(name string, idx uint32) []byte {
	return appendULEB(append(appendName(nil, name), 0x03), idx)
}

// refillEntry is the code entry of the added refill function, no locals:
//
//	if reserve <= 0 { unreachable }
//	reserve -= fuelSlice; fuel += fuelSlice
//	drop(memory.grow(0))  // an exit to Go: a preemption point
func refillEntry(fuel, reserve uint32, hasMemory bool) []byte {
	b := []byte{0x00} // no locals
	b = appendULEB(append(b, 0x23), reserve)
	b = append(b, 0x42, 0x00, 0x57, 0x04, 0x40, 0x00, 0x0b) // i64.const 0 i64.le_s if unreachable end
	b = appendULEB(append(b, 0x23), reserve)
	b = appendSLEB(append(b, 0x42), fuelSlice)
	b = appendULEB(append(b, 0x7d, 0x24), reserve) // i64.sub global.set
	b = appendULEB(append(b, 0x23), fuel)
	b = appendSLEB(append(b, 0x42), fuelSlice)
	b = appendULEB(append(b, 0x7c, 0x24), fuel) // i64.add global.set
	if hasMemory {
		b = append(b, 0x41, 0x00, 0x40, 0x00, 0x1a) // i32.const 0 memory.grow drop
	}
	b = append(b, 0x0b)
	return append(appendULEB(nil, uint32(len(b))), b...)
}

// scratch is meterBody's working memory, reused from one body to the
// next; out is carved into the rewritten bodies.
type scratch struct {
	costs []int64
	at    []int
	open  []int
	out   []byte
}

// meterBody returns a function body with fuel checks inserted at its entry
// and after the block type of every loop.
func (sc *scratch) meterBody(body []byte, fuel, refill uint32) ([]byte, error) {
	// Pass 1: the cost of each region (0 is the function body outside any
	// loop, then each loop in order) and where its check goes.
	costs := append(sc.costs[:0], 0)
	at := append(sc.at[:0], 0)
	open := append(sc.open[:0], 0) // the region of each open block, innermost last
	defer func() { sc.costs, sc.at, sc.open = costs, at, open }()
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
	// Pass 2: copy the body with the checks in place, into the arena.
	need := len(body) + len(costs)*32
	if cap(sc.out)-len(sc.out) < need {
		sc.out = make([]byte, 0, max(need, 1<<20))
	}
	out := sc.out[len(sc.out):len(sc.out):cap(sc.out)]
	prev := 0
	for r := first; r < len(costs); r++ {
		out = append(out, body[prev:at[r]]...)
		out = appendCheck(out, fuel, refill, costs[r])
		prev = at[r]
	}
	out = append(out, body[prev:]...)
	sc.out = sc.out[:len(sc.out)+len(out)]
	return out[:len(out):len(out)], nil
}

// appendCheck appends one fuel check:
//
//	global.get $fuel  i64.const cost  i64.sub  global.set $fuel
//	global.get $fuel  i64.const 0  i64.lt_s  if  call $refill  end
func appendCheck(b []byte, fuel, refill uint32, cost int64) []byte {
	b = appendULEB(append(b, 0x23), fuel)
	b = appendSLEB(append(b, 0x42), cost)
	b = appendULEB(append(b, 0x7d, 0x24), fuel)
	b = appendULEB(append(b, 0x23), fuel)
	b = appendULEB(append(b, 0x42, 0x00, 0x53, 0x04, 0x40, 0x10), refill)
	return append(b, 0x0b)
}

// appendULEB appends v as an unsigned LEB128.
func appendULEB(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// appendSLEB appends v as a signed LEB128.
func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
