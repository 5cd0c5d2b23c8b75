package policies_test

import (
	"context"
	"os"
	"path/filepath"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/policies/builtin"
	defaultpolicy "github.com/wahost/wahost/policies/default"
	"github.com/wahost/wahost/policies/source"
	"github.com/wahost/wahost/runtime"
)

// BenchmarkCompare is one run comparing the built-in default policy, the
// four examples and the default policy's native twin on the self-test
// input: time per decision through the runtime (pooled instance, deadline
// on), and for each module its size, the time to compile, validate and
// self-test it without a compilation cache, and the Go heap one loaded
// instance holds (its linear memory, mostly).
//
//	go test -run '^$' -bench Compare ./examples/policies/
func BenchmarkCompare(b *testing.B) {
	ctx := context.Background()
	input := abi.SelfTestInput(nil).AppendJSON(nil)
	mods := map[string][]byte{}
	def, err := builtin.Lookup(builtin.DefaultName)
	if err != nil {
		b.Fatal(err)
	}
	mods["default"] = def
	exs := load(b)
	for _, lang := range langs {
		if ex := exs[lang]; ex.mod == nil {
			continue // its toolchain is missing: the tests say which
		}
		wasm, err := os.ReadFile(filepath.Join(outDir, lang+".wasm"))
		if err != nil {
			b.Fatal(err)
		}
		mods[lang] = wasm
	}
	for _, name := range append([]string{"default"}, langs...) {
		wasm, ok := mods[name]
		if !ok {
			continue
		}
		b.Run(name, func(b *testing.B) {
			eng, err := runtime.NewEngine(ctx, runtime.Config{PoolSize: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer eng.Close(ctx)
			var before, after goruntime.MemStats
			goruntime.GC()
			goruntime.ReadMemStats(&before)
			start := time.Now()
			m, err := eng.Load(ctx, name, wasm, source.LoadOptions(nil, abi.Limits{}))
			load := time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.Decide(ctx, input); err != nil {
				b.Fatal(err)
			}
			goruntime.GC()
			goruntime.ReadMemStats(&after)
			b.ResetTimer()
			for b.Loop() {
				if _, err := m.Decide(ctx, input); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(wasm)), "module-B")
			b.ReportMetric(float64(load.Milliseconds()), "load-ms")
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)), "instance-heap-B")
		})
	}
	b.Run("native", func(b *testing.B) {
		var p defaultpolicy.Policy
		for b.Loop() {
			if _, err := p.DecideJSON(ctx, input); err != nil {
				b.Fatal(err)
			}
		}
	})
}
