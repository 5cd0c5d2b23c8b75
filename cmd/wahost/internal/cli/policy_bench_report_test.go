package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeptSections keeps what follows the marker of an existing report
// and nothing of a report without one.
func TestKeptSections(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, old, want string
	}{
		{"no file", "", ""},
		{"no marker", "# Performance\n\n| a | b |\n", ""},
		{"marker", "# Performance\n\nold figures\n" + keptMarker + "\n\n## Events\n\nfigures\n",
			"\n" + keptMarker + "\n\n## Events\n\nfigures\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".md")
			if tt.old != "" {
				if err := os.WriteFile(path, []byte(tt.old), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := string(keptSections(path)); got != tt.want {
				t.Errorf("keptSections = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestHostRows reads go test -bench output, several runs of each
// benchmark, into the P2 and P4 rows, by the median of the runs; a
// figure with no run says it was not measured.
func TestHostRows(t *testing.T) {
	out := `goos: linux
BenchmarkStorm-2   	       1	1139019013 ns/op	     29923 alloc-B/decision	      8797 decisions/s	         1.227 s-host-cpu	         0.7900 s-pg-cpu	         1.137 s-to-persist
BenchmarkStorm-2   	       1	 978141843 ns/op	     30449 alloc-B/decision	     10227 decisions/s	         1.010 s-host-cpu	         0.6700 s-pg-cpu	         0.9778 s-to-persist
BenchmarkStorm-2   	       1	1008450846 ns/op	     30243 alloc-B/decision	      9931 decisions/s	         1.092 s-host-cpu	         0.6600 s-pg-cpu	         1.007 s-to-persist
BenchmarkDeliver/postgres/live/workers=4-2         	   10000	    192554 ns/op	      5193 events/s	         4.222 p50-ms	        13.09 p99-ms	        14.53 p99-uow-ms
BenchmarkDeliver/postgres/live/workers=16-2        	   10000	    179006 ns/op	      5586 events/s	         2.803 p50-ms	         8.758 p99-ms	        10.65 p99-uow-ms
BenchmarkDeliver/postgres/live-alone/workers=4-2   	   10000	    170991 ns/op	      5848 events/s	         3.536 p50-ms	        13.48 p99-ms	        14.41 p99-uow-ms
PASS
`
	path := filepath.Join(t.TempDir(), "bench.txt")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	runs, err := readGoBench([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	rows := hostRows(runs)
	if want := "1.01 s, 9,931 decisions/s (CPU: host 1.09 s, PostgreSQL 0.67 s); median of 3"; rows[0].measured != want {
		t.Errorf("P2 = %q, want %q", rows[0].measured, want)
	}
	if want := "group commit, 4 enqueuers: 5,193 events/s, p99 13 ms; a transaction per event: 5,848 events/s, p99 13 ms; median of 1"; rows[1].measured != want {
		t.Errorf("P4 = %q, want %q", rows[1].measured, want)
	}
	for _, row := range hostRows(goBenchRuns{}) {
		if !strings.HasPrefix(row.measured, "not measured") {
			t.Errorf("%s with no run = %q", row.figure, row.measured)
		}
	}
}
