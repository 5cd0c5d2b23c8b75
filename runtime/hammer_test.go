package runtime

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestHammerSwaps decides continuously on 8 goroutines while the slot's
// module is swapped 100 times: every decision succeeds, and every
// generation that left the slot is closed.
func TestHammerSwaps(t *testing.T) {
	t.Parallel()
	const (
		deciders = 8
		swaps    = 100
	)
	// A generous deadline: decisions take microseconds, but compiling on a
	// small machine under -race stalls goroutines now and then.
	e := newEngine(t, Config{CallTimeout: 10 * time.Second})
	s := NewSlot(SlotConfig{Logger: slog.New(slog.DiscardHandler)})
	modules := [][]byte{readModule(t, "fixed"), readModule(t, "echo")}
	load := func(i int) *Module {
		m, err := e.Load(context.Background(), "hammer", modules[i%2], LoadOptions{SelfTestInput: selfTest})
		if err != nil {
			t.Fatalf("load %d: %v", i, err)
		}
		return m
	}
	if _, err := s.Swap(load(0)); err != nil {
		t.Fatal(err)
	}

	var decisions, failures atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range deciders {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				out, err := s.Decide(context.Background(), selfTest)
				if err != nil || (string(out) != fixedDecision && string(out) != string(selfTest)) {
					if failures.Add(1) <= 5 {
						t.Errorf("decision %s, %v", out, err)
					}
					continue
				}
				decisions.Add(1)
			}
		})
	}
	for i := 1; i < swaps; i++ {
		if _, err := s.Swap(load(i)); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()

	st := s.Stats()
	t.Logf("%d decisions during %d swaps", decisions.Load(), swaps)
	if failures.Load() != 0 || st.Faults[KindClosed] != 0 || len(st.Faults) != 0 {
		t.Errorf("%d failed decisions, faults %v", failures.Load(), st.Faults)
	}
	if st.Swaps != swaps || st.Generation != swaps || st.Retired != swaps-2 || st.Closed != swaps-2 {
		t.Errorf("after swapping: %+v; want every retired generation closed", st)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Retired != swaps || st.Closed != swaps {
		t.Errorf("after closing: retired %d, closed %d; want %d", st.Retired, st.Closed, swaps)
	}
	if es := e.Stats(); es.Loaded != swaps || es.Live != 0 {
		t.Errorf("engine: %+v, want %d loaded and none live", es, swaps)
	}
}
