//go:build wahost_testserver

package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestSoakFlags: a soak told to run nothing says so in one line and exits 2.
func TestSoakFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--instances", "0"},
		{"--duration", "0s"},
		{"--interval", "-1s"},
	} {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), append([]string{"soak"}, args...), Stdio{Out: &out, Err: &errOut})
		if code != exitUsage || strings.Count(strings.TrimSpace(errOut.String()), "\n") != 0 || !strings.Contains(errOut.String(), "must be positive") {
			t.Errorf("soak %v = %d, %q", args, code, errOut.String())
		}
	}
}
