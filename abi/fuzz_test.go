package abi_test

import (
	"reflect"
	"testing"

	"github.com/wahost/wahost/abi"
)

func FuzzDecodeDecision(f *testing.F) {
	f.Add([]byte(`{"v":1,"action":"reconnect","delay_ms":2000,"step":2,"rule":"backoff","reason":"x"}`))
	f.Add([]byte(`{"v":1,"action":"logout","cleanup":["session","cache","files"],"end":"qr_limit","qr_count":0}`))
	f.Add([]byte(`{"v":1.0,"action":"reconnect","delay_ms":2e3,"reason":"\u00e9\ud83d\ude00"}`))
	f.Add([]byte(`[{"v":1}]`))
	f.Add([]byte(`{"v":1,"action":"reconnect","delay_ms":2000,"step":2,"switch_proxy":true,"rule":"proxy_switch"}`))
	f.Add([]byte(`{"v":1,"action":"reconnect","switch_proxy":"http://10.0.0.7:3128","reason":"x"}`))
	f.Add([]byte(`{"v":1,"action":"logout","switch_proxy":false}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := abi.ParseDecision(data, abi.Limits{})
		if err != nil {
			return
		}
		// A valid decision survives a round trip through the encoder.
		again, err := abi.ParseDecision(d.AppendJSON(nil), abi.Limits{})
		if err != nil {
			t.Fatalf("re-encoded decision rejected: %v", err)
		}
		if !reflect.DeepEqual(d, again) {
			t.Fatalf("round trip changed %+v into %+v", d, again)
		}
	})
}

func FuzzDecodeInput(f *testing.F) {
	f.Add(abi.SelfTestInput(nil).AppendJSON(nil))
	f.Add(sampleInput().AppendJSON(nil))
	f.Add([]byte(`{"v":1,"history":[{"at_ms":1,"kind":"x","code":1,"action":"y"}],"settings":{"a":[{}]}}`))
	f.Add([]byte(`{"proxy":{"id":"http://p:1","pool":"a","pool_size":2,"healthy":1,"down":true,"failures":3,"pool_failures":4,"x":[]},"v":1,"event":{"cause":"proxy_auth"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var in, lazy abi.Input
		if err := abi.DecodeInput(data, &in); err != nil {
			return
		}
		// A lazy decode accepts it too, and agrees once the traffic is loaded.
		if err := abi.DecodeInputLazy(data, &lazy); err != nil {
			t.Fatalf("lazy decode rejected what DecodeInput accepts: %v", err)
		}
		if _, err := lazy.LoadTraffic(); err != nil {
			t.Fatalf("LoadTraffic rejected what DecodeInput accepts: %v", err)
		}
		if !reflect.DeepEqual(in, lazy) {
			t.Fatalf("lazy decode gave %+v, want %+v", lazy, in)
		}
		var again abi.Input
		if err := abi.DecodeInput(in.AppendJSON(nil), &again); err != nil {
			t.Fatalf("re-encoded input rejected: %v", err)
		}
		in.Settings, again.Settings = nil, nil // raw bytes, compared below
		// The encoder writes the summary of the history it has.
		in.Summary, again.Summary, in.HasSummary, again.HasSummary = abi.HistorySummary{}, abi.HistorySummary{}, false, false
		if !reflect.DeepEqual(in, again) {
			t.Fatalf("round trip changed %+v into %+v", in, again)
		}
	})
}
