package runtime

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

func TestCompilationCacheDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i := range 2 { // the second engine is a restarted process
		e := newEngine(t, Config{CacheDir: dir})
		m := load(t, e, "echo")
		if out, err := m.Decide(context.Background(), selfTest); err != nil || string(out) != string(selfTest) {
			t.Fatalf("engine %d: %s, %v", i, out, err)
		}
		if err := e.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("cache directory holds %d entries (%v)", len(entries), err)
	}
}

func TestEngineCloseClosesModules(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	a, b := load(t, e, "fixed"), load(t, e, "echo")
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-a.Done()
	<-b.Done()
	if st := e.Stats(); st.Live != 0 || st.Loaded != 2 {
		t.Errorf("stats = %+v", st)
	}
	if _, err := e.Load(context.Background(), "fixed", readModule(t, "fixed"), LoadOptions{SelfTestInput: selfTest}); !errors.Is(err, ErrEngineClosed) {
		t.Errorf("Load after Close = %v", err)
	}
}

// TestModuleCloseInterruptsAfterDeadline: Close waits for calls in
// progress only until its context ends, then stops them.
func TestModuleCloseInterruptsAfterDeadline(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{CallTimeout: time.Minute})
	m := load(t, e, "echo")
	taken := make(chan struct{}, 1)
	m.pool.onTake = func() { taken <- struct{}{} }
	result := make(chan error, 1)
	go func() {
		_, err := m.Decide(context.Background(), []byte("L"))
		result <- err
	}()
	<-taken
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := m.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want the context's error", err)
	}
	if err := <-result; !errors.Is(err, ErrClosed) {
		t.Fatalf("interrupted call = %v, want ErrClosed", err)
	}
	<-m.Done()
}
