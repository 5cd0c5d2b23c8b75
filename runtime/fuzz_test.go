package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzDecide: whatever the input, Decide returns a valid decision or a
// *Fault, and the module keeps answering.
func FuzzDecide(f *testing.F) {
	for _, seed := range []string{string(selfTest), "", "{}", "D", "E", "G", "O", "B", "T", "W", "\xff"} {
		f.Add([]byte(seed))
	}
	e := newEngine(f, Config{CallTimeout: 250 * time.Millisecond, MemoryLimitPages: 32})
	m := load(f, e, "echo")
	f.Fuzz(func(t *testing.T, input []byte) {
		out, err := m.Decide(context.Background(), input)
		if err != nil {
			if _, ok := errors.AsType[*Fault](err); !ok {
				t.Fatalf("Decide error %v is not a *Fault", err)
			}
		} else if !json.Valid(out) {
			t.Fatalf("Decide returned an invalid decision %q", out)
		}
		// The module answers again. After a heavy input (a recursion that
		// overflows, a call that runs on past its deadline) every instance
		// may still be busy for a while: busy says nothing about the
		// module, so it is asked again, each time waiting up to the
		// engine's deadline for an instance.
		out, err = m.Decide(context.Background(), selfTest)
		for try := 0; errors.Is(err, ErrBusy) && try < 40; try++ {
			out, err = m.Decide(context.Background(), selfTest)
		}
		if err != nil || string(out) != string(selfTest) {
			t.Fatalf("after input %q the module answers %s, %v", input, out, err)
		}
	})
}

// FuzzLoad: whatever the bytes, Load returns a module or a *LoadError.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"fixed", "echo", "reactor", "garbage", "wrong_major", "missing_export", "bad_import"} {
		f.Add(readModule(f, name))
	}
	e := newEngine(f, Config{CallTimeout: 250 * time.Millisecond, MemoryLimitPages: 32})
	f.Fuzz(func(t *testing.T, wasm []byte) {
		m, err := e.Load(context.Background(), "fuzz", wasm, LoadOptions{SelfTestInput: selfTest})
		if err != nil {
			if _, ok := errors.AsType[*LoadError](err); !ok {
				t.Fatalf("Load error %v is not a *LoadError", err)
			}
			return
		}
		if err := m.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
