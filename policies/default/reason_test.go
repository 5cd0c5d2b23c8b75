package defaultpolicy

import (
	"strconv"
	"sync"
	"testing"
)

// TestBackoffReason: a memoized reason is the one the rule writes, for
// keys that share a slot as for the rest, from any number of goroutines.
func TestBackoffReason(t *testing.T) {
	codes := []int{428, 408, 440, 515, 503, 500, 499, -1, 0}
	maxes := []int64{1, 5, 100, 1 << 40}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for round := range 3 {
				for _, code := range codes {
					for attempt := int64(1); attempt <= 70; attempt++ {
						m := maxes[(int(attempt)+g+round)%len(maxes)]
						want := describe(code) + "; attempt " + strconv.FormatInt(attempt, 10) + " of " + strconv.FormatInt(m, 10)
						if got := backoffReason(code, attempt, m); got != want {
							t.Errorf("backoffReason(%d, %d, %d) = %q, want %q", code, attempt, m, got, want)
							return
						}
					}
				}
			}
		})
	}
	wg.Wait()
}
