package runtime

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestRecycleAfterCalls(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{RecycleAfterCalls: 3})
	m := load(t, e, "fixed") // the self-test's instance is closed after load
	for range 9 {
		if _, err := m.Decide(context.Background(), selfTest); err != nil {
			t.Fatal(err)
		}
	}
	// 9 calls, 3 per instance.
	if p := m.Info().Pool; p.Created != 4 || p.Recycled != 3 || p.Discarded != 0 || p.Live != 0 {
		t.Errorf("pool = %+v, want 3 created on demand and recycled", p)
	}
}

func TestRecycleAboveBytes(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{RecycleAboveBytes: 4 * pageSize})
	m := load(t, e, "echo") // 2 pages
	if _, err := m.Decide(context.Background(), selfTest); err != nil {
		t.Fatal(err)
	}
	if p := m.Info().Pool; p.Recycled != 0 {
		t.Fatalf("recycled below the size: %+v", p)
	}
	if _, err := m.Decide(context.Background(), []byte("W")); err != nil { // grows to 10 pages
		t.Fatal(err)
	}
	if p := m.Info().Pool; p.Recycled != 1 || p.Live != 0 {
		t.Errorf("pool = %+v, want the grown instance recycled", p)
	}
}

func TestPoolBoundsInstances(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{PoolSize: 2})
	m := load(t, e, "echo")
	var wg sync.WaitGroup
	errs := make(chan error, 8*50)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if _, err := m.Decide(context.Background(), selfTest); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if p := m.Info().Pool; p.Created > 2 || p.Live > 2 {
		t.Errorf("pool = %+v, want at most 2 instances", p)
	}
}

// TestPoolWaitsForInstance: a caller finding every instance busy waits for
// one to be returned.
func TestPoolWaitsForInstance(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{PoolSize: 1, CallTimeout: time.Minute})
	m := load(t, e, "echo")
	taken, release, waiting := make(chan struct{}, 2), make(chan struct{}), make(chan struct{})
	m.pool.onTake = func() {
		taken <- struct{}{}
		<-release
	}
	var once sync.Once
	m.pool.onWait = func() { once.Do(func() { close(waiting) }) }
	results := make(chan error, 2)
	decide := func() {
		out, err := m.Decide(context.Background(), selfTest)
		if err == nil && string(out) != string(selfTest) {
			err = errors.New("wrong decision " + string(out))
		}
		results <- err
	}
	go decide()
	<-taken // the first caller holds the only instance
	go decide()
	<-waiting
	close(release)
	for range 2 {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	if p := m.Info().Pool; p.Created != 2 { // the load's, then one shared in turn
		t.Errorf("pool = %+v, want the one instance shared in turn", p)
	}
}

// TestPoolBusy: a caller gives up waiting for an instance after
// Config.CallTimeout, with a fault that does not blame the module.
func TestPoolBusy(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{PoolSize: 1, CallTimeout: 200 * time.Millisecond})
	m := load(t, e, "echo")
	taken, release := make(chan struct{}, 1), make(chan struct{})
	m.pool.onTake = func() {
		taken <- struct{}{}
		<-release
	}
	held := make(chan error, 1)
	go func() {
		_, err := m.Decide(context.Background(), selfTest)
		held <- err
	}()
	<-taken
	m.pool.onTake = nil // set before the waiter starts, read after it gets a token
	_, err := m.Decide(context.Background(), selfTest)
	f, ok := errors.AsType[*Fault](err)
	if !ok || f.Kind != KindBusy || f.Kind.ModuleAtFault() {
		t.Fatalf("Decide with every instance held = %v, want a busy fault", err)
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
}

// TestEngineBoundsConcurrentCalls: instances checked out across all of an
// engine's modules never exceed Config.MaxConcurrentCalls.
func TestEngineBoundsConcurrentCalls(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{MaxConcurrentCalls: 1, CallTimeout: 200 * time.Millisecond})
	a, b := load(t, e, "echo"), load(t, e, "fixed")
	taken, release := make(chan struct{}, 1), make(chan struct{})
	a.pool.onTake = func() {
		taken <- struct{}{}
		<-release
	}
	held := make(chan error, 1)
	go func() {
		_, err := a.Decide(context.Background(), selfTest)
		held <- err
	}()
	<-taken
	if _, err := b.Decide(context.Background(), selfTest); !errors.Is(err, ErrBusy) {
		t.Fatalf("Decide on another module while the only slot is held = %v, want ErrBusy", err)
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if out, err := b.Decide(context.Background(), selfTest); err != nil || string(out) != fixedDecision {
		t.Fatalf("Decide after the slot is free = %s, %v", out, err)
	}
}
