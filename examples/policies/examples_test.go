package policies_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/policies/conformance"
	"github.com/wahost/wahost/policies/scenario"
	"github.com/wahost/wahost/policies/source"
	"github.com/wahost/wahost/runtime"
)

// langs are the examples; go is the reference the others must match, and
// its toolchain is always there.
var langs = []string{"go", "rust", "c", "assemblyscript"}

// exitMissingToolchain is build.sh's exit status when a toolchain is
// missing.
const exitMissingToolchain = 3

// example is one built and loaded module, or why there is none.
type example struct {
	mod  *runtime.Module
	skip string // build.sh's missing-toolchain message
	err  error
}

var (
	setupOnce sync.Once
	outDir    string
	engine    *runtime.Engine
	examples  map[string]*example
)

func TestMain(m *testing.M) {
	code := m.Run()
	if engine != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = engine.Close(ctx)
		cancel()
	}
	if outDir != "" {
		_ = os.RemoveAll(outDir)
	}
	os.Exit(code)
}

// load builds every example once, concurrently, with build.sh (never
// installing anything), and loads each module that built.
func load(t testing.TB) map[string]*example {
	t.Helper()
	setupOnce.Do(func() {
		examples = make(map[string]*example, len(langs))
		var err error
		if outDir, err = os.MkdirTemp("", "wahost-examples-"); err == nil {
			engine, err = runtime.NewEngine(context.Background(), runtime.Config{})
		}
		if err != nil {
			for _, l := range langs {
				examples[l] = &example{err: err}
			}
			return
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, l := range langs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ex := buildAndLoad(l)
				mu.Lock()
				examples[l] = ex
				mu.Unlock()
			}()
		}
		wg.Wait()
	})
	if engine == nil {
		t.Fatalf("setting up: %v", examples[langs[0]].err)
	}
	return examples
}

func buildAndLoad(lang string) *example {
	var stderr bytes.Buffer
	cmd := exec.Command("bash", "build.sh", "-n", "-o", outDir, lang)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == exitMissingToolchain {
			return &example{skip: strings.TrimSpace(stderr.String())}
		}
		return &example{err: fmt.Errorf("build.sh %s: %w\n%s", lang, err, stderr.Bytes())}
	}
	wasm, err := os.ReadFile(filepath.Join(outDir, lang+".wasm"))
	if err != nil {
		return &example{err: err}
	}
	mod, err := engine.Load(context.Background(), lang, wasm, source.LoadOptions(nil, abi.Limits{}))
	if err != nil {
		return &example{err: fmt.Errorf("loading the %s module: %w", lang, err)}
	}
	return &example{mod: mod}
}

// module returns the example's module, skipping the test when its
// toolchain is missing; the Go example is never skipped.
func module(t testing.TB, lang string) *runtime.Module {
	t.Helper()
	ex := load(t)[lang]
	switch {
	case ex.err != nil:
		t.Fatal(ex.err)
	case ex.skip != "" && lang == "go":
		t.Fatalf("the Go example must always build: %s", ex.skip)
	case ex.skip != "":
		t.Skip(ex.skip)
	}
	return ex.mod
}

func scenarioFiles(t *testing.T) []*scenario.File {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("scenarios", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scenario files in scenarios/ (%v)", err)
	}
	files := make([]*scenario.File, 0, len(paths))
	for _, p := range paths {
		f, err := scenario.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// Every example passes the shared scenarios, as `wahost policy test` runs
// them.
func TestScenarios(t *testing.T) {
	files := scenarioFiles(t)
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			m := module(t, lang)
			passed := 0
			for _, f := range files {
				res, err := scenario.Run(context.Background(), m, f, abi.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				for _, fail := range res.Failures {
					t.Error(fail)
				}
				passed += res.Passed
			}
			t.Logf("%d scenario cases passed", passed)
		})
	}
}

// settingsVariants are the settings the conformance suite and the
// comparison run with: the defaults, and others that move the office.
var settingsVariants = []string{
	`{}`,
	`{"tz_offset_min":-330,"workdays":[0,6],"open_hour":7,"close_hour":23,"jitter_pct":100,"escalation":[3,2,1,4],"max_attempts":3}`,
	`{"tz_offset_min":840,"open_hour":0,"close_hour":1,"day_delay_ms":0,"night_delay_ms":604800000,"night_max_delay_ms":604800000}`,
}

