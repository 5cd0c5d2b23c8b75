package executor_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/disconnect"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/host/policy"
	"github.com/wahost/wahost/policies/builtin"
	"github.com/wahost/wahost/runtime"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/testenv"
)

// withCandidate is the built-in policy active and fixed.wasm (reconnect in
// 1 s, always) as the candidate.
func withCandidate(t testing.TB) *policy.Manager {
	t.Helper()
	ctx := context.Background()
	fixed := filepath.Join(t.TempDir(), "fixed.wasm")
	b, err := os.ReadFile(filepath.Join("..", "..", "runtime", "testdata", "fixed.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fixed, b, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := policy.New(ctx, policy.Config{Engine: runtime.Config{CacheDir: testenv.CompileCacheDir()}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	if _, err := m.Apply(ctx, policy.Spec{Module: builtin.DefaultName, Candidate: fixed}, "test"); err != nil {
		t.Fatal(err)
	}
	return m
}

var shadowCases = []abi.Event{
	{Kind: abi.KindDisconnected, Code: abi.CodeConnectionClosed, Cause: abi.CauseRefused},
	{Kind: abi.KindLoggedOut, Code: abi.CodeLoggedOut},
	{Kind: abi.KindStreamReplaced, Code: abi.CodeConnectionReplaced},
	{Kind: abi.KindTemporaryBan, Code: abi.CodeTemporaryBan, BanCode: 101, ExpireMS: 3_600_000},
}

// decideAll runs the shadow cases on fresh instances and returns the
// active decisions and the recorded rows.
func decideAll(t *testing.T, e *env) ([]abi.Decision, []storage.Disconnect) {
	t.Helper()
	var ds []abi.Decision
	var rows []storage.Disconnect
	for i, ev := range shadowCases {
		inst := e.instance("shadow-"+string(rune('a'+i)), storage.StatusOpen)
		res, err := e.exec.HandleDisconnect(e.ctx, inst.ID, executor.Report{Event: ev, Phase: abi.PhaseOpen})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome.Fallback {
			t.Fatalf("%s: the active policy fell back: %v", ev.Kind, res.Outcome.Fault)
		}
		ds = append(ds, res.Outcome.Decision)
		rows = append(rows, res.Disconnect)
	}
	return ds, rows
}

func TestShadowCandidateIsRecordedNotCarriedOut(t *testing.T) {
	base := newEnv(t, defaultPolicy(t))
	want, _ := decideAll(t, base)

	m := withCandidate(t)
	e := newEnv(t, m, func(c *executor.Config) { c.Candidate = m.Candidate })
	got, rows := decideAll(t, e)
	if !slices.EqualFunc(got, want, func(a, b abi.Decision) bool { return string(a.AppendJSON(nil)) == string(b.AppendJSON(nil)) }) {
		t.Fatalf("a candidate changed the active decisions:\n got %+v\nwant %+v", got, want)
	}
	differing := 0
	for i, row := range rows {
		var s executor.Shadow
		if err := json.Unmarshal(row.Shadow, &s); err != nil || row.ShadowSHA256 == "" {
			t.Fatalf("%s: shadow %s (%s): %v", shadowCases[i].Kind, row.Shadow, row.ShadowSHA256, err)
		}
		if s.Fault != "" || len(s.Decision) == 0 {
			t.Fatalf("%s: candidate fault %q", shadowCases[i].Kind, s.Fault)
		}
		if len(s.Differs) > 0 {
			differing++
		}
		// The stored row is what the API lists.
		stored, err := e.store.ListDisconnects(e.ctx, row.InstanceID, 0, 1)
		if err != nil || len(stored) != 1 || string(stored[0].Shadow) != string(row.Shadow) {
			t.Fatalf("stored shadow = %+v, %v", stored, err)
		}
	}
	// fixed.wasm reconnects in 1 s on everything: it differs at least on
	// the logout of 401 and the conflict of 440.
	if differing < 2 || len(e.exec.ShadowDiffs()) != differing {
		t.Fatalf("%d differing rows, %d listed diffs", differing, len(e.exec.ShadowDiffs()))
	}
	if d := e.exec.ShadowDiffs()[0]; d.Instance == "" || len(d.Active) == 0 || d.ShadowSHA256 == "" {
		t.Fatalf("diff entry = %+v", d)
	}
}

func TestShadowCandidateFaultIsRecorded(t *testing.T) {
	base := newEnv(t, defaultPolicy(t))
	want, _ := decideAll(t, base)

	e := newEnv(t, defaultPolicy(t), func(c *executor.Config) {
		c.Candidate = func() disconnect.Policy { return trapping{} }
	})
	got, rows := decideAll(t, e)
	for i := range got {
		if string(got[i].AppendJSON(nil)) != string(want[i].AppendJSON(nil)) {
			t.Fatalf("%s: a trapping candidate changed the active decision", shadowCases[i].Kind)
		}
		var s executor.Shadow
		if err := json.Unmarshal(rows[i].Shadow, &s); err != nil || s.Fault == "" || s.Decision != nil {
			t.Fatalf("%s: shadow of a trapping candidate = %s", shadowCases[i].Kind, rows[i].Shadow)
		}
	}
	if n := len(e.exec.ShadowDiffs()); n != len(shadowCases) {
		t.Fatalf("%d faults listed, want %d", n, len(shadowCases))
	}
}

// BenchmarkHandleDisconnect measures one disconnect end to end (input from
// the store, the WASM decision, the unit of work on SQLite) without a
// candidate, with one that decides, and with one that faults.
func BenchmarkHandleDisconnect(b *testing.B) {
	cands := []struct {
		name string
		fn   func(b *testing.B) (disconnect.Policy, func() disconnect.Policy)
	}{
		{"shadow=none", func(b *testing.B) (disconnect.Policy, func() disconnect.Policy) { return benchPolicy(b), nil }},
		{"shadow=wasm", func(b *testing.B) (disconnect.Policy, func() disconnect.Policy) {
			m := withCandidate(b)
			return m, m.Candidate
		}},
		{"shadow=trap", func(b *testing.B) (disconnect.Policy, func() disconnect.Policy) {
			return benchPolicy(b), func() disconnect.Policy { return trapping{} }
		}},
	}
	for _, c := range cands {
		b.Run(c.name, func(b *testing.B) {
			p, cand := c.fn(b)
			e := newEnv(b, p, func(cfg *executor.Config) {
				cfg.Candidate = cand
				cfg.Decider = disconnect.New(p, disconnect.Options{Logger: quiet}) // real clock: latency
			})
			inst := e.instance("bench", storage.StatusOpen)
			rep := executor.Report{Event: abi.Event{Kind: abi.KindDisconnected, Code: abi.CodeConnectionClosed}, Phase: abi.PhaseOpen}
			var decide int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := e.exec.HandleDisconnect(e.ctx, inst.ID, rep)
				if err != nil {
					b.Fatal(err)
				}
				decide += res.Outcome.Latency.Nanoseconds()
			}
			b.ReportMetric(float64(decide)/float64(b.N)/1e3, "µs-active-decision")
		})
	}
}

