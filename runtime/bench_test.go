package runtime

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wahost/wahost/abi"
)

// goGuest is the first-party default policy, a Go wasip1 reactor of a few
// MB: the heavy end of what the runtime loads.
const goGuest = "../policies/builtin/default.wasm"

// benchModule is a module to benchmark with its self-test input.
type benchModule struct {
	name  string
	wasm  []byte
	input []byte
}

func benchModules(b *testing.B) []benchModule {
	mods := []benchModule{{"wat-fixed", readModule(b, "fixed"), selfTest}, {"wat-echo", readModule(b, "echo"), selfTest}}
	if wasm, err := os.ReadFile(goGuest); err == nil {
		mods = append(mods, benchModule{"go-default", wasm, abi.SelfTestInput(nil).AppendJSON(nil)})
	}
	return mods
}

func benchEngine(b *testing.B, cfg Config) *Engine {
	b.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	e, err := NewEngine(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func (bm benchModule) load(b *testing.B, e *Engine) *Module {
	b.Helper()
	m, err := e.Load(context.Background(), bm.name, bm.wasm, LoadOptions{SelfTestInput: bm.input})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkDecide measures one decision with the default 500 ms deadline:
// on a pooled instance, and on a fresh instance per call.
func BenchmarkDecide(b *testing.B) {
	ctx := context.Background()
	for _, bm := range benchModules(b) {
		for _, mode := range []struct {
			name string
			cfg  Config
		}{
			{"pooled", Config{}},
			{"pooled-uninterruptible", Config{Unmetered: true}},
			{"cold", Config{RecycleAfterCalls: 1}},
		} {
			b.Run(bm.name+"/"+mode.name, func(b *testing.B) {
				e := benchEngine(b, mode.cfg)
				defer e.Close(ctx)
				m := bm.load(b, e)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := m.Decide(ctx, bm.input); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDecideParallel measures pooled decisions from GOMAXPROCS
// goroutines.
func BenchmarkDecideParallel(b *testing.B) {
	ctx := context.Background()
	bm := benchModules(b)[0]
	e := benchEngine(b, Config{})
	defer e.Close(ctx)
	m := bm.load(b, e)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Decide(ctx, bm.input); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkLoad measures Engine.Load, validation included, as a restarted
// process sees it: a new engine each time, without a compilation cache and
// with a warm on-disk one. "memory-cache" reloads within one engine.
func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	for _, bm := range benchModules(b) {
		b.Run(bm.name+"/no-cache", func(b *testing.B) {
			for b.Loop() {
				e := benchEngine(b, Config{})
				bm.load(b, e)
				e.Close(ctx)
			}
		})
		b.Run(bm.name+"/disk-cache", func(b *testing.B) {
			dir := filepath.Join(b.TempDir(), "cache")
			warm := benchEngine(b, Config{CacheDir: dir})
			bm.load(b, warm)
			warm.Close(ctx)
			b.ResetTimer()
			for b.Loop() {
				e := benchEngine(b, Config{CacheDir: dir})
				bm.load(b, e)
				e.Close(ctx)
			}
		})
		b.Run(bm.name+"/memory-cache", func(b *testing.B) {
			e := benchEngine(b, Config{})
			defer e.Close(ctx)
			bm.load(b, e).Close(ctx)
			for b.Loop() {
				bm.load(b, e).Close(ctx)
			}
		})
	}
}

// BenchmarkRunaway measures how long the default budget lets a runaway
// call run before it is stopped: a tight loop and exponential recursion
// without loops, under the default 500 ms deadline. A stop by fuel
// (deterministic) rather than by the deadline shows as "fuel-stops" = 1.
func BenchmarkRunaway(b *testing.B) {
	ctx := context.Background()
	e := benchEngine(b, Config{})
	defer e.Close(ctx)
	m := benchModule{"echo", readModule(b, "echo"), selfTest}.load(b, e)
	for _, in := range []struct{ name, input string }{{"loop", "L"}, {"recursion", "F"}} {
		b.Run(in.name, func(b *testing.B) {
			fuel := 0
			for b.Loop() {
				_, err := m.Decide(ctx, []byte(in.input))
				if !errors.Is(err, ErrTimeout) {
					b.Fatal(err)
				}
				if strings.Contains(err.Error(), "out of fuel") {
					fuel++
				}
			}
			b.ReportMetric(float64(fuel)/float64(b.N), "fuel-stops")
		})
	}
}
