package cli

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// The figures that need PostgreSQL and the whole host (P2, the storm; P4,
// webhook delivery) are Go benchmarks of the host's packages, which the
// binary cannot run: make bench-report runs them with go test and hands
// their output to the report with --go-bench.

// goBenchRuns holds the runs of each benchmark in go test -bench output:
// the benchmark's name, without its -GOMAXPROCS suffix, to one map of
// metrics (unit to value) per run.
type goBenchRuns map[string][]map[string]float64

// readGoBench reads the benchmark lines of the go test outputs at paths.
func readGoBench(paths []string) (goBenchRuns, error) {
	runs := goBenchRuns{}
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			name, metrics, ok := parseBenchLine(sc.Text())
			if ok {
				runs[name] = append(runs[name], metrics)
			}
		}
		err = sc.Err()
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return runs, nil
}

// parseBenchLine parses one result line of go test -bench:
//
//	BenchmarkStorm-2   1   978141843 ns/op   10227 decisions/s   0.9778 s-to-persist
func parseBenchLine(line string) (name string, metrics map[string]float64, ok bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
		return "", nil, false
	}
	if _, err := strconv.Atoi(f[1]); err != nil {
		return "", nil, false
	}
	name = f[0]
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	metrics = make(map[string]float64, len(f)/2-1)
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return "", nil, false
		}
		metrics[f[i+1]] = v
	}
	return name, metrics, true
}

// median is the median of unit over the runs of name, and how many runs
// reported it.
func (g goBenchRuns) median(name, unit string) (float64, int) {
	var vs []float64
	for _, m := range g[name] {
		if v, ok := m[unit]; ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return 0, 0
	}
	slices.Sort(vs)
	return vs[len(vs)/2], len(vs)
}

// hostRows are the report's rows for P2 and P4 from runs; a figure whose
// benchmark is missing says so instead of a value.
func hostRows(runs goBenchRuns) []reportRow {
	const (
		storm   = "BenchmarkStorm"
		grouped = "BenchmarkDeliver/postgres/live/workers=4"
		alone   = "BenchmarkDeliver/postgres/live-alone/workers=4"
	)
	missing := "not measured (make bench-report runs it; it needs PostgreSQL)"
	p2 := reportRow{figure: "P2 storm: 10,000 disconnects decided, persisted, webhooks queued (PostgreSQL)", target: "≤ 1 s",
		measured: missing, command: "`go test -run '^$' -bench Storm -benchtime 1x ./host/executor/`"}
	if s, n := runs.median(storm, "s-to-persist"); n > 0 {
		host, _ := runs.median(storm, "s-host-cpu")
		pg, _ := runs.median(storm, "s-pg-cpu")
		rate, _ := runs.median(storm, "decisions/s")
		p2.measured = fmt.Sprintf("%.2f s, %s decisions/s (CPU: host %.2f s, PostgreSQL %.2f s); median of %d", s,
			thousands(rate), host, pg, n)
	}
	p4 := reportRow{figure: "P4 webhook delivery, PostgreSQL, live: enqueue → receiver's 2xx", target: "≥ 5,000 events/s, p99 ≤ 50 ms",
		measured: missing, command: "`go test -run '^$' -bench 'Deliver/postgres/live' -benchtime 10000x ./host/webhook/`"}
	if rate, n := runs.median(grouped, "events/s"); n > 0 {
		p99, _ := runs.median(grouped, "p99-ms")
		p4.measured = fmt.Sprintf("group commit, 4 enqueuers: %s events/s, p99 %.0f ms", thousands(rate), p99)
		if rate, m := runs.median(alone, "events/s"); m > 0 {
			p99, _ := runs.median(alone, "p99-ms")
			p4.measured += fmt.Sprintf("; a transaction per event: %s events/s, p99 %.0f ms", thousands(rate), p99)
		}
		p4.measured += fmt.Sprintf("; median of %d", n)
	}
	return []reportRow{p2, p4}
}

// thousands formats v as an integer with thousands separators: 10,227.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}
