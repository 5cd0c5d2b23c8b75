package cli

import (
	"context"
	"fmt"

	"github.com/wahost/wahost/policies/scenario"
)

func runPolicyTest(ctx context.Context, args []string, stdio Stdio) int {
	var pf policyFlags
	fs := newFlags("wahost policy test", "wahost policy test --policy FILE|builtin:default SCENARIO.json...", stdio)
	pf.register(fs, true)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if pf.policy == "" || fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	files := make([]*scenario.File, 0, fs.NArg())
	for _, path := range fs.Args() {
		f, err := scenario.Load(path)
		if err != nil {
			fmt.Fprintf(stdio.Err, "wahost policy test: %v\n", err)
			return exitUsage
		}
		files = append(files, f)
	}
	settings, err := pf.loadSettings()
	if err != nil {
		fmt.Fprintf(stdio.Err, "wahost policy test: %v\n", err)
		return exitUsage
	}
	e, err := pf.engine(ctx, stdio, nil)
	if err != nil {
		fmt.Fprintf(stdio.Err, "wahost policy test: %v\n", err)
		return exitFail
	}
	m, _, err := pf.load(ctx, e, pf.policy, settings)
	defer closeAll(m, e)
	if err != nil {
		fmt.Fprintf(stdio.Err, "wahost policy test: %v\n", err)
		return exitFail
	}
	passed, failed := 0, 0
	for _, f := range files {
		res, err := scenario.Run(ctx, m, f, pf.limits())
		if err != nil {
			fmt.Fprintf(stdio.Err, "wahost policy test: %v\n", err)
			return exitUsage
		}
		for _, fail := range res.Failures {
			fmt.Fprintln(stdio.Out, fail)
		}
		passed += res.Passed
		failed += len(res.Failures)
	}
	fmt.Fprintf(stdio.Out, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return exitFail
	}
	return exitOK
}
