package runtime

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/abi"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	tests := []struct {
		module string
		input  string
		want   string
	}{
		{"fixed", `{"v":1}`, fixedDecision},
		{"echo", `{"v":1,"reason":"hello"}`, `{"v":1,"reason":"hello"}`},
		{"echo", "D", fixedDecision},
	}
	for _, tt := range tests {
		t.Run(tt.module+"/"+tt.input, func(t *testing.T) {
			m := load(t, e, tt.module)
			defer m.Close(context.Background())
			for range 3 {
				out, err := m.Decide(context.Background(), []byte(tt.input))
				if err != nil {
					t.Fatalf("Decide: %v", err)
				}
				if string(out) != tt.want {
					t.Fatalf("Decide = %s, want %s", out, tt.want)
				}
			}
			// The load's instance is closed once it passed; the calls
			// share one created on demand.
			if info := m.Info(); info.Pool.Created != 2 || info.Pool.Live != 1 {
				t.Errorf("pool = %+v for sequential calls, want 1 live instance of 2 created", info.Pool)
			}
		})
	}
}

// TestDecideFaults triggers every run-time fault in a module that loaded
// cleanly, and checks that the next decision is served by a fresh instance.
func TestDecideFaults(t *testing.T) {
	t.Parallel()
	// Only the loop runs into the deadline; the other faults get a generous
	// one so that a stalled machine cannot turn them into timeouts.
	e := newEngine(t, Config{CallTimeout: 10 * time.Second, MemoryLimitPages: 64, PoolSize: 1})
	short := newEngine(t, Config{CallTimeout: 250 * time.Millisecond, MemoryLimitPages: 64, PoolSize: 1})
	tests := []struct {
		name    string
		input   []byte
		kind    error
		reason  string
		discard bool
	}{
		{"loop", []byte("L"), ErrTimeout, "deadline exceeded", true},
		{"memory bomb", []byte("M"), ErrMemory, "64 pages refused", true},
		{"trap", []byte("T"), ErrTrap, "unreachable", true},
		{"recursion", []byte("R"), ErrTrap, "stack overflow", true},
		{"garbage", []byte("G"), ErrInvalidOutput, "not UTF-8", true},
		{"oversized", []byte("O"), ErrOutputTooLarge, "65537 bytes", true},
		{"out of bounds", []byte("B"), ErrOutOfBounds, "outside memory", true},
		{"alloc refused", bytes.Repeat([]byte(" "), 61441), ErrMemory, "returned 0", true},
		{"guest error", []byte("E"), ErrGuestError, "input rejected by marker E", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e
			if tt.kind == ErrTimeout {
				e = short
			}
			m := load(t, e, "echo")
			defer m.Close(context.Background())
			_, err := m.Decide(context.Background(), tt.input)
			var f *Fault
			if !errors.As(err, &f) {
				t.Fatalf("Decide error %v is not a *Fault", err)
			}
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("Decide error = %v, want %v containing %q", err, tt.kind, tt.reason)
			}
			if f.Module != "echo" || f.SHA256 != m.SHA256() {
				t.Errorf("fault names %s %s", f.Module, f.SHA256)
			}
			if f.Kind.ModuleAtFault() != tt.discard {
				t.Errorf("%s.ModuleAtFault() = %v", f.Kind, !tt.discard)
			}
			out, err := m.Decide(context.Background(), selfTest)
			if err != nil || !bytes.Equal(out, selfTest) {
				t.Fatalf("decision after the fault = %s, %v", out, err)
			}
			info := m.Info()
			wantCreated, wantDiscarded := uint64(2), uint64(0) // the load's, then one on demand
			if tt.discard {
				wantCreated, wantDiscarded = 3, 1
			}
			if info.Pool.Created != wantCreated || info.Pool.Discarded != wantDiscarded {
				t.Errorf("pool = %+v, want %d created and %d discarded", info.Pool, wantCreated, wantDiscarded)
			}
			if info.Faults[f.Kind] != 1 {
				t.Errorf("faults = %v, want one %s", info.Faults, f.Kind)
			}
		})
	}
}

func TestDecideCanceled(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{CallTimeout: time.Minute})
	m := load(t, e, "echo")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := m.Decide(ctx, []byte("L"))
	if !errors.Is(err, ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Decide with a canceled context = %v, want ErrCanceled wrapping context.Canceled", err)
	}
	var f *Fault
	if errors.As(err, &f) && f.Kind.ModuleAtFault() {
		t.Error("a canceled call counts against the module")
	}
}

