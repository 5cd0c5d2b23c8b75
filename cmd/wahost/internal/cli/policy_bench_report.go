package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/policies/builtin"
	defaultpolicy "github.com/wahost/wahost/policies/default"
	"github.com/wahost/wahost/policies/source"
	"github.com/wahost/wahost/runtime"
)

// report measures the performance figures in one run and renders them as
// docs/performance.md.
type report struct {
	ctx      context.Context
	duration time.Duration
	cacheDir string
	out      io.Writer // progress
	rows     []reportRow
	modules  []moduleRow
	host     []reportRow // P2 and P4, from the host's Go benchmarks
}

type reportRow struct {
	figure, target, measured, ratio, command string
}

type moduleRow struct {
	name                           string
	guaranteed, uninterrupted      time.Duration
	native                         time.Duration // 0 when the module has no native twin
	size                           int
	loadWithCache, loadColdCompile time.Duration
}

// runBenchReport measures every figure and writes the report to path.
func runBenchReport(ctx context.Context, path, examples string, goBench []string, duration time.Duration, stdio Stdio) int {
	runs, err := readGoBench(goBench)
	if err != nil {
		fmt.Fprintf(stdio.Err, "wahost policy bench: --go-bench: %v\n", err)
		return exitUsage
	}
	dir, err := os.MkdirTemp("", "wahost-bench-report-")
	if err != nil {
		fmt.Fprintf(stdio.Err, "wahost policy bench: %v\n", err)
		return exitFail
	}
	defer os.RemoveAll(dir)
	r := &report{ctx: ctx, duration: duration, cacheDir: filepath.Join(dir, "compiled"), out: stdio.Out, host: hostRows(runs)}
	if err := r.run(examples); err != nil {
		fmt.Fprintf(stdio.Err, "wahost policy bench: %v\n", err)
		return exitFail
	}
	if err := os.WriteFile(path, append(r.markdown(), keptSections(path)...), 0o644); err != nil {
		fmt.Fprintf(stdio.Err, "wahost policy bench: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdio.Out, "wrote %s\n", path)
	return exitOK
}

func (r *report) run(examples string) error {
	def, err := builtin.Lookup(builtin.DefaultName)
	if err != nil {
		return err
	}
	input := abi.SelfTestInput(nil)
	canonical := input.AppendJSON(nil)
	for i := range 300 {
		input.History = append(input.History, abi.HistoryEntry{
			AtMS: input.NowMS - int64(300-i)*int64(4*time.Minute/time.Millisecond), Kind: abi.KindDisconnected,
			Code: []int{428, 408, 503, 515, 500}[i%5], Action: abi.ActionReconnect, Step: 1 + i%3,
		})
	}
	long := input.AppendJSON(nil)

	// P1, P1g, P1b: the default policy with and without the guarantee and
	// its native twin, interleaved.
	guarded, err := r.load("default", def, false)
	if err != nil {
		return err
	}
	defer closeAll(guarded.m, guarded.e)
	bare, err := r.load("default", def, true)
	if err != nil {
		return err
	}
	defer closeAll(bare.m, bare.e)
	var native defaultpolicy.Policy
	p50 := r.interleave(map[string]func() error{
		"wasm":          decideFn(r.ctx, guarded.m, canonical),
		"uninterrupted": decideFn(r.ctx, bare.m, canonical),
		"native":        func() error { _, err := native.DecideJSON(r.ctx, canonical); return err },
		"wasm-300":      decideFn(r.ctx, guarded.m, long),
		"native-300":    func() error { _, err := native.DecideJSON(r.ctx, long); return err },
	})
	bench := "`go test -run '^$' -bench DefaultPolicy ./policies/builtin/`, `wahost policy bench --policy builtin:default`"
	r.rows = append(r.rows,
		reportRow{"P1 default policy, pooled, termination guaranteed (p50)", "≤ 10 µs, ≤ 25× native",
			us(p50["wasm"]) + " (native twin " + us(p50["native"]) + ")", ratio(p50["wasm"], p50["native"]) + " native", bench},
		reportRow{"P1g the guarantee's cost: same module, no interruption at all", "≤ 1.25×",
			us(p50["wasm"]) + " vs " + us(p50["uninterrupted"]), ratio(p50["wasm"], p50["uninterrupted"]), bench},
		reportRow{"P1b P1 with 300 history entries in the input (p50)", "≤ 50 µs",
			us(p50["wasm-300"]) + " (native twin " + us(p50["native-300"]) + ")", ratio(p50["wasm-300"], p50["native-300"]) + " native",
			"`go test -run '^$' -bench DefaultPolicy/history-300 ./policies/builtin/`"},
		r.host[0])
	r.modules = append(r.modules, moduleRow{name: "default (Go)", guaranteed: p50["wasm"], uninterrupted: p50["uninterrupted"],
		native: p50["native"], size: len(def), loadColdCompile: guarded.load})

	// P3: a swap to a module whose compiled code is in the cache.
	swap, first, err := r.swapTime(def, canonical)
	if err != nil {
		return err
	}
	r.modules[0].loadWithCache = swap
	r.rows = append(r.rows, reportRow{"P3 policy swap with the compilation cache (median of 5 loads)", "≤ 100 ms",
		ms(swap) + "; then the first decision, which wakes the module from the cache: " + ms(first), "",
		"`go test -run '^$' -bench Load/go-default/disk-cache ./runtime/`"},
		r.host[1])

	// P5: an idle host.
	rss, err := r.idleRSS()
	if err != nil {
		return err
	}
	r.rows = append(r.rows, reportRow{"P5 idle host RSS (`wahost serve`, no instance, built-in policy)", "≤ 40 MiB",
		fmt.Sprintf("%.1f MiB", float64(rss)/(1<<20)), "", "`wahost serve`, then `process_resident_memory_bytes` on /metrics"})

	// The examples: the same termination design.
	for _, lang := range []string{"c", "rust", "assemblyscript", "go"} {
		wasm, err := os.ReadFile(filepath.Join(examples, lang+".wasm"))
		if err != nil {
			fmt.Fprintf(r.out, "skipping the %s example: %v (make examples builds it)\n", lang, err)
			continue
		}
		row, err := r.module(lang, wasm, canonical)
		if err != nil {
			return err
		}
		r.modules = append(r.modules, row)
	}
	return nil
}

type loaded struct {
	e    *runtime.Engine
	m    *runtime.Module
	load time.Duration
}

// load loads wasm in an engine of its own, pooled, sharing the report's
// compilation cache.
func (r *report) load(name string, wasm []byte, unmetered bool) (loaded, error) {
	e, err := runtime.NewEngine(r.ctx, runtime.Config{PoolSize: 1, CacheDir: r.cacheDir, Unmetered: unmetered,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return loaded{}, err
	}
	start := time.Now()
	m, err := e.Load(r.ctx, name, wasm, source.LoadOptions(nil, abi.Limits{}))
	if err != nil {
		closeAll(nil, e)
		return loaded{}, fmt.Errorf("loading %s: %w", name, err)
	}
	return loaded{e, m, time.Since(start)}, nil
}

// module measures one example with and without the guarantee.
func (r *report) module(name string, wasm, input []byte) (moduleRow, error) {
	fmt.Fprintf(r.out, "measuring the %s example\n", name)
	g, err := r.load(name, wasm, false)
	if err != nil {
		return moduleRow{}, err
	}
	defer closeAll(g.m, g.e)
	b, err := r.load(name, wasm, true)
	if err != nil {
		return moduleRow{}, err
	}
	defer closeAll(b.m, b.e)
	p50 := r.interleave(map[string]func() error{
		"wasm": decideFn(r.ctx, g.m, input), "uninterrupted": decideFn(r.ctx, b.m, input),
	})
	return moduleRow{name: name, guaranteed: p50["wasm"], uninterrupted: p50["uninterrupted"], size: len(wasm),
		loadColdCompile: g.load}, nil
}

func decideFn(ctx context.Context, m *runtime.Module, input []byte) func() error {
	return func() error { _, err := m.Decide(ctx, input); return err }
}

// interleave runs each function in turn, in slices of 20 ms, for the
// report's duration each, and returns each one's median latency: turns
// spread the machine's noise over all of them alike.
func (r *report) interleave(fns map[string]func() error) map[string]time.Duration {
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range fns {
			if !yield(n) {
				return
			}
		}
	})
	lat := make(map[string][]time.Duration, len(fns))
	const slice = 20 * time.Millisecond
	for range max(1, int(r.duration/slice)) {
		for _, n := range names {
			l, err := measure(r.ctx, slice, fns[n])
			if err != nil {
				fmt.Fprintf(r.out, "%s: %v\n", n, err)
				continue
			}
			lat[n] = append(lat[n], l...)
		}
	}
	p50 := make(map[string]time.Duration, len(fns))
	for n, l := range lat {
		slices.Sort(l)
		if len(l) > 0 {
			p50[n] = l[len(l)/2]
		}
	}
	return p50
}

// swapTime is the median time of loading wasm again once its compiled
// code is in the cache, as Slot.Swap's caller pays it, and of the first
// decision after it (the module hibernates once loaded).
func (r *report) swapTime(wasm, input []byte) (load, first time.Duration, err error) {
	var loads, firsts []time.Duration
	for range 5 {
		l, err := r.load("default", wasm, false)
		if err != nil {
			return 0, 0, err
		}
		start := time.Now()
		_, err = l.m.Decide(r.ctx, input)
		firsts = append(firsts, time.Since(start))
		closeAll(l.m, l.e)
		if err != nil {
			return 0, 0, err
		}
		loads = append(loads, l.load)
	}
	slices.Sort(loads)
	slices.Sort(firsts)
	return loads[len(loads)/2], firsts[len(firsts)/2], nil
}

// idleRSS starts `wahost serve` on a fresh data directory with the
// built-in policy and returns its resident memory once it is up and idle.
func (r *report) idleRSS() (int64, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	addr := l.Addr().String()
	l.Close()
	data, err := os.MkdirTemp("", "wahost-idle-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(data)
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, "serve", "--addr", addr, "--data-dir", data, "--policy", builtin.DefaultName, "--log-level", "error")
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	fmt.Fprintf(r.out, "measuring an idle wahost serve\n")
	for ctx.Err() == nil {
		if _, err = metric(ctx, "http://"+addr+"/metrics", "process_resident_memory_bytes"); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		return 0, fmt.Errorf("waiting for wahost serve: %w", err)
	}
	time.Sleep(3 * time.Second) // idle: the start-up work is done
	return metric(ctx, "http://"+addr+"/metrics", "process_resident_memory_bytes")
}

// metric reads one unlabelled gauge from a Prometheus text endpoint.
func metric(ctx context.Context, url, name string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int64(f), err
		}
	}
	return 0, errors.New(name + " not found")
}

