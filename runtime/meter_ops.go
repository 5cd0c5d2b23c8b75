package runtime

import (
	"errors"
	"fmt"
)

var errTruncated = errors.New("truncated instruction")

// skipInstruction returns the offset of the instruction after the one at
// pc: the opcode and its immediates. It knows the instructions of
// WebAssembly 2.0 (wazero's feature set) and the threads proposal.
func skipInstruction(b []byte, pc int) (int, error) {
	op := b[pc]
	pc++
	switch {
	case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if
		return skipBlockType(b, pc)
	case op == 0x0c || op == 0x0d: // br, br_if
		return skipLEB(b, pc, 1)
	case op == 0x0e: // br_table
		n, pc, err := readLEB(b, pc)
		if err != nil {
			return 0, err
		}
		if n > uint64(len(b)) {
			return 0, errTruncated
		}
		return skipLEB(b, pc, int(n)+1)
	case op == 0x10: // call
		return skipLEB(b, pc, 1)
	case op == 0x11: // call_indirect: type, table
		return skipLEB(b, pc, 2)
	case op == 0x1c: // select t*
		n, pc, err := readLEB(b, pc)
		if err != nil {
			return 0, err
		}
		return skipBytes(b, pc, n)
	case op >= 0x20 && op <= 0x26: // local.*, global.*, table.get/set
		return skipLEB(b, pc, 1)
	case op >= 0x28 && op <= 0x3e: // loads and stores: memarg
		return skipLEB(b, pc, 2)
	case op == 0x3f || op == 0x40: // memory.size, memory.grow
		return skipLEB(b, pc, 1)
	case op == 0x41 || op == 0x42: // i32.const, i64.const
		return skipLEB(b, pc, 1)
	case op == 0x43: // f32.const
		return skipBytes(b, pc, 4)
	case op == 0x44: // f64.const
		return skipBytes(b, pc, 8)
	case op == 0xd0: // ref.null t
		return skipBytes(b, pc, 1)
	case op == 0xd2: // ref.func
		return skipLEB(b, pc, 1)
	case op == 0xfc:
		return skipMisc(b, pc)
	case op == 0xfd:
		return skipVector(b, pc)
	case op == 0xfe:
		return skipAtomic(b, pc)
	case op <= 0x01 || op == 0x05 || op == 0x0b || op == 0x0f || op == 0x1a || op == 0x1b ||
		(op >= 0x45 && op <= 0xc4) || op == 0xd1:
		return pc, nil // no immediates
	}
	return 0, fmt.Errorf("unsupported opcode 0x%02x", op)
}

// skipMisc skips a 0xfc-prefixed instruction after its prefix.
func skipMisc(b []byte, pc int) (int, error) {
	sub, pc, err := readLEB(b, pc)
	if err != nil {
		return 0, err
	}
	switch {
	case sub <= 7: // saturating truncations
		return pc, nil
	case sub == 8: // memory.init data, mem
		if pc, err = skipLEB(b, pc, 1); err != nil {
			return 0, err
		}
		return skipBytes(b, pc, 1)
	case sub == 9 || sub == 13 || (sub >= 15 && sub <= 17): // data.drop, elem.drop, table.grow/size/fill
		return skipLEB(b, pc, 1)
	case sub == 10: // memory.copy
		return skipBytes(b, pc, 2)
	case sub == 11: // memory.fill
		return skipBytes(b, pc, 1)
	case sub == 12 || sub == 14: // table.init, table.copy
		return skipLEB(b, pc, 2)
	}
	return 0, fmt.Errorf("unsupported opcode 0xfc %d", sub)
}

// skipVector skips a 0xfd-prefixed (SIMD) instruction after its prefix.
func skipVector(b []byte, pc int) (int, error) {
	sub, pc, err := readLEB(b, pc)
	if err != nil {
		return 0, err
	}
	switch {
	case sub <= 0x0b || sub == 0x5c || sub == 0x5d: // loads and stores: memarg
		return skipLEB(b, pc, 2)
	case sub == 0x0c || sub == 0x0d: // v128.const, i8x16.shuffle
		return skipBytes(b, pc, 16)
	case sub >= 0x15 && sub <= 0x22: // extract and replace lane
		return skipBytes(b, pc, 1)
	case sub >= 0x54 && sub <= 0x5b: // load and store lane: memarg, lane
		if pc, err = skipLEB(b, pc, 2); err != nil {
			return 0, err
		}
		return skipBytes(b, pc, 1)
	case sub <= 0x113:
		return pc, nil
	}
	return 0, fmt.Errorf("unsupported opcode 0xfd %d", sub)
}

// skipAtomic skips a 0xfe-prefixed (threads) instruction after its prefix.
func skipAtomic(b []byte, pc int) (int, error) {
	sub, pc, err := readLEB(b, pc)
	if err != nil {
		return 0, err
	}
	switch {
	case sub == 0x03: // atomic.fence
		return skipBytes(b, pc, 1)
	case sub <= 0x4e:
		return skipLEB(b, pc, 2) // memarg
	}
	return 0, fmt.Errorf("unsupported opcode 0xfe %d", sub)
}

// skipBlockType skips a block type: empty, a value type, or a type index
// (a signed LEB128).
func skipBlockType(b []byte, pc int) (int, error) {
	if pc >= len(b) {
		return 0, errTruncated
	}
	switch b[pc] {
	case 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		return pc + 1, nil
	}
	return skipLEB(b, pc, 1)
}

// skipLEB skips n LEB128 integers.
func skipLEB(b []byte, pc, n int) (int, error) {
	for range n {
		var err error
		if _, pc, err = readLEB(b, pc); err != nil {
			return 0, err
		}
	}
	return pc, nil
}

// readLEB reads an unsigned LEB128 of at most 64 bits (signed ones are
// skipped the same way) and returns it with the offset after it.
func readLEB(b []byte, pc int) (uint64, int, error) {
	var v uint64
	for shift := 0; shift < 70; shift += 7 {
		if pc >= len(b) {
			return 0, 0, errTruncated
		}
		c := b[pc]
		pc++
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, pc, nil
		}
	}
	return 0, 0, errors.New("integer too long")
}

// skipBytes skips n bytes.
func skipBytes(b []byte, pc int, n uint64) (int, error) {
	if n > uint64(len(b)-pc) {
		return 0, errTruncated
	}
	return pc + int(n), nil
}