func TestDecideCanceledWhileRunning(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{CallTimeout: time.Minute})
	m := load(t, e, "echo")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := m.Decide(ctx, []byte("L"))
	if !errors.Is(err, ErrCanceled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Decide past the caller's deadline = %v, want ErrCanceled", err)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if info := m.Info(); info.Pool.Discarded != 1 || info.Pool.Live != 0 {
		t.Errorf("interrupted instance not discarded: %+v", info.Pool)
	}
}

func TestDecideInputTooLarge(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{MemoryLimitPages: 2})
	m := load(t, e, "echo")
	_, err := m.Decide(context.Background(), make([]byte, 2*pageSize+1))
	var f *Fault
	if err == nil || errors.As(err, &f) {
		t.Fatalf("Decide = %v, want a plain error", err)
	}
}

func TestDecideClosed(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	m := load(t, e, "fixed")
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := m.Decide(context.Background(), selfTest); !errors.Is(err, ErrClosed) {
		t.Fatalf("Decide after Close = %v, want ErrClosed", err)
	}
}

func TestDecideReactorInitialized(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{RecycleAfterCalls: 2})
	m := load(t, e, "reactor")
	for range 5 { // new instances along the way, each initialized
		if out, err := m.Decide(context.Background(), selfTest); err != nil || string(out) != fixedDecision {
			t.Fatalf("Decide = %s, %v", out, err)
		}
	}
	if p := m.Info().Pool; p.Created < 3 {
		t.Errorf("pool = %+v, want recycled instances", p)
	}
}

func TestWASISandbox(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	m := load(t, e, "probe") // the self-test fails unless the sandbox holds
	_, err := m.Decide(context.Background(), []byte("X"))
	if !errors.Is(err, ErrTrap) || !strings.Contains(err.Error(), "exit_code(3)") {
		t.Fatalf("proc_exit = %v, want a trap naming the exit code", err)
	}
	if out, err := m.Decide(context.Background(), selfTest); err != nil || string(out) != fixedDecision {
		t.Fatalf("Decide after proc_exit = %s, %v", out, err)
	}
}

// TestDecideStopsCodeWithoutLoops: recursion that never reaches a loop
// (about half a second of it, in wahost_decide or in wahost_alloc) is
// stopped like a loop, by the fuel checks at function entries, and the
// instance is discarded.
func TestDecideStopsCodeWithoutLoops(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{CallTimeout: 10 * time.Millisecond})
	for _, tt := range []struct{ module, input string }{{"echo", "F"}, {"slow_alloc", "SA"}} {
		m := load(t, e, tt.module)
		_, err := m.Decide(context.Background(), []byte(tt.input))
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: Decide = %v, want a timeout", tt.module, err)
		}
		if err := m.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if p := m.Info().Pool; p.Discarded != 1 || p.Live != 0 {
			t.Errorf("%s: pool = %+v, want the stopped instance discarded", tt.module, p)
		}
	}
}

// TestDecideInputForMinor: LoadOptions.Input gives each module the input
// for its ABI minor version: the whole history to a module of 1.0, the
// tail and the summary to one of 1.1.
func TestDecideInputForMinor(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	in := abi.SelfTestInput(nil)
	for i := range 300 {
		in.History = append(in.History, abi.HistoryEntry{AtMS: in.NowMS - int64(300-i)*1000, Kind: abi.KindDisconnected, Code: 428})
	}
	doc := in.AppendJSON(nil)
	for _, tt := range []struct {
		module string
		want   []byte
	}{
		{"echo", doc},
		{"mirror11", abi.InputForMinor(1, doc)},
	} {
		m, err := e.Load(context.Background(), tt.module, readModule(t, tt.module),
			LoadOptions{SelfTestInput: selfTest, Input: abi.InputForMinor})
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.Decide(context.Background(), doc)
		if err != nil || !bytes.Equal(out, tt.want) {
			t.Errorf("%s got %d bytes (%v), want %d", tt.module, len(out), err, len(tt.want))
		}
		if len(tt.want) >= len(doc) && tt.module != "echo" {
			t.Errorf("the 1.1 document is not shorter")
		}
	}
}
