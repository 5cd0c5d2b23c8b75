package cli

import (
	"context"
	"fmt"

	"github.com/wahost/wahost/abi"
	defaultpolicy "github.com/wahost/wahost/policies/default"
)

func runPolicyEval(ctx context.Context, args []string, stdio Stdio) int {
	var pf policyFlags
	var inputPath string
	fs := newFlags("wahost policy eval", "wahost policy eval --policy FILE|"+"builtin:default [--input FILE] [flags]", stdio)
	pf.register(fs, true)
	fs.StringVar(&inputPath, "input", "", "the input document (default: standard input)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if pf.policy == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	raw, err := readInput(inputPath, stdio.In)
	if err != nil {
		fmt.Fprintf(stdio.Err, "wahost policy eval: reading input: %v\n", err)
		return exitUsage
	}
	var in abi.Input
	if err := abi.DecodeInput(raw, &in); err != nil {
		fmt.Fprintf(stdio.Err, "wahost policy eval: %v\n", err)
		return exitUsage
	}
	settings, err := pf.loadSettings()
	if err != nil {
		fmt.Fprintf(stdio.Err, "wahost policy eval: %v\n", err)
		return exitUsage
	}
	if settings != nil {
		in.Settings = settings
	}
	input := in.AppendJSON(nil)

	e, err := pf.engine(ctx, stdio, nil)
	if err != nil {
		fmt.Fprintf(stdio.Err, "wahost policy eval: %v\n", err)
		return exitFail
	}
	m, _, err := pf.load(ctx, e, pf.policy, in.Settings)
	defer closeAll(m, e)
	if err == nil {
		var out []byte
		if out, err = m.Decide(ctx, input); err == nil {
			fmt.Fprintf(stdio.Out, "%s\n", out)
			return exitOK
		}
	}
	fmt.Fprintf(stdio.Err, "wahost policy eval: %v\n", err)
	return printFallback(&in, stdio)
}

// printFallback prints the decision the host would carry out when the
// module cannot answer: the native default policy's.
func printFallback(in *abi.Input, stdio Stdio) int {
	var p defaultpolicy.Policy
	d := p.Fallback(in)
	fmt.Fprintln(stdio.Err, "wahost policy eval: the host's fallback decision follows")
	fmt.Fprintf(stdio.Out, "%s\n", d.AppendJSON(nil))
	return exitFail
}
