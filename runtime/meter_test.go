package runtime

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// TestMeterCompiles rewrites every test module and the default policy and
// checks that wazero compiles the result.
func TestMeterCompiles(t *testing.T) {
	t.Parallel()
	paths, _ := filepath.Glob("testdata/*.wasm")
	paths = append(paths, goGuest)
	rt := wazero.NewRuntime(context.Background())
	defer rt.Close(context.Background())
	for _, p := range paths {
		wasm, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if precheck(wasm) != nil {
			continue
		}
		if _, err := wazero.NewRuntime(context.Background()).CompileModule(context.Background(), wasm); err != nil {
			continue // the original does not compile either
		}
		metered, err := meter(wasm)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if _, err := rt.CompileModule(context.Background(), metered); err != nil {
			t.Errorf("%s: metered module does not compile: %v", p, err)
		}
		again, _ := meter(wasm)
		if !bytes.Equal(metered, again) {
			t.Errorf("%s: the rewrite is not deterministic", p)
		}
	}
}

// TestMeterBody checks the checks' places and costs on a body with a loop
// nested in a block.
func TestMeterBody(t *testing.T) {
	// block  loop  br 0  end  end  nop  end
	body := []byte{0x02, 0x40, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, 0x01, 0x0b}
	got, err := new(scratch).meterBody(body, 7, 9)
	if err != nil {
		t.Fatal(err)
	}
	want := appendCheck(nil, 7, 9, 5) // block, loop, end, nop, end
	want = append(want, 0x02, 0x40, 0x03, 0x40)
	want = appendCheck(want, 7, 9, 2) // br, end
	want = append(want, 0x0c, 0x00, 0x0b, 0x0b, 0x01, 0x0b)
	if !bytes.Equal(got, want) {
		t.Errorf("meterBody =\n% x\nwant\n% x", got, want)
	}
	// A body that starts with a loop has no entry check: the loop's pays.
	body = []byte{0x03, 0x40, 0x0c, 0x00, 0x0b, 0x01, 0x0b}
	got, _ = new(scratch).meterBody(body, 7, 9)
	want = append(appendCheck([]byte{0x03, 0x40}, 7, 9, 5), 0x0c, 0x00, 0x0b, 0x01, 0x0b)
	if !bytes.Equal(got, want) {
		t.Errorf("meterBody =\n% x\nwant\n% x", got, want)
	}
	if _, err := new(scratch).meterBody([]byte{0x02, 0x40, 0x0b}, 0, 0); err == nil {
		t.Error("an unterminated body was accepted")
	}
	if _, err := new(scratch).meterBody([]byte{0x06, 0x0b}, 0, 0); err == nil {
		t.Error("an unknown opcode was accepted")
	}
}

// TestFuelIsDeterministic: a runaway call spends exactly its budget, so the
// same input stops at the same place whatever the machine's speed; a call
// within its budget is not affected.
func TestFuelIsDeterministic(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{CallTimeout: time.Minute, FuelPerMillisecond: 10})
	m := load(t, e, "echo")
	for range 2 {
		_, err := m.Decide(context.Background(), []byte("L"))
		if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "out of fuel") {
			t.Fatalf("Decide = %v, want out of fuel", err)
		}
	}
	if out, err := m.Decide(context.Background(), selfTest); err != nil || !bytes.Equal(out, selfTest) {
		t.Fatalf("Decide = %s, %v", out, err)
	}
}

// TestLongCallLetsGCRun: a guest that loops exits to Go at every fuel
// slice, so a stop-the-world collection completes while the call is still
// running, instead of waiting for it.
func TestLongCallLetsGCRun(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{CallTimeout: time.Hour})
	m := load(t, e, "echo")
	taken := make(chan struct{}, 1)
	m.pool.onTake = func() { taken <- struct{}{} }
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() {
		_, err := m.Decide(ctx, []byte("L"))
		result <- err
	}()
	<-taken
	goruntime.GC()
	select {
	case err := <-result:
		t.Fatalf("the call ended before the collection: %v", err)
	default:
	}
	cancel()
	if err := <-result; !errors.Is(err, ErrCanceled) {
		t.Fatalf("Decide = %v, want ErrCanceled", err)
	}
}

// TestDeadlineBackstop: with more fuel than the deadline lets it spend, a
// loop is stopped by the deadline, also when the timer was armed by an
// earlier call and has to wait for this one's deadline.
func TestDeadlineBackstop(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{CallTimeout: 50 * time.Millisecond, FuelPerMillisecond: 1 << 40, PoolSize: 1})
	m := load(t, e, "echo")
	if _, err := m.Decide(context.Background(), selfTest); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, err := m.Decide(context.Background(), []byte("L"))
		if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "stopped at the 50ms deadline") {
			t.Fatalf("Decide = %v, want a stop at the deadline", err)
		}
	}
}
