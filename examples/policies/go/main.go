// Command go is the "office hours" example disconnect policy, written in Go
// on wahost's guest SDK (abi/guest). It reconnects with exponential backoff
// and jitter, fast during office hours and slowly outside them; logs out
// and purges everything when the device was unlinked (401, 403); ends the
// login when the QR codes run out; and never deletes the session's keys
// outside office hours, when nobody is there to scan a new QR code.
//
// The same policy is written in Rust, C and AssemblyScript next to this
// directory, with the same arithmetic, so the four modules return the same
// bytes for every input; examples/policies/README.md lists the rules and
// the settings.
//
// Build it as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o office-hours.wasm .
package main

import "github.com/wahost/wahost/abi/guest"

// The policy never reads the input's traffic object, so it asks the SDK
// not to decode it (guest.LazyTraffic): a policy that does read it calls
// in.LoadTraffic where it needs it.
func init() { guest.Handle(decide, guest.LazyTraffic()) }

// main is empty: the module is a reactor, and the host calls the exports
// that guest.Handle provides.
func main() {}