// Every example passes `wahost policy check`'s conformance suite: a valid,
// deterministic decision for every kind, phase, code, counter and hostile
// string.
func TestConformance(t *testing.T) {
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			m := module(t, lang)
			for _, raw := range settingsVariants {
				settings, err := abi.ParseSettings([]byte(raw))
				if err != nil {
					t.Fatal(err)
				}
				rep := conformance.Run(context.Background(), m, settings, abi.Limits{})
				for _, v := range rep.Violations {
					t.Errorf("settings %s: %s", raw, v)
				}
			}
		})
	}
}

// The four examples are one policy: for every input the others return the
// bytes the Go example returns, or fail like it on a bad setting.
func TestSameDecisions(t *testing.T) {
	inputs := corpus(t)
	ref := module(t, "go")
	want := make([][]byte, len(inputs))
	for i, in := range inputs {
		out, err := ref.Decide(context.Background(), in)
		if err != nil && !isGuestError(err) {
			t.Fatalf("go example: input %s: %v", in, err)
		}
		want[i] = bytes.Clone(out) // nil for a policy error
	}
	for _, lang := range langs[1:] {
		t.Run(lang, func(t *testing.T) {
			m := module(t, lang)
			bad := 0
			for i, in := range inputs {
				got, err := m.Decide(context.Background(), in)
				if err != nil && !isGuestError(err) {
					t.Fatalf("input %s: %v", in, err)
				}
				if !bytes.Equal(got, want[i]) && bad < 10 {
					bad++
					t.Errorf("input %s:\n got %s (err %v)\nwant %s", in, got, err, want[i])
				}
			}
			t.Logf("%d inputs compared", len(inputs))
		})
	}
}

func isGuestError(err error) bool {
	var f *runtime.Fault
	return errors.As(err, &f) && f.Kind == runtime.KindGuestError
}

// corpus is every scenario input and conformance case, plus every quarter
// hour of a week for a spread of events, attempts and seeds, under each
// settings variant.
func corpus(t *testing.T) [][]byte {
	t.Helper()
	var inputs [][]byte
	for _, f := range scenarioFiles(t) {
		for _, c := range f.Cases {
			in, err := scenario.BuildInput(f.Settings, f.Base, c.Input)
			if err != nil {
				t.Fatal(err)
			}
			inputs = append(inputs, in)
		}
	}
	type event struct {
		kind  abi.Kind
		code  int
		phase abi.Phase
	}
	events := []event{
		{abi.KindDisconnected, 428, abi.PhaseOpen},
		{abi.KindQRTimeout, 408, abi.PhaseQR},
		{abi.KindConnectFailure, 500, abi.PhaseConnecting},
		{abi.KindLoggedOut, 401, abi.PhaseOpen},
	}
	const week = 7 * 24 * time.Hour
	for _, raw := range settingsVariants {
		settings, err := abi.ParseSettings([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range conformance.Cases(settings) {
			inputs = append(inputs, c.Input.AppendJSON(nil))
		}
		for i, at := 0, time.Duration(0); at < week; i, at = i+1, at+15*time.Minute {
			in := abi.SelfTestInput(settings)
			ev := events[i%len(events)]
			in.NowMS = scenario.BaseNowMS + at.Milliseconds()
			in.JitterSeed = uint32(i * 2654435761)
			in.Attempt = 1 + i%9
			in.Event.Kind, in.Event.Code, in.Instance.Phase = ev.kind, ev.code, ev.phase
			inputs = append(inputs, in.AppendJSON(nil))
		}
	}
	return inputs
}

// BenchmarkDecide measures one decision through the runtime, the host's
// whole round trip, on the self-test input: the figure `wahost policy
// bench` reports as pooled.
func BenchmarkDecide(b *testing.B) {
	input := abi.SelfTestInput(nil).AppendJSON(nil)
	for _, lang := range langs {
		b.Run(lang, func(b *testing.B) {
			m := module(b, lang)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Decide(ctx, input); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
