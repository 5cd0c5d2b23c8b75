package builtin_test

import (
	"context"
	"sync"
	"testing"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/policies/builtin"
	defaultpolicy "github.com/wahost/wahost/policies/default"
	"github.com/wahost/wahost/policies/source"
	"github.com/wahost/wahost/runtime"
	"github.com/wahost/wahost/storage/testenv"
)

var (
	loadOnce sync.Once
	loaded   *runtime.Module
	loadErr  error
)

// defaultModule loads the embedded default policy once per test binary,
// with a compile cache under the user's cache directory so that repeated
// runs skip the second-long compile.
func defaultModule(tb testing.TB) *runtime.Module {
	tb.Helper()
	loadOnce.Do(func() {
		ctx := context.Background()
		e, err := runtime.NewEngine(ctx, runtime.Config{CacheDir: testenv.CompileCacheDir(), PoolSize: 2})
		if err != nil {
			loadErr = err
			return
		}
		src, err := source.Read(builtin.DefaultName, "")
		if err != nil {
			loadErr = err
			return
		}
		loaded, loadErr = e.Load(ctx, builtin.DefaultName, src.Wasm, source.LoadOptions(nil, abi.Limits{}))
	})
	if loadErr != nil {
		tb.Fatal(loadErr)
	}
	return loaded
}

func BenchmarkDefaultPolicy(b *testing.B) {
	input := abi.SelfTestInput(nil).AppendJSON(nil)
	ctx := context.Background()
	b.Run("wasm-pooled-deadline", func(b *testing.B) {
		m := defaultModule(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Decide(ctx, input); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("native", func(b *testing.B) {
		var p defaultpolicy.Policy
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.DecideJSON(ctx, input); err != nil {
				b.Fatal(err)
			}
		}
	})
}
