package abi_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/abi"
)

func sampleInput() *abi.Input {
	in := abi.SelfTestInput(abi.Settings(`{"max_attempts":5,"delays_ms":{"428":2000}}`))
	in.Event.Raw = "quote \" backslash \\ newline \n tab \t ctl \x01 emoji 😀"
	in.Event.ExpireMS = 86_400_000
	in.Event.BanCode = 103
	in.Event.Signal = abi.SignalUndecryptable
	in.Traffic = abi.Traffic{
		Undecryptable: abi.Counts{3, 7}, UndecryptableSenders: abi.Counts{2, 4}, Unavailable: abi.Counts{0, 1},
		Hidden: abi.Counts{1, 1}, Sends: abi.Counts{10, 90}, UnackedSends: abi.Counts{2, 2}, SendErrors: abi.Counts{0, 3},
		RetryReceiptsSent: abi.Counts{3, 6}, RetryReceiptsReceived: abi.Counts{1, 1},
		LastIncomingMS: in.NowMS - 1000, LastReceiptMS: in.NowMS - 2000, LastKeepAliveMS: in.NowMS - 3000, LastSendError: 479,
	}
	in.Proxy, in.HasProxy = abi.Proxy{
		ID: "socks5://10.0.0.8:1080", Pool: "br", PoolSize: 3, Healthy: 2, Down: true, Failures: 2, PoolFailures: 5,
	}, true
	return in
}

