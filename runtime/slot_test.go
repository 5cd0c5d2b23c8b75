package runtime

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// eventLog records slot events.
type eventLog struct {
	mu     sync.Mutex // guards events
	events []Event
}

func (l *eventLog) record(ev Event) {
	l.mu.Lock()
	l.events = append(l.events, ev)
	l.mu.Unlock()
}

func (l *eventLog) kinds() []EventKind {
	l.mu.Lock()
	defer l.mu.Unlock()
	kinds := make([]EventKind, len(l.events))
	for i, ev := range l.events {
		kinds[i] = ev.Kind
	}
	return kinds
}

func (l *eventLog) last() Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.events[len(l.events)-1]
}

// newSlot returns a slot with a fake clock and an event log, closed at the
// end of the test.
func newSlot(t *testing.T, b BreakerConfig) (*Slot, *fakeClock, *eventLog) {
	t.Helper()
	clock, events := newFakeClock(), &eventLog{}
	s := NewSlot(SlotConfig{Breaker: b, OnEvent: events.record, Clock: clock.Now, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("closing slot: %v", err)
		}
	})
	return s, clock, events
}

func swap(t *testing.T, s *Slot, m *Module) uint64 {
	t.Helper()
	gen, err := s.Swap(m)
	if err != nil {
		t.Fatalf("Swap: %v", err)
	}
	return gen
}

func decide(t *testing.T, s *Slot, input string) string {
	t.Helper()
	out, err := s.Decide(context.Background(), []byte(input))
	if err != nil {
		t.Fatalf("Decide(%s): %v", input, err)
	}
	return string(out)
}

