package runtime

import (
	"errors"
	"fmt"
)

// Section ids, and the order in which the known ones must appear.
const (
	secType     = 1
	secImport   = 2
	secFunction = 3
	secMemory   = 5
	secGlobal   = 6
	secExport   = 7
	secCode     = 10
)

var sectionOrder = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 12: 10, 10: 11, 11: 12}

// section is one section of a module: its id and its contents.
type section struct {
	id   byte
	body []byte
}

// splitSections returns the sections of a module (precheck has checked
// their sizes).
func splitSections(wasm []byte) ([]section, error) {
	var out []section
	for b := wasm[8:]; len(b) > 0; {
		size, n, err := uleb(b[1:])
		if err != nil || size > uint64(len(b)-1-n) {
			return nil, errors.New("malformed section header")
		}
		out = append(out, section{b[0], b[1+n : 1+n+int(size)]})
		b = b[1+n+int(size):]
	}
	return out, nil
}

// vector returns the element count of a section that is a vector, and the
// bytes of its elements.
func vector(s []byte) (uint32, []byte, error) {
	n, k, err := readLEB(s, 0)
	if err != nil || n > 1<<32-1 {
		return 0, nil, errors.New("malformed vector count")
	}
	return uint32(n), s[k:], nil
}

// appendVector appends a vector of count elements whose encoding is elems.
func appendVector(b []byte, count uint32, elems ...[]byte) []byte {
	b = appendULEB(b, count)
	for _, e := range elems {
		b = append(b, e...)
	}
	return b
}

// imports counts the imported functions, globals and memories.
func imports(s []byte) (funcs, globals, mems uint32, err error) {
	n, b, err := vector(s)
	if err != nil {
		return 0, 0, 0, err
	}
	pc := 0
	for range n {
		for range 2 { // module and field names
			l, p, err := readLEB(b, pc)
			if err != nil {
				return 0, 0, 0, err
			}
			if pc, err = skipBytes(b, p, l); err != nil {
				return 0, 0, 0, err
			}
		}
		if pc >= len(b) {
			return 0, 0, 0, errTruncated
		}
		kind := b[pc]
		pc++
		switch kind {
		case 0: // function: type index
			funcs++
			pc, err = skipLEB(b, pc, 1)
		case 1: // table: reference type, limits
			if pc, err = skipBytes(b, pc, 1); err == nil {
				pc, err = skipLimits(b, pc)
			}
		case 2: // memory: limits
			mems++
			pc, err = skipLimits(b, pc)
		case 3: // global: value type, mutability
			globals++
			pc, err = skipBytes(b, pc, 2)
		default:
			return 0, 0, 0, fmt.Errorf("unsupported import kind %d", kind)
		}
		if err != nil {
			return 0, 0, 0, err
		}
	}
	return funcs, globals, mems, nil
}

// skipLimits skips a limits pair: a flag, the minimum and maybe a maximum.
func skipLimits(b []byte, pc int) (int, error) {
	if pc >= len(b) {
		return 0, errTruncated
	}
	flags := b[pc]
	if flags&1 != 0 {
		return skipLEB(b, pc+1, 2)
	}
	return skipLEB(b, pc+1, 1)
}

// exportsName returns the first of names that the export section
// exports, or "".
func exportsName(s []byte, names ...string) (string, error) {
	n, b, err := vector(s)
	if err != nil {
		return "", err
	}
	pc := 0
	for range n {
		l, p, err := readLEB(b, pc)
		if err != nil {
			return "", err
		}
		end, err := skipBytes(b, p, l)
		if err != nil {
			return "", err
		}
		for _, name := range names {
			if string(b[p:end]) == name {
				return name, nil
			}
		}
		if pc, err = skipBytes(b, end, 1); err != nil { // kind
			return "", err
		}
		if pc, err = skipLEB(b, pc, 1); err != nil { // index
			return "", err
		}
	}
	return "", nil
}

// appendName appends a name as a vector of bytes.
func appendName(b []byte, name string) []byte {
	return append(appendULEB(b, uint32(len(name))), name...)
}

// appendSection appends a section with its id and size.
func appendSection(b []byte, id byte, body []byte) []byte {
	return append(appendULEB(append(b, id), uint32(len(body))), body...)
}

// insertSection puts s among sections at its place in the order.
func insertSection(sections []section, s section) []section {
	at := len(sections)
	for i, o := range sections {
		if ord, ok := sectionOrder[o.id]; ok && ord > sectionOrder[s.id] {
			at = i
			break
		}
	}
	return append(sections[:at], append([]section{s}, sections[at:]...)...)
}
