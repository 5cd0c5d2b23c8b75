// Package runtime runs disconnect policy modules: WebAssembly modules that
// implement the ABI of package abi. It is the only package of wahost that
// imports github.com/tetratelabs/wazero.
//
// It owns:
//
//   - the Engine: one wazero configuration (compiler, memory cap) and a
//     compilation cache, optionally on disk;
//   - termination: every module is rewritten at load (meter) so that each
//     function entry and loop header charges fuel; a call that spends its
//     budget traps, deterministically, and a deadline timer, the caller's
//     context and Module.Close stop a call by emptying its fuel (guard);
//   - loading: Engine.Load compiles a module and validates it completely
//     (imports, exports and signatures, _initialize, ABI version, a
//     self-test decision) before anyone can call it, and says which check
//     rejected it;
//   - decisions: Module.Decide runs one decision on an instance taken from
//     a bounded pool, under a fuel budget, a deadline and a memory cap. Every
//     failure is a *Fault with a FaultKind; an instance that failed is
//     discarded, never reused, and instances are recycled after a number of
//     calls or once their memory has grown too much;
//   - generations: a Slot holds the current module and the last-known-good
//     one, swaps atomically, lets in-flight calls finish on the old
//     generation and closes it once drained, and reverts to the
//     last-known-good module when a breaker sees too many faults.
//
// The runtime does not interpret the input or decision documents: callers
// pass a validation function with LoadOptions and make a fallback decision
// themselves when Decide returns an error.
//
// Guests are sandboxed: the only host functions are wahost.log and WASI
// preview1 (offered because Go, Rust and wasi-libc guests need it), with no
// files, no environment, no arguments, no network, fake clocks and a
// deterministic random source. Guest output on stdout and stderr and
// wahost.log lines go to the host logger, rate limited per module.
//
// The hostile and well-behaved test modules live in testdata/ as WebAssembly
// text next to their compiled form; regenerate them with go generate.
package runtime

//go:generate sh testdata/build.sh
