package abi_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The contract package builds for WebAssembly guests and depends on the
// standard library only, so that any policy author can use it.
func TestStdlibOnlyAndBuildsForWasip1(t *testing.T) {
	for _, pkg := range []string{"github.com/wahost/wahost/abi", "github.com/wahost/wahost/abi/guest"} {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg)
		cmd.Env = append(cmd.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s for wasip1: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if !strings.HasPrefix(dep, "github.com/wahost/wahost/abi") {
				t.Errorf("%s depends on %s, which is not in the standard library", pkg, dep)
			}
		}
	}
}
