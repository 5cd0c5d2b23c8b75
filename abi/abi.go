// Package abi is the contract between wahost and a disconnect policy module:
// the names and signatures a module exports, the version constants, the
// input and decision documents, and a lean codec for both.
//
// The package depends on the standard library only and builds for
// GOOS=wasip1, so the host and Go guests (see package abi/guest) share one
// codec. abi/SPEC.md is the reference for policy authors.
package abi

// The ABI version implemented by this package. A module reports its own
// version from the WasmABIVersion export as (major << 16) | minor; the host
// accepts a module whose major equals Major and whose minor is at most Minor.
const (
	Major = 1
	Minor = 3
)

// Version is (Major << 16) | Minor, as the WasmABIVersion export returns it.
const Version = Major<<16 | Minor

// DocVersion is the value of the "v" field of the input and decision
// documents of this ABI.
const DocVersion = 1

// Names a policy module exports or imports. Policies written against ABI v1
// depend on them; they never change within a major version.
const (
	// ExportMemory is the module's linear memory.
	ExportMemory = "memory"
	// ExportABIVersion is `wahost_abi_version() -> i32`.
	ExportABIVersion = "wahost_abi_version"
	// ExportAlloc is `wahost_alloc(size i32) -> i32`: a guest-owned buffer
	// of at least size bytes, valid until the next call on the instance.
	ExportAlloc = "wahost_alloc"
	// ExportDecide is `wahost_decide(ptr i32, len i32) -> i64`, returning
	// (out_ptr << 32) | out_len. Bit 31 of out_len (ErrorFlag) set means the
	// bytes are an error message from the policy, not a decision.
	ExportDecide = "wahost_decide"
	// ExportInitialize is the optional reactor initializer, run once per
	// instance before any other export.
	ExportInitialize = "_initialize"

	// ImportModule is the module name of the optional host functions.
	ImportModule = "wahost"
	// ImportLog is `wahost.log(level i32, ptr i32, len i32)`.
	ImportLog = "log"
)

// ErrorFlag is bit 31 of the out_len half of wahost_decide's result: the
// output bytes are an error message, not a decision.
const ErrorFlag = 1 << 31

// MaxOutput is the largest output, decision or error message, the host
// accepts from a module.
const MaxOutput = 64 << 10

// Log levels of the wahost.log import.
const (
	LogDebug = 0
	LogInfo  = 1
	LogWarn  = 2
	LogError = 3
)

// PackResult packs an output pointer and length as wahost_decide returns
// them. Set isErr when the bytes are an error message.
func PackResult(ptr, n uint32, isErr bool) uint64 {
	if isErr {
		n |= ErrorFlag
	}
	return uint64(ptr)<<32 | uint64(n)
}

// UnpackResult splits wahost_decide's result into pointer, length and the
// error flag.
func UnpackResult(r uint64) (ptr, n uint32, isErr bool) {
	ptr = uint32(r >> 32)
	n = uint32(r)
	isErr = n&ErrorFlag != 0
	return ptr, n &^ ErrorFlag, isErr
}
