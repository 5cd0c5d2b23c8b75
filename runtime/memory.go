package runtime

import (
	"context"

	"github.com/tetratelabs/wazero/experimental"
)

// pageSize is the size of a WebAssembly memory page.
const pageSize = 64 << 10

// limitedMemory backs one instance's linear memory. It enforces
// Config.MemoryLimitPages itself, instead of wazero's
// RuntimeConfig.WithMemoryLimitPages, so that the host knows when it refused
// a memory.grow: a trap that follows a refusal is an out-of-memory fault,
// not a bug in the guest.
//
// It is used only by the goroutine that holds the instance.
type limitedMemory struct {
	buf     []byte
	limit   uint64 // bytes
	refused uint64 // memory.grow requests refused so far
}

var _ experimental.LinearMemory = (*limitedMemory)(nil)

// Reallocate implements experimental.LinearMemory. Like wazero's default it
// grows by appending zeroed bytes; it refuses sizes past the limit.
func (m *limitedMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.refused++
		return nil
	}
	if n := uint64(len(m.buf)); size > n {
		if size <= uint64(cap(m.buf)) {
			m.buf = m.buf[:size]
		} else {
			m.buf = append(m.buf, make([]byte, size-n)...)
		}
	}
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *limitedMemory) Free() { m.buf = nil }

// withLimitedMemory returns a context under which instantiating a module
// backs its memory with mem.
func withLimitedMemory(ctx context.Context, mem *limitedMemory) context.Context {
	return experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(
		func(capacity, _ uint64) experimental.LinearMemory {
			if capacity > mem.limit {
				capacity = mem.limit
			}
			mem.buf = make([]byte, 0, capacity)
			return mem
		}))
}
