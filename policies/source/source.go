// Package source resolves policy references — a file path or a built-in
// name such as "builtin:default" — to module bytes, and builds the load
// options every module is checked with: the ABI's decision validation and
// the canonical self-test with the configured settings.
package source

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/policies/builtin"
	"github.com/wahost/wahost/runtime"
)

// MaxModuleSize is the largest module file wahost reads.
const MaxModuleSize = 64 << 20

// Module is a policy module's bytes and identity.
type Module struct {
	// Ref is the reference it was read from.
	Ref string
	// Wasm is the module.
	Wasm []byte
	// SHA256 is the hex digest of Wasm.
	SHA256 string
}

// Read resolves ref. If wantSHA256 is not empty the module's digest must
// equal it (a pinned module).
func Read(ref, wantSHA256 string) (*Module, error) {
	var b []byte
	var err error
	switch {
	case ref == "":
		return nil, fmt.Errorf("no policy given: name a .wasm file or %s", builtin.DefaultName)
	case builtin.IsBuiltin(ref):
		b, err = builtin.Lookup(ref)
	default:
		b, err = readFile(ref)
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	m := &Module{Ref: ref, Wasm: b, SHA256: hex.EncodeToString(sum[:])}
	if want := strings.ToLower(strings.TrimSpace(wantSHA256)); want != "" && want != m.SHA256 {
		return nil, fmt.Errorf("policy %s has sha256 %s, but the config pins %s", ref, m.SHA256, want)
	}
	return m, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxModuleSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading policy %s: %w", path, err)
	}
	if len(b) > MaxModuleSize {
		return nil, fmt.Errorf("policy %s is larger than the %d bytes a module may have", path, MaxModuleSize)
	}
	return b, nil
}

// LoadOptions returns the options a module is loaded with: its self-test
// decides the canonical input with settings, and every decision must be
// valid under limits.
func LoadOptions(settings abi.Settings, limits abi.Limits) runtime.LoadOptions {
	return runtime.LoadOptions{
		SelfTestInput: abi.SelfTestInput(settings).AppendJSON(nil),
		Validate: func(out []byte) error {
			_, err := abi.ParseDecision(out, limits)
			return err
		},
		Input: abi.InputForMinor,
	}
}
