package cli

import (
	"os"
	"path/filepath"
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
