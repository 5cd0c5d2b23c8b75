package builtin_test

import (
	"bytes"
	"cmp"
	"context"
	"path/filepath"
	"testing"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/policies/conformance"
	defaultpolicy "github.com/wahost/wahost/policies/default"
	"github.com/wahost/wahost/policies/scenario"
)

// decideBoth runs one input through the embedded module and the native
// twin and fails unless both give the same bytes (or both refuse).
func decideBoth(t *testing.T, name string, input []byte) {
	t.Helper()
	ctx := context.Background()
	var native defaultpolicy.Policy
	want, nerr := native.DecideJSON(ctx, input)
	got, werr := defaultModule(t).Decide(ctx, input)
	switch {
	case (nerr != nil) != (werr != nil):
		t.Errorf("%s: native error %v, wasm error %v", name, nerr, werr)
	case nerr == nil && !bytes.Equal(got, want):
		t.Errorf("%s: decisions differ\n wasm   %s\n native %s", name, got, want)
	}
}

// The WebAssembly build and the native fallback are the same policy: every
// conformance input and every scenario input gets identical bytes.
func TestWasmAndNativeDecideAlike(t *testing.T) {
	n := 0
	for _, settings := range []abi.Settings{nil, abi.Settings(`{"jitter_pct":0,"max_attempts":9,"escalation":[1,2,3,4]}`)} {
		for _, c := range conformance.Cases(settings) {
			decideBoth(t, c.Name, c.Input.AppendJSON(nil))
			n++
		}
	}
	files, _ := filepath.Glob("../default/scenarios/*.json")
	for _, path := range files {
		f, err := scenario.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range f.Cases {
			input, err := scenario.BuildInput(f.Settings, f.Base, c.Input)
			if err != nil {
				t.Fatal(err)
			}
			decideBoth(t, f.Name+": "+c.Name, input)
			n++
		}
	}
	if n < 300 {
		t.Fatalf("only %d inputs compared", n)
	}
}

