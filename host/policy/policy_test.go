package policy_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/policy"
	"github.com/wahost/wahost/policies/builtin"
	"github.com/wahost/wahost/runtime"
)

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "runtime", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func defaultWasm(t testing.TB) []byte {
	t.Helper()
	b, err := builtin.Lookup(builtin.DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// install replaces path atomically, as an operator's deploy tool would.
func install(t testing.TB, path string, b []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func newManager(t testing.TB, cacheDir string) *policy.Manager {
	t.Helper()
	m, err := policy.New(context.Background(), policy.Config{Engine: runtime.Config{CacheDir: cacheDir}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

// TestReloadUnderLoad replaces the policy file 50 times, a third of them
// with a broken module, while decisions run without pause: no decision
// fails, every broken module is rejected with the previous one still
// active, and every outcome is visible in Status. A decision may wait for
// an instance as long as it takes (CallTimeout): on a loaded machine under
// the race detector, waking a swapped-in module can hold the engine's
// execution slots past the default half second, and that wait is not what
// this test is about.
func TestReloadUnderLoad(t *testing.T) {
	ctx := context.Background()
	m, err := policy.New(ctx, policy.Config{Engine: runtime.Config{CacheDir: t.TempDir(), CallTimeout: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	path := filepath.Join(t.TempDir(), "policy.wasm")
	good := [][]byte{defaultWasm(t), testdata(t, "fixed.wasm")}
	install(t, path, good[0])
	if _, err := m.Apply(ctx, policy.Spec{Module: path}, "start"); err != nil {
		t.Fatal(err)
	}

	input := abi.SelfTestInput(abi.Settings("{}")).AppendJSON(nil)
	var decided, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ans, err := m.Decide(ctx, input)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				if _, err := abi.ParseDecision(ans.Out, abi.Limits{}); err != nil || ans.SHA256 == "" {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, "bad answer: "+string(ans.Out))
					continue
				}
				decided.Add(1)
			}
		}()
	}

	type variant struct {
		name   string
		wasm   []byte
		pin    string
		broken bool
	}
	variants := []variant{
		{name: "fixed", wasm: good[1]},
		{name: "garbage", wasm: testdata(t, "garbage.wasm"), broken: true},
		{name: "default", wasm: good[0]},
		{name: "trap", wasm: testdata(t, "trap.wasm"), broken: true},
		{name: "pinned-mismatch", wasm: good[1], pin: digest(good[0]), broken: true},
		{name: "default-pinned", wasm: good[0], pin: digest(good[0])},
	}
	activeSHA := digest(good[0])
	var rejected, applied int
	for i := range 50 {
		v := variants[i%len(variants)]
		install(t, path, v.wasm)
		r, err := m.Apply(ctx, policy.Spec{Module: path, SHA256: v.pin}, "file")
		if v.broken {
			if err == nil || r.OK || r.Error == "" {
				t.Fatalf("replacement %d (%s) was accepted: %+v", i, v.name, r)
			}
			rejected++
		} else {
			if err != nil {
				t.Fatalf("replacement %d (%s): %v", i, v.name, err)
			}
			activeSHA = digest(v.wasm)
			applied++
		}
		st := m.Status()
		if st.Active.SHA256 != activeSHA {
			t.Fatalf("after replacement %d (%s) the active module is %s, want %s", i, v.name, st.Active.SHA256, activeSHA)
		}
		if st.LastReload == nil || st.LastReload.OK == v.broken {
			t.Fatalf("after replacement %d (%s) the last reload is %+v", i, v.name, st.LastReload)
		}
	}
	close(stop)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d decisions failed during the reloads; first: %v", n, firstErr.Load())
	}
	if decided.Load() == 0 {
		t.Fatal("no decision ran during the reloads")
	}
	t.Logf("%d decisions, %d modules applied, %d rejected", decided.Load(), applied, rejected)
}

func TestApplyUnchangedIsANoop(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, "")
	spec := policy.Spec{Module: builtin.DefaultName, Settings: abi.Settings(`{"max_attempts":3}`)}
	r, err := m.Apply(ctx, spec, "start")
	if err != nil || !r.Changed {
		t.Fatalf("first apply = %+v, %v", r, err)
	}
	gen := r.Generation
	r, err = m.Apply(ctx, spec, "sighup")
	if err != nil || r.Changed || r.Generation != gen {
		t.Fatalf("same spec again = %+v, %v; want unchanged generation %d", r, err, gen)
	}
	spec.Settings = abi.Settings(`{"max_attempts":4}`)
	r, err = m.Apply(ctx, spec, "file")
	if err != nil || !r.Changed || r.Generation == gen {
		t.Fatalf("new settings = %+v, %v; want a new generation", r, err)
	}
	if got := string(m.Settings()); got != `{"max_attempts":4}` {
		t.Fatalf("Settings = %s", got)
	}
}

func TestBadSettingsKeepThePolicy(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, "")
	if _, err := m.Apply(ctx, policy.Spec{Module: builtin.DefaultName}, "start"); err != nil {
		t.Fatal(err)
	}
	before := m.Status().Active
	_, err := m.Apply(ctx, policy.Spec{Module: builtin.DefaultName, Settings: abi.Settings(`[1,2]`)}, "api")
	if err == nil || !strings.Contains(err.Error(), "settings") {
		t.Fatalf("Apply with an array as settings = %v", err)
	}
	if after := m.Status().Active; after.SHA256 != before.SHA256 || after.Generation != before.Generation {
		t.Fatalf("active changed after a rejected reload: %+v -> %+v", before, after)
	}
}

// TestCandidate checks that a candidate decides in shadow, that a broken
// candidate rejects the reload, and that removing it from the spec stops
// shadow evaluation.
func TestCandidate(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, "")
	dir := t.TempDir()
	fixed := filepath.Join(dir, "fixed.wasm")
	trap := filepath.Join(dir, "trap.wasm")
	install(t, fixed, testdata(t, "fixed.wasm"))
	install(t, trap, testdata(t, "trap.wasm"))
	if _, err := m.Apply(ctx, policy.Spec{Module: builtin.DefaultName, Candidate: fixed}, "start"); err != nil {
		t.Fatal(err)
	}
	c := m.Candidate()
	if c == nil {
		t.Fatal("no candidate after applying one")
	}
	ans, err := c.Decide(ctx, abi.SelfTestInput(nil).AppendJSON(nil))
	if err != nil || !strings.Contains(string(ans.Out), `"reason":"fixed"`) || ans.SHA256 != digest(testdata(t, "fixed.wasm")) {
		t.Fatalf("candidate decision = %s (%s), %v", ans.Out, ans.SHA256, err)
	}
	if _, err := m.Apply(ctx, policy.Spec{Module: builtin.DefaultName, Candidate: trap}, "file"); err == nil {
		t.Fatal("a candidate that fails its self-test was accepted")
	}
	if st := m.Status(); st.Candidate == nil || st.Candidate.SHA256 != digest(testdata(t, "fixed.wasm")) {
		t.Fatalf("candidate after a rejected reload: %+v", st.Candidate)
	}
	if _, err := m.Apply(ctx, policy.Spec{Module: builtin.DefaultName}, "file"); err != nil {
		t.Fatal(err)
	}
	if m.Candidate() != nil || m.Status().Candidate != nil {
		t.Fatal("candidate still evaluated after it left the spec")
	}
}

// BenchmarkSwap measures one reload that changes the module (read,
// compile, self-test, swap), with the compilation cache on disk and
// without: the first is what a host restarted on a known module pays.
func BenchmarkSwap(b *testing.B) {
	for _, bc := range []struct {
		name  string
		cache bool
	}{{"cache=none", false}, {"cache=dir", true}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			dir := b.TempDir()
			paths := []string{filepath.Join(dir, "a.wasm"), filepath.Join(dir, "b.wasm")}
			wasm := defaultWasm(b)
			for _, p := range paths {
				install(b, p, wasm)
			}
			cacheDir := ""
			if bc.cache {
				cacheDir = filepath.Join(dir, "cache")
				warm := newManager(b, cacheDir) // fills the cache, as a previous run would
				if _, err := warm.Apply(ctx, policy.Spec{Module: paths[0]}, "start"); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				m, err := policy.New(ctx, policy.Config{Engine: runtime.Config{CacheDir: cacheDir}})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := m.Apply(ctx, policy.Spec{Module: paths[i%2]}, "bench"); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				_ = m.Close(ctx)
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/swap")
		})
	}
}

