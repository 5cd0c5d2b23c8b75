// Package policies holds the example disconnect policies for policy
// authors: the same "office hours" policy written in Go (go/), Rust
// (rust/), C (c/) and AssemblyScript (assemblyscript/), each compiled to a
// WebAssembly module that implements wahost's policy ABI v1 (abi/SPEC.md),
// with scenario files they all pass (scenarios/) and build.sh, which
// builds them into build/<lang>.wasm. README.md is the guide.
//
// The package has no code of its own. Its tests build every example whose
// toolchain is installed, load each module with the runtime as wahost
// does, run the shared scenarios and the conformance suite of `wahost
// policy check` against it, and check that the four modules return the
// same bytes for every input.
package policies
