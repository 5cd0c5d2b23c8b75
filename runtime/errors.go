package runtime

import (
	"errors"
	"fmt"
)

// FaultKind names what went wrong in a decision call.
type FaultKind string

// The kinds of Fault. A fault whose kind is ModuleAtFault discards the
// instance that produced it and counts against the module's health.
const (
	// KindTrap: the guest trapped (unreachable, out-of-bounds access, stack
	// overflow, division by zero, ...) or exited through WASI proc_exit.
	KindTrap FaultKind = "trap"
	// KindTimeout: the call spent its fuel (Config.FuelPerMillisecond
	// times Config.CallTimeout), deterministically, or ran past
	// Config.CallTimeout, the backstop. Either way it was stopped: loops
	// and recursion alike charge fuel.
	KindTimeout FaultKind = "timeout"
	// KindMemory: the guest trapped after the host refused to grow its
	// memory past Config.MemoryLimitPages, or could not allocate the input
	// buffer.
	KindMemory FaultKind = "memory"
	// KindInvalidOutput: the output is not UTF-8 or failed the
	// LoadOptions.Validate check.
	KindInvalidOutput FaultKind = "invalid_output"
	// KindOutputTooLarge: the output is longer than abi.MaxOutput.
	KindOutputTooLarge FaultKind = "output_too_large"
	// KindOutOfBounds: the input buffer or the output lies outside the
	// guest's memory.
	KindOutOfBounds FaultKind = "out_of_bounds"
	// KindGuestError: the policy returned an error message (the ABI's error
	// flag) instead of a decision. The instance is kept: this is a normal
	// answer, not a crash.
	KindGuestError FaultKind = "guest_error"
	// KindCanceled: the caller's context ended before the decision. It says
	// nothing about the module.
	KindCanceled FaultKind = "canceled"
	// KindBusy: no instance became free within Config.CallTimeout; every
	// instance was busy. It says nothing about the module by itself.
	KindBusy FaultKind = "busy"
	// KindClosed: the module was closed (retired after a swap, or shut down).
	KindClosed FaultKind = "closed"
	// KindUnhealthy: the Slot's breaker is open for the current module and
	// no last-known-good module was available; the call was not attempted.
	KindUnhealthy FaultKind = "unhealthy"
)

// ModuleAtFault reports whether a fault of this kind is the module's own
// failure: the instance is discarded and the fault feeds the Slot breaker.
func (k FaultKind) ModuleAtFault() bool {
	switch k {
	case KindTrap, KindTimeout, KindMemory, KindInvalidOutput, KindOutputTooLarge, KindOutOfBounds:
		return true
	}
	return false
}

// Sentinels matched by errors.Is against a *Fault of the same kind.
var (
	ErrTrap           = errors.New("policy trapped")
	ErrTimeout        = errors.New("policy timed out")
	ErrMemory         = errors.New("policy ran out of memory")
	ErrInvalidOutput  = errors.New("policy returned an invalid decision")
	ErrOutputTooLarge = errors.New("policy output too large")
	ErrOutOfBounds    = errors.New("policy output out of bounds")
	ErrGuestError     = errors.New("policy returned an error")
	ErrCanceled       = errors.New("policy call canceled")
	ErrBusy           = errors.New("policy instances busy")
	ErrClosed         = errors.New("policy module closed")
	ErrUnhealthy      = errors.New("policy module unhealthy")
)

var kindSentinels = map[FaultKind]error{
	KindTrap:           ErrTrap,
	KindTimeout:        ErrTimeout,
	KindMemory:         ErrMemory,
	KindInvalidOutput:  ErrInvalidOutput,
	KindOutputTooLarge: ErrOutputTooLarge,
	KindOutOfBounds:    ErrOutOfBounds,
	KindGuestError:     ErrGuestError,
	KindCanceled:       ErrCanceled,
	KindBusy:           ErrBusy,
	KindClosed:         ErrClosed,
	KindUnhealthy:      ErrUnhealthy,
}

// Fault is the error of a failed decision. The caller is expected to fall
// back to its native policy; Kind says why the module could not answer.
type Fault struct {
	// Kind classifies the failure.
	Kind FaultKind
	// Module is the name the module was loaded under.
	Module string
	// SHA256 is the hex digest of the module's bytes.
	SHA256 string
	// Err is the underlying cause; for KindGuestError, the policy's own
	// message.
	Err error
}

// Error implements error.
func (f *Fault) Error() string {
	return fmt.Sprintf("policy %s (%s): %s: %v", f.Module, shortHash(f.SHA256), f.Kind, f.Err)
}

// Unwrap returns the underlying cause.
func (f *Fault) Unwrap() error { return f.Err }

// FaultKind returns the fault's kind as text, for metrics labels.
func (f *Fault) FaultKind() string { return string(f.Kind) }

// Is matches the sentinel of the fault's kind, such as ErrTimeout.
func (f *Fault) Is(target error) bool {
	s, ok := kindSentinels[f.Kind]
	return ok && s == target
}

// Stage names a step of Engine.Load, in the order they run.
type Stage string

// The stages of Engine.Load.
const (
	// StageCompile: the bytes are not a valid module for this runtime.
	StageCompile Stage = "compile"
	// StageImports: the module imports something the host does not offer
	// (only wahost.log and WASI preview1 functions are offered).
	StageImports Stage = "imports"
	// StageExports: a required export is missing, has the wrong signature,
	// or the memory's initial size exceeds Config.MemoryLimitPages.
	StageExports Stage = "exports"
	// StageInstantiate: the first instance could not be created.
	StageInstantiate Stage = "instantiate"
	// StageInitialize: the optional _initialize export failed.
	StageInitialize Stage = "initialize"
	// StageABIVersion: wahost_abi_version failed or reported an
	// incompatible version.
	StageABIVersion Stage = "abi_version"
	// StageSelfTest: the decision on LoadOptions.SelfTestInput failed or
	// was invalid.
	StageSelfTest Stage = "self_test"
)

// LoadError is returned by Engine.Load when a module is rejected.
type LoadError struct {
	// Module is the name passed to Load.
	Module string
	// Stage is the check that rejected the module.
	Stage Stage
	// Err is the reason; for stages that run guest code it wraps a *Fault.
	Err error
}

// Error implements error.
func (e *LoadError) Error() string {
	return fmt.Sprintf("loading policy %s: %s: %v", e.Module, e.Stage, e.Err)
}

// Unwrap returns the reason.
func (e *LoadError) Unwrap() error { return e.Err }

// shortHash abbreviates a hex digest for messages.
func shortHash(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
