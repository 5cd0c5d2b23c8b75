package runtime

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLoadRejectsHostileModules(t *testing.T) {
	t.Parallel()
	// Only the looping module runs into the deadline; the others get a
	// generous one so that a stalled machine cannot turn their fault into
	// a timeout.
	e := newEngine(t, Config{CallTimeout: 10 * time.Second, MemoryLimitPages: 64})
	short := newEngine(t, Config{CallTimeout: 250 * time.Millisecond, MemoryLimitPages: 64})
	tests := []struct {
		module string
		stage  Stage
		kind   error  // sentinel the error must match, if any
		reason string // text the reason must contain
	}{
		{"loop", StageSelfTest, ErrTimeout, "deadline exceeded"},
		{"bomb", StageSelfTest, ErrMemory, "refused"},
		{"trap", StageSelfTest, ErrTrap, "unreachable"},
		{"recursion", StageSelfTest, ErrTrap, "stack overflow"},
		{"garbage", StageSelfTest, ErrInvalidOutput, "not a JSON document"},
		{"oversized", StageSelfTest, ErrOutputTooLarge, "65537 bytes"},
		{"oob", StageSelfTest, ErrOutOfBounds, "outside memory"},
		{"wrong_major", StageABIVersion, nil, "ABI 2.0"},
		{"future_minor", StageABIVersion, nil, "ABI 1.4"},
		{"missing_export", StageExports, nil, `missing export "wahost_decide"`},
		{"bad_signature", StageExports, nil, `"wahost_decide" has the wrong signature`},
		{"init_fails", StageInitialize, ErrTrap, "unreachable"},
		{"bad_import", StageImports, nil, "env.now"},
		{"huge_memory", StageExports, nil, "1024 pages"},
	}
	ran := 0
	for _, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			ran++
			e := e
			if tt.stage == StageSelfTest && tt.kind == ErrTimeout {
				e = short
			}
			m, err := e.Load(context.Background(), tt.module, readModule(t, tt.module), LoadOptions{SelfTestInput: selfTest})
			if err == nil {
				m.Close(context.Background())
				t.Fatal("Load succeeded, want a rejection")
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("Load error %v is not a *LoadError", err)
			}
			if le.Stage != tt.stage {
				t.Errorf("stage = %s, want %s (%v)", le.Stage, tt.stage, err)
			}
			if tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Errorf("error %v does not match %v", err, tt.kind)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not contain %q", err, tt.reason)
			}
		})
	}
	if got, short := e.Stats(), short.Stats(); got.Live+short.Live != 0 || got.Rejected+short.Rejected != uint64(ran) {
		t.Errorf("engine stats = %+v and %+v, want %d rejected and none live", got, short, ran)
	}
}

func TestLoadRejectsNonModule(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	_, err := e.Load(context.Background(), "text", []byte("not wasm"), LoadOptions{SelfTestInput: selfTest})
	var le *LoadError
	if !errors.As(err, &le) || le.Stage != StageCompile {
		t.Fatalf("Load error = %v, want a compile-stage LoadError", err)
	}
}

func TestLoadRequiresSelfTestInput(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	if _, err := e.Load(context.Background(), "fixed", readModule(t, "fixed"), LoadOptions{}); err == nil {
		t.Fatal("Load without a self-test input succeeded")
	}
}

func TestLoadValidateRejectsSelfTest(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	reject := errors.New("delay out of range")
	_, err := e.Load(context.Background(), "fixed", readModule(t, "fixed"), LoadOptions{
		SelfTestInput: selfTest,
		Validate:      func([]byte) error { return reject },
	})
	var le *LoadError
	if !errors.As(err, &le) || le.Stage != StageSelfTest || !errors.Is(err, ErrInvalidOutput) || !errors.Is(err, reject) {
		t.Fatalf("Load error = %v, want a self-test invalid-output rejection wrapping the validator's error", err)
	}
}

func TestLoadInfo(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEngine(t, Config{Clock: clock.Now})
	m := load(t, e, "fixed")
	info := m.Info()
	if info.Name != "fixed" || len(info.SHA256) != 64 || info.Size != len(readModule(t, "fixed")) {
		t.Errorf("identity = %q %q %d", info.Name, info.SHA256, info.Size)
	}
	if info.ABIMajor != 1 || info.ABIMinor != 0 || !info.LoadedAt.Equal(clock.Now()) {
		t.Errorf("ABI %d.%d loaded at %v", info.ABIMajor, info.ABIMinor, info.LoadedAt)
	}
	if info.Calls != 1 || info.Pool.Created != 1 || info.Pool.Idle != 0 || info.Pool.Live != 0 {
		t.Errorf("after load: calls %d, pool %+v; want the self-tested instance closed", info.Calls, info.Pool)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if info := m.Info(); !info.Closed || info.Pool.Live != 0 {
		t.Errorf("after close: %+v", info)
	}
	if got := e.Stats(); got.Live != 0 || got.Loaded != 1 {
		t.Errorf("engine stats = %+v", got)
	}
}

// TestLoadRejectsLyingCounts: a module whose section claims more entries
// than it has bytes is rejected before wazero decodes it (which would
// allocate for every claimed entry).
func TestLoadRejectsLyingCounts(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	for _, wasm := range [][]byte{
		[]byte("\x00asm\x01\x00\x00\x00\x07\x3e\xe5\xe5\xe5\x5f\x76\x79"),         // 15 M exports in 62 bytes that are not there
		[]byte("\x00asm\x01\x00\x00\x00\x07\x04\xff\xff\xff\x07"),                 // 15 M exports in 4 bytes
		[]byte("\x00asm\x01\x00\x00\x00\x02\x05\x80\x80\x80\x80\x10"),             // a count past 32 bits
		[]byte("\x00asm\x01\x00\x00\x00\x01\x85\x80\x80\x80\x00\x01\x60\x00\x00"), // a size past the end
	} {
		_, err := e.Load(context.Background(), "liar", wasm, LoadOptions{SelfTestInput: selfTest})
		var le *LoadError
		if !errors.As(err, &le) || le.Stage != StageCompile {
			t.Errorf("Load(%q) = %v, want a compile-stage LoadError", wasm, err)
		}
	}
	// The modules the other tests load pass the check.
	for _, name := range []string{"fixed", "echo", "reactor", "probe", "chatty"} {
		if err := precheck(readModule(t, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