func (r *report) markdown() []byte {
	var b strings.Builder
	b.WriteString("# Performance\n\n")
	b.WriteString("Written by `make bench-report` (`wahost policy bench --report`); do not edit by hand. Every figure\n")
	b.WriteString("comes from one run on one machine, so compare the ratios rather than the absolute times.\n")
	fmt.Fprintf(&b, "Machine: %s/%s, %d CPUs, %s; measured %s", goruntime.GOOS, goruntime.GOARCH, goruntime.NumCPU(),
		goruntime.Version(), time.Now().UTC().Format("2006-01-02 15:04 MST"))
	if avg, err := os.ReadFile("/proc/loadavg"); err == nil {
		// One-shot figures (a load, a swap) move with the machine's load
		// far more than the medians of many decisions do.
		fmt.Fprintf(&b, ", load average %s", strings.Join(strings.Fields(string(avg))[:3], " "))
	}
	b.WriteString(".\n\n")
	b.WriteString("| figure | target | measured | ratio | command to reproduce |\n|---|---|---|---|---|\n")
	for _, row := range r.rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", row.figure, row.target, row.measured, row.ratio, row.command)
	}
	b.WriteString("\n## Every module with the same termination design\n\n")
	b.WriteString("Decisions on the canonical self-test input, pooled, median latency. *Guaranteed* is the module as\n")
	b.WriteString("wahost runs it: metered by fuel, with the deadline as the backstop. *Uninterruptible* is the same\n")
	b.WriteString("module with no way to stop it. *Load* compiles without a cache, then validates and self-tests.\n\n")
	b.WriteString("| module | size | guaranteed | uninterruptible | guarantee's cost | native twin | load (no cache) | load (cache) |\n|---|---|---|---|---|---|---|---|\n")
	for _, m := range r.modules {
		native, cached := "—", "—"
		if m.native > 0 {
			native = us(m.native)
		}
		if m.loadWithCache > 0 {
			cached = ms(m.loadWithCache)
		}
		fmt.Fprintf(&b, "| %s | %d KB | %s | %s | %s | %s | %s | %s |\n", m.name, (m.size+512)/1024, us(m.guaranteed),
			us(m.uninterrupted), ratio(m.guaranteed, m.uninterrupted), native, ms(m.loadColdCompile), cached)
	}
	b.WriteString("\nReproduce: `make bench-report`, or `make examples` and then\n")
	b.WriteString("`go run ./cmd/wahost policy bench --report docs/performance.md --examples examples/policies/build`.\n")
	return []byte(b.String())
}

func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)) }
func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", float64(a)/float64(b))
}

// keptMarker starts the part of docs/performance.md that other benchmarks
// write (the event sinks' figures): the report keeps it as it is.
const keptMarker = "<!-- kept by make bench-report -->"

// keptSections returns the part of the report at path from keptMarker on,
// with a blank line before it; nothing when there is none.
func keptSections(path string) []byte {
	old, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	i := bytes.Index(old, []byte(keptMarker))
	if i < 0 {
		return nil
	}
	return append([]byte("\n"), old[i:]...)
}
