package runtime

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// selfTest is the canonical input of the tests; the echo module returns it.
var selfTest = []byte(`{"v":1,"action":"reconnect","delay_ms":250,"step":2,"reason":"echo"}`)

// fixedDecision is what fixed.wasm and chatty.wasm return.
const fixedDecision = `{"v":1,"action":"reconnect","delay_ms":1000,"step":1,"reason":"fixed"}`

// readModule returns testdata/name.wasm.
func readModule(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".wasm"))
	if err != nil {
		t.Fatalf("reading test module (rebuild with go generate): %v", err)
	}
	return b
}

// newEngine returns an engine closed at the end of the test.
func newEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e, err := NewEngine(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(context.Background()); err != nil {
			t.Errorf("closing engine: %v", err)
		}
	})
	return e
}

// load loads testdata/name.wasm with the test self-test input.
func load(t testing.TB, e *Engine, name string) *Module {
	t.Helper()
	m, err := e.Load(context.Background(), name, readModule(t, name), LoadOptions{SelfTestInput: selfTest})
	if err != nil {
		t.Fatalf("loading %s: %v", name, err)
	}
	return m
}

// fakeClock is a manually advanced clock.
type fakeClock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// recordHandler is a slog.Handler that keeps the records it handles.
type recordHandler struct {
	mu      sync.Mutex // guards records
	records []slog.Record
	attrs   []slog.Attr
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(h.attrs...)
	h.mu.Lock()
	h.records = append(h.records, r)
	h.mu.Unlock()
	return nil
}

func (h *recordHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &shareHandler{root: h, attrs: attrs}
}

func (h *recordHandler) WithGroup(string) slog.Handler { return h }

func (h *recordHandler) snapshot() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), h.records...)
}

// shareHandler adds attributes and records into its root handler.
type shareHandler struct {
	root  *recordHandler
	attrs []slog.Attr
}

func (h *shareHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *shareHandler) Handle(ctx context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(h.attrs...)
	return h.root.Handle(ctx, r)
}

func (h *shareHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &shareHandler{root: h.root, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *shareHandler) WithGroup(string) slog.Handler { return h }

// attr returns the string value of attribute key in r.
func attr(r slog.Record, key string) string {
	var v string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}