// TestOverrides: named per-instance policies load with the spec, are
// rejected with it, and leave with it.
func TestOverrides(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, "")
	dir := t.TempDir()
	fixed := filepath.Join(dir, "fixed.wasm")
	install(t, fixed, testdata(t, "fixed.wasm"))
	spec := policy.Spec{Module: builtin.DefaultName, Overrides: map[string]policy.Override{
		"vip": {Module: fixed, Settings: abi.Settings(`{"tier":"vip"}`)},
	}}
	if r, err := m.Apply(ctx, spec, "start"); err != nil || !r.Changed {
		t.Fatalf("Apply = %+v, %v", r, err)
	}
	p, settings, ok := m.Override("vip")
	if !ok || string(settings) != `{"tier":"vip"}` {
		t.Fatalf("Override(vip) = %v, %s", ok, settings)
	}
	ans, err := p.Decide(ctx, abi.SelfTestInput(nil).AppendJSON(nil))
	if err != nil || !strings.Contains(string(ans.Out), `"reason":"fixed"`) {
		t.Fatalf("override decision = %s, %v", ans.Out, err)
	}
	if st := m.Status(); st.Overrides["vip"].SHA256 != digest(testdata(t, "fixed.wasm")) {
		t.Fatalf("status overrides = %+v", st.Overrides)
	}
	if r, err := m.Apply(ctx, spec, "sighup"); err != nil || r.Changed {
		t.Fatalf("same spec = %+v, %v", r, err)
	}
	if p2, _, _ := m.Override("vip"); p2 != p {
		t.Fatal("an unchanged override was reloaded")
	}

	broken := spec
	broken.Overrides = map[string]policy.Override{"vip": {Module: fixed}, "bad": {Module: filepath.Join(dir, "missing.wasm")}}
	if _, err := m.Apply(ctx, broken, "file"); err == nil || !strings.Contains(err.Error(), "override bad") {
		t.Fatalf("a missing override module = %v", err)
	}
	if !m.HasOverride("vip") || m.HasOverride("bad") {
		t.Fatal("a rejected reload changed the overrides")
	}
	if _, err := m.Apply(ctx, policy.Spec{Module: builtin.DefaultName}, "file"); err != nil {
		t.Fatal(err)
	}
	if m.HasOverride("vip") {
		t.Fatal("an override left the spec but stayed")
	}
}

