package builtin_test

import (
	"context"
	"strconv"
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
	loadOnce.Do(func() { loaded, loadErr = loadDefault(runtime.Config{}) })
	if loadErr != nil {
		tb.Fatal(loadErr)
	}
	return loaded
}

func loadDefault(cfg runtime.Config) (*runtime.Module, error) {
	ctx := context.Background()
	cfg.CacheDir, cfg.PoolSize = testenv.CompileCacheDir(), 2
	e, err := runtime.NewEngine(ctx, cfg)
	if err != nil {
		return nil, err
	}
	src, err := source.Read(builtin.DefaultName, "")
	if err != nil {
		return nil, err
	}
	return e.Load(ctx, builtin.DefaultName, src.Wasm, source.LoadOptions(nil, abi.Limits{}))
}

// BenchmarkDefaultPolicy is one run of the default policy's decision on
// the self-test input: the module pooled with its termination guarantee
// (fuel, deadline backstop), the same module with no interruption at all,
// and the native twin through the same codec. With -history N the input
// carries N history entries.
//
//	go test -run '^$' -bench DefaultPolicy ./policies/builtin/
func BenchmarkDefaultPolicy(b *testing.B) {
	for _, n := range []int{0, 300, -1} {
		input := abi.SelfTestInput(nil)
		name := "history-" + strconv.Itoa(n)
		if n < 0 {
			// A failed connect through a pool's proxy, decided with a switch.
			name = "proxy"
			input.Event = abi.Event{Kind: abi.KindConnectError, Code: 408, Cause: abi.CauseRefused,
				Message: "through proxy http://10.0.0.7:3128: the proxy was unreachable (the connection was refused)"}
			input.Proxy, input.HasProxy = abi.Proxy{ID: "http://10.0.0.7:3128", Pool: "main", PoolSize: 2, Healthy: 2,
				Failures: 2, PoolFailures: 3}, true
		} else {
			input.History = syntheticHistory(input.NowMS, n)
		}
		doc := input.AppendJSON(nil)
		b.Run(name+"/wasm-pooled", func(b *testing.B) { benchModule(b, defaultModule(b), doc) })
		b.Run(name+"/wasm-uninterruptible", func(b *testing.B) {
			m, err := loadDefault(runtime.Config{Unmetered: true})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close(context.Background())
			benchModule(b, m, doc)
		})
		b.Run(name+"/native", func(b *testing.B) {
			var p defaultpolicy.Policy
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.DecideJSON(ctx, doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchModule(b *testing.B, m *runtime.Module, input []byte) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Decide(ctx, input); err != nil {
			b.Fatal(err)
		}
	}
}

// syntheticHistory is n disconnects spread over the last 24 hours, oldest
// first, with a mix of kinds and codes.
func syntheticHistory(now int64, n int) []abi.HistoryEntry {
	h := make([]abi.HistoryEntry, n)
	codes := []int{428, 408, 503, 515, 500}
	for i := range h {
		h[i] = abi.HistoryEntry{
			AtMS: now - int64(n-i)*(24*3600*1000/int64(n+1)),
			Kind: abi.KindDisconnected, Code: codes[i%len(codes)],
			Action: abi.ActionReconnect, Step: 1 + i%3,
		}
	}
	return h
}