func TestInputRoundTrip(t *testing.T) {
	in := sampleInput()
	b := in.AppendJSON(nil)
	if !json.Valid(b) {
		t.Fatalf("encoder produced invalid JSON: %s", b)
	}
	var got abi.Input
	if err := abi.DecodeInput(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.HasSummary {
		t.Fatalf("a history of %d entries got a summary", len(in.History))
	}
	got.Summary = abi.HistorySummary{}
	if !reflect.DeepEqual(*in, got) {
		t.Fatalf("round trip changed the input:\n got %+v\nwant %+v", got, *in)
	}
	// encoding/json sees the same document.
	var generic map[string]any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	if generic["event"].(map[string]any)["raw"] != in.Event.Raw {
		t.Fatalf("raw string differs under encoding/json")
	}
}

func TestDecodeInputErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"not json", `nope`, "syntax"},
		{"missing v", `{}`, "unsupported document version"},
		{"future v", `{"v":2}`, "unsupported document version"},
		{"wrong type", `{"v":1,"attempt":"1"}`, "attempt"},
		{"nested wrong type", `{"v":1,"instance":{"qr_count":true}}`, "instance.qr_count"},
		{"fraction", `{"v":1,"attempt":1.5}`, "integer"},
		{"seed range", `{"v":1,"jitter_seed":-1}`, "jitter_seed"},
		{"settings not object", `{"v":1,"settings":[1]}`, "settings"},
		{"trailing", `{"v":1} x`, "trailing"},
		{"bad escape", `{"v":1,"event":{"raw":"\q"}}`, "escape"},
		{"deep unknown", `{"v":1,"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, "too deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in abi.Input
			err := abi.DecodeInput([]byte(tt.doc), &in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDecodeInputToleratesUnknown(t *testing.T) {
	doc := `{"v":1,"future":{"a":[1,2,{"b":null}]},"event":{"kind":"brand_new","code":499,"extra":1},"attempt":2.0}`
	var in abi.Input
	if err := abi.DecodeInput([]byte(doc), &in); err != nil {
		t.Fatal(err)
	}
	if in.Event.Kind != "brand_new" || in.Event.Kind.Known() || in.Event.Code != 499 || in.Attempt != 2 {
		t.Fatalf("unexpected %+v", in)
	}
}

func TestDecisionRoundTrip(t *testing.T) {
	n := 3
	tests := []abi.Decision{
		{V: 1, Action: abi.ActionReconnect, DelayMS: 2000, Step: abi.StepPurge, Rule: "backoff", Reason: "network drop"},
		{V: 1, Action: abi.ActionLogout, Cleanup: abi.ScopeAll, End: abi.EndClosed, Rule: "code_table", Reason: "logged out"},
		{V: 1, Action: abi.ActionLogout, End: abi.EndQRLimit, Reason: "QR code limit reached"},
		{V: 1, Action: abi.ActionReconnect, DelayMS: 0, Step: 1, QRCount: &n, Reason: "qr drop"},
		{V: 1, Action: abi.ActionReconnect, DelayMS: 2000, Step: 2, SwitchProxy: abi.SwitchNext, Rule: "proxy_switch", Reason: "switch to next"},
		{V: 1, Action: abi.ActionReconnect, DelayMS: 2000, Step: 1, SwitchProxy: "http://10.0.0.7:3128", Reason: "switch to one"},
	}
	for _, d := range tests {
		t.Run(d.Reason, func(t *testing.T) {
			b := d.AppendJSON(nil)
			got, err := abi.ParseDecision(b, abi.Limits{})
			if err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if !reflect.DeepEqual(got, d) {
				t.Fatalf("round trip of %s:\n got %+v\nwant %+v", b, got, d)
			}
		})
	}
}

func TestParseDecisionFaults(t *testing.T) {
	limits := abi.Limits{MaxDelay: time.Hour}
	tests := []struct {
		name, doc string
		is        error
		want      string
	}{
		{"garbage", `\x00\xff`, nil, "syntax"},
		{"empty", ``, nil, "end of input"},
		{"no version", `{"action":"reconnect"}`, abi.ErrVersion, ""},
		{"unknown action", `{"v":1,"action":"explode"}`, abi.ErrUnknownAction, "explode"},
		{"missing action", `{"v":1}`, abi.ErrInvalid, "action"},
		{"delay type", `{"v":1,"action":"reconnect","delay_ms":"5"}`, nil, "delay_ms"},
		{"delay ceiling", `{"v":1,"action":"reconnect","delay_ms":3600001}`, abi.ErrInvalid, "delay_ms"},
		{"negative delay", `{"v":1,"action":"reconnect","delay_ms":-1}`, abi.ErrInvalid, "delay_ms"},
		{"bad step", `{"v":1,"action":"reconnect","step":5}`, abi.ErrInvalid, "step"},
		{"unknown scope", `{"v":1,"action":"logout","cleanup":["disk"]}`, abi.ErrUnknownScope, "disk"},
		{"scope type", `{"v":1,"action":"logout","cleanup":"session"}`, nil, "cleanup"},
		{"cleanup on reconnect", `{"v":1,"action":"reconnect","cleanup":["cache"]}`, abi.ErrInvalid, "cleanup"},
		{"unknown end", `{"v":1,"action":"logout","end":"forever"}`, abi.ErrInvalid, "end"},
		{"repeated", `{"v":1,"action":"logout","action":"reconnect"}`, nil, "repeated"},
		{"rule chars", `{"v":1,"action":"logout","rule":"Bad Rule"}`, abi.ErrInvalid, "rule"},
		{"long reason", `{"v":1,"action":"logout","reason":"` + strings.Repeat("x", 2000) + `"}`, abi.ErrInvalid, "reason"},
		{"negative qr", `{"v":1,"action":"reconnect","qr_count":-1}`, abi.ErrInvalid, "qr_count"},
		{"switch on logout", `{"v":1,"action":"logout","switch_proxy":true}`, abi.ErrInvalid, "switch_proxy"},
		{"switch type", `{"v":1,"action":"reconnect","switch_proxy":1}`, nil, "switch_proxy"},
		{"long switch", `{"v":1,"action":"reconnect","switch_proxy":"` + strings.Repeat("x", 300) + `"}`, abi.ErrInvalid, "switch_proxy"},
		{"huge", `{"v":1,"action":"logout","reason":"` + strings.Repeat("x", 70000) + `"}`, abi.ErrInvalid, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := abi.ParseDecision([]byte(tt.doc), limits)
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("error %v is not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestDecisionAcceptsJavaScriptNumbers(t *testing.T) {
	d, err := abi.ParseDecision([]byte(`{"v":1.0,"action":"reconnect","delay_ms":2000.0,"step":1e0,"future_field":[1]}`), abi.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if d.DelayMS != 2000 || d.Step != 1 {
		t.Fatalf("got %+v", d)
	}
}

func TestSettings(t *testing.T) {
	s, err := abi.ParseSettings([]byte(`{"n":7,"b":true,"s":"x","l":[1,2],"m":{"428":100},"nul":null,"bad":"q"}`))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Int("n", 1); v != 7 || err != nil {
		t.Fatalf("Int = %d, %v", v, err)
	}
	if v, err := s.Int("missing", 9); v != 9 || err != nil {
		t.Fatalf("missing Int = %d, %v", v, err)
	}
	if v, err := s.Int("nul", 9); v != 9 || err != nil {
		t.Fatalf("null Int = %d, %v", v, err)
	}
	if _, err := s.Int("bad", 0); err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Fatalf("wrong-typed Int error = %v", err)
	}
	if v, _ := s.Bool("b", false); !v {
		t.Fatal("Bool")
	}
	if v, _ := s.String("s", ""); v != "x" {
		t.Fatal("String")
	}
	if v, _ := s.Ints("l", nil); !reflect.DeepEqual(v, []int64{1, 2}) {
		t.Fatalf("Ints = %v", v)
	}
	def := map[int]int64{428: 1, 408: 2}
	m, err := s.IntMap("m", def)
	if err != nil || m[428] != 100 || m[408] != 2 || def[428] != 1 {
		t.Fatalf("IntMap = %v, %v (def %v)", m, err, def)
	}
	if _, err := abi.ParseSettings([]byte(`[1]`)); err == nil {
		t.Fatal("array accepted as settings")
	}
}

func TestPackResult(t *testing.T) {
	r := abi.PackResult(0x1234, 99, true)
	p, n, isErr := abi.UnpackResult(r)
	if p != 0x1234 || n != 99 || !isErr {
		t.Fatalf("got %x %d %v", p, n, isErr)
	}
}

func TestJitterDeterministicAndSpread(t *testing.T) {
	if abi.Jitter(7, 1, 1000) != abi.Jitter(7, 1, 1000) {
		t.Fatal("not deterministic")
	}
	seen := map[int64]bool{}
	for seed := uint32(0); seed < 10000; seed++ {
		v := abi.Jitter(seed, 0, 1_000_000)
		if v < 0 || v >= 1_000_000 {
			t.Fatalf("out of range: %d", v)
		}
		seen[v] = true
	}
	if len(seen) < 9900 {
		t.Fatalf("10,000 seeds gave only %d distinct values", len(seen))
	}
}
