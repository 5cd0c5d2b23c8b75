//go:build wasip1

package guest

import (
	"unsafe"

	"github.com/wahost/wahost/abi"
)

// inBuf is the buffer wahost_alloc hands out; the host writes the input
// there. It stays referenced here so the garbage collector never moves or
// frees it while the host holds its address.
var inBuf []byte

//go:wasmexport wahost_abi_version
func wasmABIVersion() int32 { return abi.Version }

//go:wasmexport wahost_alloc
func wasmAlloc(size int32) int32 {
	if size < 0 {
		return 0
	}
	if cap(inBuf) < int(size) || cap(inBuf) == 0 {
		inBuf = make([]byte, max(int(size), 4096))
	}
	return int32(uintptr(unsafe.Pointer(unsafe.SliceData(inBuf))))
}

//go:wasmexport wahost_decide
func wasmDecide(ptr, n int32) int64 {
	if n < 0 || n > int32(cap(inBuf)) || uintptr(ptr) != uintptr(unsafe.Pointer(unsafe.SliceData(inBuf))) {
		msg := "guest: input must be written at the buffer wahost_alloc returned"
		st.out = append(st.out[:0], msg...)
		return int64(abi.PackResult(uint32(uintptr(unsafe.Pointer(unsafe.SliceData(st.out)))), uint32(len(st.out)), true))
	}
	out, isErr := Call(inBuf[:n])
	return int64(abi.PackResult(uint32(uintptr(unsafe.Pointer(unsafe.SliceData(out)))), uint32(len(out)), isErr))
}

//go:wasmimport wahost log
func wasmLog(level int32, ptr unsafe.Pointer, n int32)

func hostLog(level Level, msg string) {
	if msg == "" {
		return
	}
	wasmLog(int32(level), unsafe.Pointer(unsafe.StringData(msg)), int32(len(msg)))
}
