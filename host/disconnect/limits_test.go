package disconnect_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/disconnect"
)

// TestLimitsAreLive: a reloaded max_delay applies to the next decision,
// and the fallback's delay obeys it too.
func TestLimitsAreLive(t *testing.T) {
	var maxDelay atomic.Int64
	maxDelay.Store(int64(time.Minute))
	p := &fakePolicy{out: `{"v":1,"action":"reconnect","delay_ms":120000,"step":1,"reason":"two minutes"}`}
	d := disconnect.New(p, disconnect.Options{LiveLimits: func() abi.Limits {
		return abi.Limits{MaxDelay: time.Duration(maxDelay.Load())}
	}})
	in := &abi.Input{V: abi.DocVersion, Event: abi.Event{Kind: abi.KindTemporaryBan, Code: 402, Cause: abi.CauseNone},
		Attempt: 1, Instance: abi.Instance{Name: "x"}, Settings: abi.Settings("{}")}

	out := d.Decide(context.Background(), in)
	if !out.Fallback {
		t.Fatalf("a 2-minute delay passed a 1-minute limit: %+v", out.Decision)
	}
	if out.Decision.Action == abi.ActionReconnect && out.Decision.DelayMS > time.Minute.Milliseconds() {
		t.Fatalf("the fallback's delay %d ms is over the 1-minute limit", out.Decision.DelayMS)
	}

	maxDelay.Store(int64(time.Hour)) // a reload raises the limit
	if out := d.Decide(context.Background(), in); out.Fallback || out.Decision.DelayMS != 120000 {
		t.Fatalf("after raising the limit: %+v (fallback %v, fault %v)", out.Decision, out.Fallback, out.Fault)
	}
}
