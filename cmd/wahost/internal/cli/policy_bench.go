package cli

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/wahost/wahost/abi"
	defaultpolicy "github.com/wahost/wahost/policies/default"
	"github.com/wahost/wahost/runtime"
)

func runPolicyBench(ctx context.Context, args []string, stdio Stdio) int {
	var pf policyFlags
	var duration time.Duration
	var reportPath, examples string
	var goBench stringList
	fs := newFlags("wahost policy bench",
		"wahost policy bench --policy FILE|builtin:default [--duration 2s]\n       wahost policy bench --report FILE [--examples DIR] [--go-bench FILE]... [--duration 2s]", stdio)
	pf.register(fs, true)
	fs.DurationVar(&duration, "duration", 2*time.Second, "how long to run each measurement")
	fs.StringVar(&reportPath, "report", "", "measure every performance figure in one run and write them to this Markdown file")
	fs.StringVar(&examples, "examples", "examples/policies/build", "with --report: the directory of the built example modules")
	fs.Var(&goBench, "go-bench", "with --report: a file of `go test -bench` output holding the storm (P2) and delivery (P4) benchmarks; repeatable")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if reportPath != "" && fs.NArg() == 0 {
		return runBenchReport(ctx, reportPath, examples, goBench, duration, stdio)
	}
	if pf.policy == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	settings, err := pf.loadSettings()
	if err != nil {
		fmt.Fprintf(stdio.Err, "wahost policy bench: %v\n", err)
		return exitUsage
	}
	input := abi.SelfTestInput(settings).AppendJSON(nil)
	fmt.Fprintf(stdio.Out, "policy bench %s (input %d bytes, deadline %s)\n", pf.policy, len(input), pf.timeout)

	for _, mode := range []struct {
		name string
		tune func(*runtime.Config)
	}{
		{"pooled", func(c *runtime.Config) { c.PoolSize = 1 }},
		// The same module with no interruption at all: what the
		// termination guarantee (fuel checks, deadline) costs.
		{"uninterruptible", func(c *runtime.Config) { c.PoolSize = 1; c.Unmetered = true }},
		// A fresh instance for every call: instantiation and _initialize
		// included.
		{"cold", func(c *runtime.Config) { c.PoolSize = 1; c.RecycleAfterCalls = 1 }},
	} {
		e, err := pf.engine(ctx, stdio, mode.tune)
		if err != nil {
			fmt.Fprintf(stdio.Err, "wahost policy bench: %v\n", err)
			return exitFail
		}
		start := time.Now()
		m, _, err := pf.load(ctx, e, pf.policy, settings)
		if err != nil {
			closeAll(m, e)
			fmt.Fprintf(stdio.Err, "wahost policy bench: %v\n", err)
			return exitFail
		}
		load := time.Since(start)
		lat, err := measure(ctx, duration, func() error { _, err := m.Decide(ctx, input); return err })
		closeAll(m, e)
		if err != nil {
			fmt.Fprintf(stdio.Err, "wahost policy bench: %s: %v\n", mode.name, err)
			return exitFail
		}
		printLatencies(stdio, mode.name, lat)
		if mode.name == "pooled" {
			fmt.Fprintf(stdio.Out, "  %-15s %s (compile cache: %s)\n", "load", load.Round(time.Microsecond), orNone(pf.cacheDir))
		}
	}
	var native defaultpolicy.Policy
	lat, _ := measure(ctx, duration, func() error { _, err := native.DecideJSON(ctx, input); return err })
	printLatencies(stdio, "native", lat)
	return exitOK
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// measure runs fn repeatedly for about d and returns each call's latency.
func measure(ctx context.Context, d time.Duration, fn func() error) ([]time.Duration, error) {
	var lat []time.Duration
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		t := time.Now()
		if err := fn(); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t))
	}
	return lat, ctx.Err()
}

func printLatencies(stdio Stdio, name string, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	var total time.Duration
	for _, l := range lat {
		total += l
	}
	slices.Sort(lat)
	mean := total / time.Duration(len(lat))
	fmt.Fprintf(stdio.Out, "  %-15s %9.0f decisions/s  %8d ns/decision  p50 %s  p99 %s\n", name,
		float64(len(lat))/total.Seconds(), mean.Nanoseconds(),
		lat[len(lat)/2], lat[len(lat)*99/100])
}
