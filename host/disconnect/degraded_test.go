package disconnect_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/disconnect"
)

// versioned is a fakePolicy that reports its module's ABI minor version.
type versioned struct {
	fakePolicy
	minor uint16
}

func (v *versioned) Module() (string, string, uint16, bool) { return "test.wasm", "abc", v.minor, true }

func degradedInput(senders int) *abi.Input {
	in := abi.SelfTestInput(nil)
	in.Event = abi.Event{Kind: abi.KindDegraded, Cause: abi.CauseNone, Signal: abi.SignalUndecryptable}
	in.Traffic.Undecryptable = abi.Counts{3, 3}
	in.Traffic.UndecryptableSenders = abi.Counts{senders, senders}
	return in
}

// A module older than ABI 1.2 is never asked about a degraded event: the
// native rules decide, and the decision's reason says so.
func TestDegradedForAnOlderModule(t *testing.T) {
	p := &versioned{fakePolicy: fakePolicy{out: `{"v":1,"action":"reconnect","step":1,"reason":"module"}`}, minor: 1}
	d := disconnect.New(p, disconnect.Options{})
	o := d.Decide(context.Background(), degradedInput(3))
	if len(p.inputs) != 0 {
		t.Fatalf("the 1.1 module was asked: %s", p.inputs)
	}
	var older *disconnect.OlderABIError
	if !o.Fallback || !errors.As(o.Fault, &older) || older.Minor != 1 || o.Module != "test.wasm" {
		t.Fatalf("outcome %+v", o)
	}
	if o.Decision.Rule != "degraded_undecryptable" || o.Decision.Step != abi.StepPurge ||
		!strings.Contains(o.Decision.Reason, "ABI 1.1") || !strings.Contains(string(o.Doc), "native rules decided") {
		t.Fatalf("decision %s", o.Doc)
	}
	// One sender: keep, natively too.
	if o := d.Decide(context.Background(), degradedInput(1)); o.Decision.Action != abi.ActionKeep {
		t.Fatalf("one sender: %s", o.Doc)
	}
	// A disconnect still goes to the module.
	if o := d.Decide(context.Background(), abi.SelfTestInput(nil)); o.Fallback || len(p.inputs) != 1 {
		t.Fatalf("disconnect: %+v, inputs %d", o, len(p.inputs))
	}
	// A module of 1.2 is asked.
	p.minor = abi.DegradedMinor
	p.out = `{"v":1,"action":"keep","rule":"mine","reason":"module"}`
	if o := d.Decide(context.Background(), degradedInput(3)); o.Fallback || o.Decision.Rule != "mine" {
		t.Fatalf("1.2 module: %+v", o)
	}
}

// Keep answers only a degraded event: for a disconnect it is an invalid
// decision, and the fallback decides.
func TestKeepForADisconnectIsInvalid(t *testing.T) {
	p := &fakePolicy{out: `{"v":1,"action":"keep","reason":"no"}`}
	o := disconnect.New(p, disconnect.Options{}).Decide(context.Background(), abi.SelfTestInput(nil))
	var inv *disconnect.InvalidDecisionError
	if !o.Fallback || !errors.As(o.Fault, &inv) || o.Decision.Action != abi.ActionReconnect {
		t.Fatalf("outcome %+v", o)
	}
}

// A module older than ABI 1.3 saw no proxy: a switch_proxy it returns is
// not carried out. A module of 1.3 gets its switch.
func TestSwitchProxyOfAnOlderModuleIsIgnored(t *testing.T) {
	in := abi.SelfTestInput(nil)
	in.Proxy, in.HasProxy = abi.Proxy{ID: "http://10.0.0.7:3128", Pool: "p", PoolSize: 2, Healthy: 2}, true
	p := &versioned{fakePolicy: fakePolicy{out: `{"v":1,"action":"reconnect","step":1,"switch_proxy":true,"reason":"m"}`}, minor: 2}
	d := disconnect.New(p, disconnect.Options{})
	if o := d.Decide(context.Background(), in); o.Fallback || o.Decision.SwitchProxy != "" || strings.Contains(string(o.Doc), "switch_proxy") {
		t.Fatalf("1.2 module's switch carried: %+v %s", o.Decision, o.Doc)
	}
	p.minor = abi.ProxyMinor
	if o := d.Decide(context.Background(), in); o.Fallback || o.Decision.SwitchProxy != abi.SwitchNext {
		t.Fatalf("1.3 module's switch lost: %+v %s", o.Decision, o.Doc)
	}
}