// TestLimitsFollowReload: policy.max_delay is live; the limits decisions
// are checked against follow each applied spec.
func TestLimitsFollowReload(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, "")
	for _, d := range []time.Duration{time.Hour, 2 * time.Hour} {
		if _, err := m.Apply(ctx, policy.Spec{Module: builtin.DefaultName, MaxDelay: d}, "file"); err != nil {
			t.Fatal(err)
		}
		if got := m.Limits().MaxDelay; got != d {
			t.Fatalf("Limits().MaxDelay = %v after applying %v", got, d)
		}
	}
}

// TestBreakerTripsAreCounted: a module that keeps faulting trips the
// breaker, the slot reverts to the last healthy module, and both are
// counted (abi/SPEC.md §9): wahost_policy_breaker_trips_total and
// wahost_policy_reverts_total.
func TestBreakerTripsAreCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := policy.New(context.Background(), policy.Config{
		Engine:     runtime.Config{CacheDir: t.TempDir()},
		Breaker:    runtime.BreakerConfig{Threshold: 3, Window: time.Minute},
		Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	dir := t.TempDir()
	fixed, exits := filepath.Join(dir, "fixed.wasm"), filepath.Join(dir, "probe.wasm")
	install(t, fixed, testdata(t, "fixed.wasm"))
	install(t, exits, testdata(t, "probe.wasm")) // input "X" exits: a trap
	for _, mod := range []string{fixed, exits} {
		if _, err := m.Apply(context.Background(), policy.Spec{Module: mod}, "test"); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if _, err := m.Decide(context.Background(), []byte("X")); err == nil {
			t.Fatal("the trapping input was decided")
		}
	}
	if got := counterValue(t, reg, "wahost_policy_breaker_trips_total", "active"); got != 1 {
		t.Fatalf("breaker trips = %v, want 1", got)
	}
	if got := counterValue(t, reg, "wahost_policy_reverts_total", "active"); got != 1 {
		t.Fatalf("reverts = %v, want 1", got)
	}
}

// counterValue reads one slot's series of a counter in reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name, slot string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, metric := range mf.GetMetric() {
			for _, l := range metric.GetLabel() {
				if l.GetName() == "slot" && l.GetValue() == slot {
					return metric.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{slot=%q}", name, slot)
	return 0
}
