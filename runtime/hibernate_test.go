package runtime

import (
	"context"
	"sync"
	"testing"
)

func hibernating(m *Module) bool {
	m.codeMu.Lock()
	defer m.codeMu.Unlock()
	return m.rt == nil
}

// TestHibernate: with a disk cache a loaded module holds no code until a
// decision needs it; concurrent first decisions wake it once; a module a
// Slot keeps as last-known-good hibernates again.
func TestHibernate(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{CacheDir: t.TempDir()})
	m := load(t, e, "echo")
	if !hibernating(m) {
		t.Fatal("a loaded module with a disk cache keeps its code")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if out, err := m.Decide(context.Background(), selfTest); err != nil || string(out) != string(selfTest) {
				t.Errorf("Decide = %s, %v", out, err)
			}
		})
	}
	wg.Wait()
	if hibernating(m) {
		t.Fatal("the module did not wake")
	}
	s, _, _ := newSlot(t, BreakerConfig{})
	swap(t, s, m)
	swap(t, s, load(t, e, "fixed")) // m becomes last-known-good
	if !hibernating(m) || m.Info().Pool.Live != 0 {
		t.Errorf("the last-known-good module keeps its code or instances: %+v", m.Info().Pool)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestNoHibernateWithoutDiskCache: without a disk cache waking would mean
// compiling from scratch, so the module keeps its code.
func TestNoHibernateWithoutDiskCache(t *testing.T) {
	t.Parallel()
	m := load(t, newEngine(t, Config{}), "echo")
	if hibernating(m) {
		t.Error("a module without a disk cache hibernated")
	}
}

// TestSlotWarm: Warm wakes the slot's hibernating module and leaves one
// idle instance, which the next decision takes; warming again, or at
// once from several goroutines, creates no other. An empty slot has no
// module to warm.
func TestSlotWarm(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, _ := newSlot(t, BreakerConfig{})
	if err := s.Warm(ctx); err != ErrNoModule {
		t.Fatalf("Warm on an empty slot = %v, want ErrNoModule", err)
	}
	e := newEngine(t, Config{CacheDir: t.TempDir()})
	m := load(t, e, "echo")
	swap(t, s, m)
	if !hibernating(m) {
		t.Fatal("the first module of a slot does not hibernate")
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := s.Warm(ctx); err != nil {
				t.Errorf("Warm: %v", err)
			}
		})
	}
	wg.Wait()
	warm := m.Info().Pool
	if hibernating(m) || warm.Live != 1 || warm.Idle != 1 {
		t.Fatalf("after Warm: hibernating %v, pool %+v; want awake with one idle instance", hibernating(m), warm)
	}
	if out, err := m.Decide(ctx, selfTest); err != nil || string(out) != string(selfTest) {
		t.Fatalf("Decide = %s, %v", out, err)
	}
	if info := m.Info().Pool; info.Created != warm.Created {
		t.Errorf("the decision after Warm created %d more instances, want the one Warm made", info.Created-warm.Created)
	}
}
