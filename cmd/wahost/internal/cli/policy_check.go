package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/policies/conformance"
	"github.com/wahost/wahost/runtime"
)

func runPolicyCheck(ctx context.Context, args []string, stdio Stdio) int {
	var pf policyFlags
	fs := newFlags("wahost policy check", "wahost policy check [flags] FILE|builtin:default", stdio)
	pf.register(fs, false)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	ref := fs.Arg(0)
	settings, err := pf.loadSettings()
	if err != nil {
		fmt.Fprintf(stdio.Err, "wahost policy check: %v\n", err)
		return exitUsage
	}
	e, err := pf.engine(ctx, stdio, nil)
	if err != nil {
		fmt.Fprintf(stdio.Err, "wahost policy check: %v\n", err)
		return exitFail
	}
	start := time.Now()
	m, src, err := pf.load(ctx, e, ref, settings)
	defer closeAll(m, e)
	out := stdio.Out
	fmt.Fprintf(out, "policy check %s\n", ref)
	if err != nil {
		var le *runtime.LoadError
		if errors.As(err, &le) {
			fmt.Fprintf(out, "  FAIL %s: %v\n", le.Stage, le.Err)
		} else {
			fmt.Fprintf(out, "  FAIL read: %v\n", err)
		}
		fmt.Fprintln(out, "FAIL: the module is not a valid wahost policy")
		return exitFail
	}
	info := m.Info()
	fmt.Fprintf(out, "  sha256 %s, %d bytes, loaded in %s\n", src.SHA256, len(src.Wasm), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(out, "  ok   compile, imports (WASI preview1 and wahost.log at most), exports and signatures\n")
	fmt.Fprintf(out, "  ok   ABI version %d.%d (host %d.%d)\n", info.ABIMajor, info.ABIMinor, abi.Major, abi.Minor)
	fmt.Fprintf(out, "  ok   _initialize (when exported) and the self-test decision\n")
	rep := conformance.RunMinor(ctx, m, info.ABIMinor, settings, pf.limits())
	for _, v := range rep.Violations {
		fmt.Fprintf(out, "  FAIL %s\n", v)
	}
	if !rep.OK() {
		fmt.Fprintf(out, "FAIL: %d of %d hostile and exhaustive inputs got no valid, deterministic decision\n", len(rep.Violations), rep.Cases)
		return exitFail
	}
	fmt.Fprintf(out, "  ok   %d hostile and exhaustive inputs, each decided validly and deterministically\n", rep.Cases)
	fmt.Fprintln(out, "PASS")
	return exitOK
}
