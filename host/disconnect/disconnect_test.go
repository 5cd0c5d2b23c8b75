package disconnect_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/disconnect"
)

// fakePolicy answers with a fixed document or error and records inputs.
type fakePolicy struct {
	out    string
	err    error
	inputs []string
}

func (f *fakePolicy) Decide(_ context.Context, input []byte) (disconnect.Answer, error) {
	f.inputs = append(f.inputs, string(input))
	return disconnect.Answer{Out: []byte(f.out), Module: "test.wasm", SHA256: "abc"}, f.err
}

type kindErr string

func (k kindErr) Error() string     { return "policy failed: " + string(k) }
func (k kindErr) FaultKind() string { return string(k) }

func TestDecide(t *testing.T) {
	tests := []struct {
		name         string
		policy       *fakePolicy
		wantFallback bool
		wantAction   abi.Action
		wantFault    string
	}{
		{"module decides", &fakePolicy{out: `{"v":1,"action":"reconnect","delay_ms":1500,"step":2,"rule":"x","reason":"r"}`}, false, abi.ActionReconnect, ""},
		{"module faults", &fakePolicy{err: kindErr("timeout")}, true, abi.ActionReconnect, "timeout"},
		{"decision over the ceiling", &fakePolicy{out: `{"v":1,"action":"reconnect","delay_ms":999999999999}`}, true, abi.ActionReconnect, "invalid_output"},
		{"no module loaded", &fakePolicy{err: disconnect.ErrNoPolicy}, true, abi.ActionReconnect, "no_module"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			clock := time.Unix(0, 0)
			d := disconnect.New(tt.policy, disconnect.Options{
				Limits:  abi.Limits{MaxDelay: time.Hour},
				Metrics: disconnect.NewMetrics(reg),
				Now:     func() time.Time { clock = clock.Add(time.Millisecond); return clock },
			})
			in := abi.SelfTestInput(nil)
			o := d.Decide(context.Background(), in)
			if o.Fallback != tt.wantFallback || o.Decision.Action != tt.wantAction {
				t.Fatalf("outcome %+v", o)
			}
			if o.Latency != time.Millisecond {
				t.Fatalf("latency %s", o.Latency)
			}
			if _, err := abi.ParseDecision(o.Doc, abi.Limits{}); err != nil {
				t.Fatalf("recorded document %s: %v", o.Doc, err)
			}
			if o.SHA256 != "abc" || len(tt.policy.inputs) != 1 || !strings.Contains(tt.policy.inputs[0], `"kind":"disconnected"`) {
				t.Fatalf("module identity or input lost: %+v %v", o, tt.policy.inputs)
			}
			if tt.wantFault != "" {
				if n := counter(t, reg, "wahost_policy_fallbacks_total", tt.wantFault); n != 1 {
					t.Fatalf("fallback metric for %s = %v", tt.wantFault, n)
				}
			}
		})
	}
}

func TestFallbackFollowsTheDefaultTable(t *testing.T) {
	d := disconnect.New(&fakePolicy{err: errors.New("boom")}, disconnect.Options{})
	in := abi.SelfTestInput(nil)
	in.Event.Kind, in.Event.Code = abi.KindLoggedOut, 401
	o := d.Decide(context.Background(), in)
	if o.Decision.Action != abi.ActionLogout || o.Decision.Cleanup != abi.ScopeAll || !o.Fallback {
		t.Fatalf("fallback for 401: %+v", o.Decision)
	}
}

// counter reads a counter with one label value from reg.
func counter(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
