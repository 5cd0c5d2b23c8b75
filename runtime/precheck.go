package runtime

import (
	"errors"
	"fmt"
)

// precheck walks the module's section headers before wazero decodes it
// and rejects a section whose vector claims more entries than it has
// bytes. Every entry of those vectors takes at least one byte, so such a
// count is a lie; wazero would believe it and allocate for it, and a
// 20-byte module claiming fifteen million exports costs seconds and
// hundreds of megabytes to reject.
func precheck(wasm []byte) error {
	const headerLen = 8 // magic and version; wazero checks their values
	if len(wasm) < headerLen {
		return errors.New("shorter than a WebAssembly header")
	}
	b := wasm[headerLen:]
	for off := headerLen; len(b) > 0; {
		id := b[0]
		size, n, err := uleb(b[1:])
		if err != nil {
			return fmt.Errorf("section at byte %d: size: %w", off, err)
		}
		body := b[1+n:]
		if size > uint64(len(body)) {
			return fmt.Errorf("section %d at byte %d claims %d bytes, %d remain", id, off, size, len(body))
		}
		body = body[:size]
		// Sections that start with a vector count: type, import, function,
		// table, memory, global, export, element, code, data.
		if id >= 1 && id <= 11 && id != 8 {
			count, cn, err := uleb(body)
			if err != nil {
				return fmt.Errorf("section %d at byte %d: count: %w", id, off, err)
			}
			if count > uint64(len(body)-cn) {
				return fmt.Errorf("section %d at byte %d claims %d entries in %d bytes", id, off, count, len(body)-cn)
			}
		}
		consumed := 1 + n + int(size)
		off += consumed
		b = b[consumed:]
	}
	return nil
}

// uleb decodes an unsigned LEB128 of at most 32 bits, as section sizes
// and counts are.
func uleb(b []byte) (v uint64, n int, err error) {
	for shift := 0; n < len(b); shift += 7 {
		c := b[n]
		n++
		if shift == 28 && c > 0x0f {
			return 0, 0, errors.New("integer overflows 32 bits")
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, n, nil
		}
		if shift == 28 {
			return 0, 0, errors.New("integer overflows 32 bits")
		}
	}
	return 0, 0, errors.New("truncated integer")
}
