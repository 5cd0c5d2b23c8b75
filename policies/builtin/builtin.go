// Package builtin holds the policy modules compiled into wahost, addressed
// by names of the form "builtin:NAME". The default policy's module is built
// from policies/default/wasm by `make policies`, committed, and embedded
// here so that `go build` needs no WebAssembly toolchain; `make verify`
// rebuilds it and fails if the committed file differs.
package builtin

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
)

// Prefix marks a policy reference as a built-in module.
const Prefix = "builtin:"

// DefaultName is the reference of the default policy.
const DefaultName = Prefix + "default"

//go:embed default.wasm
var defaultWasm []byte

var modules = map[string][]byte{
	DefaultName: defaultWasm,
}

// IsBuiltin reports whether ref names a built-in module.
func IsBuiltin(ref string) bool { return strings.HasPrefix(ref, Prefix) }

// Lookup returns the module a built-in reference names. The returned bytes
// are shared: do not modify them.
func Lookup(ref string) ([]byte, error) {
	if b, ok := modules[ref]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("unknown built-in policy %q (have %s)", ref, strings.Join(Names(), ", "))
}

// Names lists the built-in references.
func Names() []string {
	out := make([]string, 0, len(modules))
	for n := range modules {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