// The embedded module passes the shipped scenarios, as `wahost policy test`
// runs them.
func TestEmbeddedModulePassesScenarios(t *testing.T) {
	files, _ := filepath.Glob("../default/scenarios/*.json")
	for _, path := range files {
		f, err := scenario.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		res, err := scenario.Run(context.Background(), defaultModule(t), f, abi.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		for _, fail := range res.Failures {
			t.Error(fail)
		}
	}
}

var kinds = append(append([]abi.Kind(nil), abi.Kinds...), "unknown")
var phases = []abi.Phase{abi.PhaseQR, abi.PhasePairing, abi.PhaseConnecting, abi.PhaseOpen}

var signals = []string{abi.SignalUndecryptable, abi.SignalUnackedSends, abi.SignalSendErrors, abi.SignalReceiptSilence, "", "unknown"}

var actions = []abi.Action{abi.ActionReconnect, abi.ActionKeep, abi.ActionLogout}

// fuzzTraffic fills the traffic counters from bytes, two per counter.
func fuzzTraffic(b []byte) abi.Traffic {
	var t abi.Traffic
	for i, c := range []*abi.Counts{&t.Undecryptable, &t.UndecryptableSenders, &t.Unavailable, &t.Hidden, &t.Sends,
		&t.UnackedSends, &t.SendErrors, &t.RetryReceiptsSent, &t.RetryReceiptsReceived} {
		for w := range c {
			if j := 2*i + w; j < len(b) {
				c[w] = int(b[j])
			}
		}
	}
	if len(b) > 18 {
		t.LastSendError = int(b[18]) * 4
	}
	return t
}

func FuzzWasmAndNativeDecideAlike(f *testing.F) {
	f.Add(uint8(0), 428, uint8(3), 1, 0, 30, []byte{28, 8}, uint32(7), []byte(`{}`), uint8(4), []byte{})
	f.Add(uint8(5), 440, uint8(3), 2, 0, 30, []byte{40, 40}, uint32(1), []byte(`{"jitter_pct":0}`), uint8(4), []byte{})
	f.Add(uint8(3), 408, uint8(0), 9, 29, 30, []byte{8, 8, 8}, uint32(99), []byte(`{"max_attempts":3}`), uint8(4), []byte{})
	f.Add(uint8(6), 401, uint8(3), 1, 0, 0, []byte{}, uint32(0), []byte(`{"logout_codes":[]}`), uint8(4), []byte{})
	f.Add(uint8(15), 0, uint8(3), 1, 0, 30, []byte{0x80, 0x81}, uint32(3), []byte(`{}`), uint8(0), []byte{3, 3, 3, 3})
	f.Add(uint8(15), 0, uint8(3), 1, 0, 30, []byte{}, uint32(3), []byte(`{"degraded_min_senders":1}`), uint8(0), []byte{1, 1, 1, 1})
	f.Add(uint8(15), 0, uint8(3), 2, 0, 30, []byte{0x40}, uint32(3), []byte(`{}`), uint8(1), []byte{0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 2, 2})
	f.Fuzz(func(t *testing.T, kind uint8, code int, phase uint8, attempt, qrCount, qrLimit int, hist []byte, seed uint32, settings []byte, signal uint8, traffic []byte) {
		s, err := abi.ParseSettings(settings)
		if err != nil {
			return
		}
		in := abi.SelfTestInput(s)
		in.Event.Kind = kinds[int(kind)%len(kinds)]
		in.Event.Code = code % 1000
		in.Instance.Phase = phases[int(phase)%len(phases)]
		in.Attempt, in.Instance.QRCount, in.Instance.QRLimit = attempt%20, qrCount%100, qrLimit%100
		in.JitterSeed = seed
		in.Event.Signal = signals[int(signal)%len(signals)]
		in.Traffic = fuzzTraffic(traffic)
		in.History = in.History[:0]
		for i, h := range hist {
			if i >= 64 {
				break
			}
			// Each byte: a code from a short list and a spacing; its top
			// bit makes it a degraded event with an action and a step.
			e := abi.HistoryEntry{
				AtMS: in.NowMS - int64(len(hist)-i)*int64(h&0x7f)*1000,
				Kind: abi.KindDisconnected, Code: []int{428, 408, 440, 503, 515, 401}[int(h)%6],
				Action: abi.ActionReconnect, Step: 1,
			}
			if h&0x80 != 0 {
				e.Kind, e.Code, e.Action, e.Step = abi.KindDegraded, 0, actions[int(h)%len(actions)], 1+int(h)%4
			}
			in.History = append(in.History, e)
		}
		decideBoth(t, "fuzzed input", in.AppendJSON(nil))
	})
}

// TestLongHistory: with 300 history entries the module (ABI 1.1) gets
// the last abi.HistoryTail of them and the summary, and decides like the
// native twin and like the native policy on the whole history, for
// histories that trigger each history rule and for one that triggers none.
func TestLongHistory(t *testing.T) {
	in := abi.SelfTestInput(abi.Settings(`{"jitter_pct":0}`))
	var p defaultpolicy.Policy
	for _, tt := range []struct {
		name  string
		code  int   // 0: a different code each time
		every int64 // ms between entries
		rule  string
	}{
		{"quiet", 0, 4 * 60_000, "backoff"},
		{"abort", 428, 4 * 60_000, "history_abort"},
		{"storm", 0, 100, "storm_guard"},
	} {
		in.History = in.History[:0]
		for i := range 300 {
			in.History = append(in.History, abi.HistoryEntry{
				AtMS: in.NowMS - int64(300-i)*tt.every, Kind: abi.KindDisconnected,
				Code: cmp.Or(tt.code, 4000+i), Action: abi.ActionReconnect, Step: 1,
			})
		}
		decideBoth(t, tt.name, in.AppendJSON(nil))
		full, err := p.Decide(in) // the whole history, no summary
		if err != nil || full.Rule != tt.rule {
			t.Errorf("%s: the whole history decides %+v, %v, want rule %s", tt.name, full, err, tt.rule)
		}
		out, err := defaultModule(t).Decide(context.Background(), in.AppendJSON(nil))
		if err != nil {
			t.Fatal(err)
		}
		if d, err := abi.ParseDecision(out, abi.Limits{}); err != nil || d.Rule != full.Rule || d.DelayMS != full.DelayMS {
			t.Errorf("%s: the module decides %s, the whole history %+v", tt.name, out, full)
		}
	}
}