func benchPolicy(b *testing.B) *policy.Manager {
	m, err := policy.New(context.Background(), policy.Config{Engine: runtime.Config{CacheDir: testenv.CompileCacheDir()}, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close(context.Background()) })
	if _, err := m.Apply(context.Background(), policy.Spec{Module: builtin.DefaultName}, "bench"); err != nil {
		b.Fatal(err)
	}
	return m
}

// TestInstanceOverride: an instance whose settings name an override is
// decided by that policy, with its settings; an unknown name falls back
// to the host's policy.
func TestInstanceOverride(t *testing.T) {
	m := withCandidate(t) // its candidate, fixed.wasm, serves here as the override
	var gotSettings string
	e := newEnv(t, defaultPolicy(t), func(c *executor.Config) {
		c.Override = func(name string) (disconnect.Policy, abi.Settings, bool) {
			if name != "vip" {
				return nil, nil, false
			}
			return m.Candidate(), abi.Settings(`{"tier":"vip"}`), true
		}
	})
	vip := e.instance("vip", storage.StatusOpen)
	if err := e.store.PutSettings(e.ctx, vip.ID, storage.InstanceSettings{PolicyOverride: "vip"}); err != nil {
		t.Fatal(err)
	}
	res, err := e.exec.HandleDisconnect(e.ctx, vip.ID, executor.Report{Event: abi.Event{Kind: abi.KindLoggedOut, Code: abi.CodeLoggedOut}, Phase: abi.PhaseOpen})
	if err != nil {
		t.Fatal(err)
	}
	if d := res.Outcome.Decision; d.Action != abi.ActionReconnect || d.Reason != "fixed" {
		t.Fatalf("override decision = %+v", d)
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(res.Disconnect.Input, &in); err != nil {
		t.Fatal(err)
	}
	if gotSettings = string(in["settings"]); gotSettings != `{"tier":"vip"}` {
		t.Fatalf("override input settings = %s", gotSettings)
	}

	lost := e.instance("lost", storage.StatusOpen)
	if err := e.store.PutSettings(e.ctx, lost.ID, storage.InstanceSettings{PolicyOverride: "gone"}); err != nil {
		t.Fatal(err)
	}
	res, err = e.exec.HandleDisconnect(e.ctx, lost.ID, executor.Report{Event: abi.Event{Kind: abi.KindLoggedOut, Code: abi.CodeLoggedOut}, Phase: abi.PhaseOpen})
	if err != nil || res.Outcome.Decision.Action != abi.ActionLogout {
		t.Fatalf("an unknown override = %+v, %v; want the host's policy (logout on 401)", res.Outcome.Decision, err)
	}
}
