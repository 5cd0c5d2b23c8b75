// Command wasm is the default policy as a WebAssembly module: build it with
// `make policies`, which writes policies/builtin/default.wasm.
package main

import (
	defaultpolicy "github.com/wahost/wahost/policies/default"

	"github.com/wahost/wahost/abi/guest"
)

var policy defaultpolicy.Policy

// The policy reads the traffic object for degraded events only (Policy.Decide
// loads it then).
func init() { guest.Handle(policy.Decide, guest.LazyTraffic()) }

func main() {}