func equalKinds(a, b []EventKind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSlotEmpty(t *testing.T) {
	t.Parallel()
	s, _, _ := newSlot(t, BreakerConfig{})
	if _, err := s.Decide(context.Background(), selfTest); !errors.Is(err, ErrNoModule) {
		t.Fatalf("Decide on an empty slot = %v, want ErrNoModule", err)
	}
	if st := s.Stats(); st.Generation != 0 || st.Current != nil || !st.Healthy {
		t.Errorf("stats = %+v", st)
	}
}

func TestSlotSwapRetiresGenerations(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	s, _, events := newSlot(t, BreakerConfig{})
	a, b, c := load(t, e, "fixed"), load(t, e, "echo"), load(t, e, "echo")

	if gen := swap(t, s, a); gen != 1 {
		t.Errorf("first generation = %d", gen)
	}
	if got := decide(t, s, `{"x":1}`); got != fixedDecision {
		t.Errorf("generation 1 decided %s", got)
	}
	swap(t, s, b)
	if got := decide(t, s, `{"x":1}`); got != `{"x":1}` {
		t.Errorf("generation 2 decided %s", got)
	}
	st := s.Stats()
	if st.Generation != 2 || st.Current.SHA256 != b.SHA256() || st.LastKnownGood == nil || st.LastKnownGood.SHA256 != a.SHA256() {
		t.Fatalf("after two swaps: %+v", st)
	}
	if st.LastKnownGood.Pool.Live != 0 {
		t.Errorf("last-known-good keeps %d idle instances", st.LastKnownGood.Pool.Live)
	}
	swap(t, s, c) // a leaves the slot
	if _, err := s.Swap(c); err == nil {
		t.Error("swapping in the current module again succeeded")
	}
	<-a.Done()
	if st := s.Stats(); st.Retired != 1 || st.Closed != 1 || st.Swaps != 3 {
		t.Errorf("after three swaps: %+v", st)
	}
	want := []EventKind{EventSwap, EventSwap, EventSwap, EventClosed}
	if got := events.kinds(); !equalKinds(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
	if ev := events.last(); ev.Module.SHA256 != a.SHA256() {
		t.Errorf("closed event for %+v", ev.Module)
	}
}

// TestSlotDrainsInFlightCalls: a call running on a generation that leaves
// the slot finishes there, and the generation closes when it returns.
func TestSlotDrainsInFlightCalls(t *testing.T) {
	t.Parallel()
	// The held call keeps an execution slot; loading needs another.
	e := newEngine(t, Config{MaxConcurrentCalls: 2})
	s, _, _ := newSlot(t, BreakerConfig{})
	a := load(t, e, "fixed")
	taken, release := make(chan struct{}), make(chan struct{})
	a.pool.onTake = func() { taken <- struct{}{}; <-release }
	swap(t, s, a)
	result := make(chan string, 1)
	go func() {
		out, err := s.Decide(context.Background(), selfTest)
		if err != nil {
			result <- err.Error()
			return
		}
		result <- string(out)
	}()
	<-taken
	swap(t, s, load(t, e, "echo"))
	swap(t, s, load(t, e, "echo")) // a leaves the slot with a call in flight
	if st := s.Stats(); st.Retired != 1 || st.Closed != 0 {
		t.Fatalf("while draining: retired %d, closed %d", st.Retired, st.Closed)
	}
	if got := decide(t, s, `{"new":true}`); got != `{"new":true}` {
		t.Errorf("new calls go to %s", got)
	}
	close(release)
	if got := <-result; got != fixedDecision {
		t.Fatalf("in-flight call = %s, want the old generation's decision", got)
	}
	<-a.Done()
	if st := s.Stats(); st.Closed != 1 {
		t.Errorf("after draining: closed %d", st.Closed)
	}
}

func TestSlotRevertsToLastKnownGood(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	s, _, events := newSlot(t, BreakerConfig{Threshold: 3, Window: time.Minute})
	good, bad := load(t, e, "fixed"), load(t, e, "echo")
	swap(t, s, good)
	swap(t, s, bad)
	for i := range 3 {
		if _, err := s.Decide(context.Background(), []byte("T")); !errors.Is(err, ErrTrap) {
			t.Fatalf("fault %d = %v", i, err)
		}
	}
	if got := decide(t, s, `{"x":1}`); got != fixedDecision {
		t.Errorf("after the trip, decided %s; want the last-known-good module", got)
	}
	<-bad.Done()
	want := []EventKind{EventSwap, EventSwap, EventRevert, EventClosed}
	if got := events.kinds(); !equalKinds(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	st := s.Stats()
	if st.Generation != 3 || st.Reverts != 1 || st.Trips != 1 || st.LastKnownGood != nil || !st.Healthy ||
		st.Faults[KindTrap] != 3 || st.Current.SHA256 != good.SHA256() {
		t.Errorf("stats = %+v", st)
	}
}

func TestSlotUnhealthyWithoutLastKnownGood(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	s, clock, events := newSlot(t, BreakerConfig{Threshold: 2, Window: time.Minute, Cooldown: 30 * time.Second})
	m := load(t, e, "echo")
	swap(t, s, m)
	for range 2 {
		s.Decide(context.Background(), []byte("T"))
	}
	if got := events.kinds(); !equalKinds(got, []EventKind{EventSwap, EventUnhealthy}) {
		t.Fatalf("events = %v", got)
	}
	if ev := events.last(); !errors.Is(ev.Err, ErrTrap) || ev.Module.SHA256 != m.SHA256() {
		t.Errorf("unhealthy event = %+v", ev)
	}
	calls := m.Info().Calls
	if _, err := s.Decide(context.Background(), selfTest); !errors.Is(err, ErrUnhealthy) {
		t.Fatalf("Decide while unhealthy = %v, want ErrUnhealthy", err)
	}
	if m.Info().Calls != calls {
		t.Error("an unhealthy module was called")
	}
	if st := s.Stats(); st.Healthy || !st.UnhealthyUntil.Equal(clock.Now().Add(30*time.Second)) {
		t.Errorf("stats while unhealthy: healthy %v until %v", st.Healthy, st.UnhealthyUntil)
	}
	clock.Advance(30 * time.Second)
	if got := decide(t, s, `{"x":1}`); got != `{"x":1}` {
		t.Errorf("after the cooldown decided %s", got)
	}
	// A tripped module is not kept as last-known-good.
	swap(t, s, load(t, e, "fixed"))
	<-m.Done()
	if st := s.Stats(); st.LastKnownGood != nil {
		t.Errorf("tripped module kept as last-known-good")
	}
}

func TestSlotBreakerIgnoresCallerAndPolicyErrors(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{CallTimeout: time.Minute})
	s, _, events := newSlot(t, BreakerConfig{Threshold: 1})
	swap(t, s, load(t, e, "echo"))
	s.Decide(context.Background(), []byte("E"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Decide(ctx, selfTest)
	if got := events.kinds(); len(got) != 1 {
		t.Errorf("events = %v, want only the swap", got)
	}
	if st := s.Stats(); st.Faults[KindGuestError] != 1 || st.Faults[KindCanceled] != 1 || st.Trips != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestSlotClose(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	s, _, _ := newSlot(t, BreakerConfig{})
	a, b := load(t, e, "fixed"), load(t, e, "echo")
	swap(t, s, a)
	swap(t, s, b)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-a.Done()
	<-b.Done()
	if st := s.Stats(); st.Retired != 2 || st.Closed != 2 {
		t.Errorf("stats = %+v", st)
	}
	if _, err := s.Decide(context.Background(), selfTest); !errors.Is(err, ErrNoModule) {
		t.Errorf("Decide after Close = %v", err)
	}
	c := load(t, e, "fixed")
	if _, err := s.Swap(c); !errors.Is(err, ErrSlotClosed) {
		t.Errorf("Swap after Close = %v", err)
	}
	c.Close(context.Background())
	if _, err := s.Swap(c); err == nil {
		t.Error("swapping in a closed module succeeded")
	}
}

func TestBreaker(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		faults []time.Duration // offsets from start
		trips  []bool
	}{
		{"below threshold", []time.Duration{0, time.Second}, []bool{false, false}},
		{"threshold within window", []time.Duration{0, time.Second, 2 * time.Second}, []bool{false, false, true}},
		{"spread over more than the window", []time.Duration{0, 30 * time.Second, 61 * time.Second}, []bool{false, false, false}},
		{"old fault slides out", []time.Duration{0, 50 * time.Second, 70 * time.Second, 80 * time.Second}, []bool{false, false, false, true}},
		{"reset after a trip", []time.Duration{0, 1, 2, 3, 4, 5}, []bool{false, false, true, false, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBreaker(BreakerConfig{Threshold: 3, Window: time.Minute})
			for i, d := range tt.faults {
				if got := b.record(start.Add(d)); got != tt.trips[i] {
					t.Errorf("fault %d at %v: tripped = %v, want %v", i, d, got, tt.trips[i])
				}
			}
		})
	}
}
