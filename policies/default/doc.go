// Package defaultpolicy is wahost's default disconnect policy: the
// reconnect and cleanup table of Evolution API's disconnect guide, with
// every number a setting, plus the guards its users needed (a storm guard,
// a stop to 440 ping-pong, jitter).
//
// The same rules run in two places: compiled to WebAssembly (package
// policies/default/wasm, embedded by policies/builtin) as the module the host
// loads by default, and natively as the fallback the host uses whenever a
// module faults. A differential test keeps the two identical.
package defaultpolicy
