package abi

import (
	"reflect"
	"strings"
	"testing"
)

// decodeModes are the ways decodeInput is called: DecodeInput,
// DecodeInputNoCopy and DecodeInputLazy.
var decodeModes = []struct {
	name        string
	alias, lazy bool
}{{"copy", false, false}, {"nocopy", true, false}, {"lazy", true, true}}

// hostDocuments are input documents as the host writes them, one for each
// member the layout may or may not have.
func hostDocuments() map[string][]byte {
	docs := map[string][]byte{}
	add := func(name string, edit func(in *Input)) {
		in := SelfTestInput(nil)
		edit(in)
		docs[name] = InputForMinor(Minor, in.AppendJSON(nil))
	}
	add("self-test", func(*Input) {})
	add("no history", func(in *Input) { in.History = nil })
	add("every event member", func(in *Input) {
		in.Event = Event{Kind: KindTemporaryBan, Code: 402, Raw: `quote " backslash \ newline` + "\n",
			Message: "ünïcödé 😀", Cause: CauseProxyAuth, ExpireMS: 86_400_000, BanCode: 103, Signal: SignalUndecryptable}
	})
	add("degraded", func(in *Input) {
		in.Event = Event{Kind: KindDegraded, Signal: SignalUnackedSends}
		in.Traffic = Traffic{Undecryptable: Counts{3, 7}, UndecryptableSenders: Counts{2, 4}, Sends: Counts{10, 90},
			UnackedSends: Counts{2, 2}, LastIncomingMS: in.NowMS - 1000, LastSendError: 479}
	})
	add("proxy in a pool", func(in *Input) {
		in.Proxy, in.HasProxy = Proxy{ID: "socks5://10.0.0.8:1080", Pool: "br", PoolSize: 3, Healthy: 2,
			Down: true, Failures: 2, PoolFailures: 5}, true
	})
	add("proxy alone", func(in *Input) { in.Proxy, in.HasProxy = Proxy{ID: "http://p:1", PoolSize: 1, Healthy: 1}, true })
	add("settings", func(in *Input) { in.Settings = Settings(`{"max_attempts":3,"delays_ms":{"428":100}}`) })
	add("long history", func(in *Input) {
		in.History = nil
		for i := range 3 * HistoryTail {
			in.History = append(in.History, HistoryEntry{AtMS: in.NowMS - int64(i+1)*60_000, Kind: Kinds[i%len(Kinds)],
				Code: 400 + i, Action: []Action{ActionReconnect, ActionLogout, ActionKeep}[i%3], Step: i % 5})
		}
	})
	add("edge numbers", func(in *Input) {
		in.NowMS, in.JitterSeed, in.Attempt, in.Step = 999_999_999_999_999_999, 1<<32-1, 12345678, 0
		in.Instance = Instance{ID: "", Name: "x", Phase: PhaseQR, QRCount: -3, QRLimit: 1<<31 - 1, ConnectedMS: 10_000_000}
		in.Event.Code = -1
		in.History[0].AtMS = 1234567890123456
	})
	add("unknown names", func(in *Input) {
		in.Instance.Phase, in.Event.Kind, in.Event.Cause = "future_phase", "brand_new", "future_cause"
		in.History[0].Kind, in.History[0].Action = "brand_new", "future_action"
	})
	return docs
}

// TestHostLayout: the documents the host writes take the host layout's
// path, and decode as member by member.
func TestHostLayout(t *testing.T) {
	for name, doc := range hostDocuments() {
		for _, mode := range decodeModes {
			t.Run(name+"/"+mode.name, func(t *testing.T) {
				var fast, members Input
				if !decodeHostInput(doc, &fast, mode.alias, mode.lazy) {
					t.Fatalf("not read as the host's layout:\n%s", doc)
				}
				if err := decodeMembers(doc, &members, mode.alias, mode.lazy); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(fast, members) {
					t.Fatalf("host layout decoded\n%+v\nmember by member\n%+v", fast, members)
				}
			})
		}
	}
}

// TestHostLayoutDeclines: a document laid out otherwise, or one to
// reject, is left to decodeMembers.
func TestHostLayoutDeclines(t *testing.T) {
	doc := string(hostDocuments()["self-test"])
	for _, tt := range []struct{ name, doc string }{
		{"white space", strings.Replace(doc, `"v":1,`, `"v":1, `, 1)},
		{"trailing space", doc + " "},
		{"members reordered", strings.Replace(doc, `"now_ms":1767225600000,"jitter_seed":42`, `"jitter_seed":42,"now_ms":1767225600000`, 1)},
		{"unknown member", strings.Replace(doc, `"attempt":`, `"future":1,"attempt":`, 1)},
		{"no traffic", doc[:strings.Index(doc, `,"traffic"`)] + doc[strings.Index(doc, `,"settings"`):]},
		{"version", strings.Replace(doc, `"v":1`, `"v":2`, 1)},
		{"seed range", strings.Replace(doc, `"jitter_seed":42`, `"jitter_seed":4294967296`, 1)},
		{"code range", strings.Replace(doc, `"code":428`, `"code":4294967296`, 1)},
		{"fraction", strings.Replace(doc, `"attempt":1`, `"attempt":1.5`, 1)},
		{"leading zero", strings.Replace(doc, `"attempt":1`, `"attempt":01`, 1)},
		{"bad string", strings.Replace(doc, `"self-test"`, `"self-`+"\x01"+`test"`, 1)},
		{"entry member missing", strings.Replace(doc, `,"step":1}`, `}`, 1)},
		{"truncated", doc[:len(doc)-1]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.doc == doc {
				t.Fatal("the case changes nothing")
			}
			var in Input
			if decodeHostInput([]byte(tt.doc), &in, true, true) {
				t.Fatalf("read as the host's layout:\n%s", tt.doc)
			}
		})
	}
}

// FuzzDecodeHostInput: whatever the host layout's path accepts,
// decodeMembers accepts too, and decodes alike.
func FuzzDecodeHostInput(f *testing.F) {
	for _, doc := range hostDocuments() {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mode := range decodeModes {
			var fast, members Input
			if !decodeHostInput(data, &fast, mode.alias, mode.lazy) {
				continue
			}
			if err := decodeMembers(data, &members, mode.alias, mode.lazy); err != nil {
				t.Fatalf("%s: decodeMembers rejects what the host layout's path accepts: %v", mode.name, err)
			}
			if !reflect.DeepEqual(fast, members) {
				t.Fatalf("%s: host layout decoded\n%+v\nmember by member\n%+v", mode.name, fast, members)
			}
		}
	})
}
