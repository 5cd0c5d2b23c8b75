package abi_test

import (
	"errors"
	"testing"

	"github.com/wahost/wahost/abi"
)

// Keep is a valid decision only for a degraded event, and carries nothing
// a reconnect or a logout does.
func TestKeepDecision(t *testing.T) {
	for _, tt := range []struct {
		name, doc string
		kind      abi.Kind
		ok        bool
	}{
		{"keep for degraded", `{"v":1,"action":"keep","rule":"degraded_one_sender","reason":"x"}`, abi.KindDegraded, true},
		{"keep for a disconnect", `{"v":1,"action":"keep","reason":"x"}`, abi.KindDisconnected, false},
		{"keep with a delay", `{"v":1,"action":"keep","delay_ms":5,"reason":"x"}`, abi.KindDegraded, false},
		{"keep with a step", `{"v":1,"action":"keep","step":2,"reason":"x"}`, abi.KindDegraded, false},
		{"keep with a cleanup", `{"v":1,"action":"keep","cleanup":["cache"],"reason":"x"}`, abi.KindDegraded, false},
		{"reconnect for degraded", `{"v":1,"action":"reconnect","step":2,"reason":"x"}`, abi.KindDegraded, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := abi.ParseDecision([]byte(tt.doc), abi.Limits{})
			if err == nil {
				err = d.CheckFor(tt.kind)
			}
			if (err == nil) != tt.ok {
				t.Fatalf("error %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, abi.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			if err == nil {
				again, err := abi.ParseDecision(d.AppendJSON(nil), abi.Limits{})
				if err != nil || again.Action != d.Action {
					t.Fatalf("round trip: %+v, %v", again, err)
				}
			}
		})
	}
}

// Every input carries the traffic object, history or not, and an older
// document without it decodes to zero counters.
func TestTrafficMember(t *testing.T) {
	in := abi.SelfTestInput(nil)
	in.Traffic.UnackedSends = abi.Counts{2, 5}
	var got abi.Input
	if err := abi.DecodeInput(abi.InputForMinor(1, in.AppendJSON(nil)), &got); err != nil {
		t.Fatal(err)
	}
	if got.Traffic != in.Traffic {
		t.Fatalf("traffic %+v, want %+v", got.Traffic, in.Traffic)
	}
	old := []byte(`{"v":1,"now_ms":5,"event":{"kind":"degraded","code":0,"signal":"unacked_sends"},"traffic":{"sends":[1,2],"future":{"x":[1]}},"history":[]}`)
	if err := abi.DecodeInput(old, &got); err != nil {
		t.Fatal(err)
	}
	if got.Event.Kind != abi.KindDegraded || got.Event.Signal != abi.SignalUnackedSends || got.Traffic.Sends != (abi.Counts{1, 2}) {
		t.Fatalf("decoded %+v %+v", got.Event, got.Traffic)
	}
	for _, bad := range []string{`{"v":1,"traffic":{"sends":[1]}}`, `{"v":1,"traffic":{"sends":[1,2,3]}}`, `{"v":1,"traffic":[]}`} {
		if err := abi.DecodeInput([]byte(bad), &got); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}
