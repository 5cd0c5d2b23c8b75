package guest

import (
	"errors"
	"fmt"
	"testing"
)

// TestSprintf: for the verbs and types it knows, sprintf writes what
// fmt.Sprintf writes.
func TestSprintf(t *testing.T) {
	for _, tt := range []struct {
		format string
		args   []any
	}{
		{"plain", nil},
		{"%s and %v", []any{"a", errors.New("b")}},
		{"%d %d %d %v", []any{1, int64(-2), uint32(3), true}},
		{"%q 100%%", []any{"quo\"te"}},
		{"%v", []any{nil}},
	} {
		if got, want := sprintf(tt.format, tt.args...), fmt.Sprintf(tt.format, tt.args...); got != want {
			t.Errorf("sprintf(%q) = %q, want %q", tt.format, got, want)
		}
	}
}
