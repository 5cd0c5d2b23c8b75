package abi_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/wahost/wahost/abi"
)

// DecodeInputLazy decodes what DecodeInput does, the traffic once
// LoadTraffic is called: it is zero until then.
func TestDecodeInputLazy(t *testing.T) {
	in := sampleInput()
	doc := in.AppendJSON(nil)
	var want, got abi.Input
	if err := abi.DecodeInput(doc, &want); err != nil {
		t.Fatal(err)
	}
	if err := abi.DecodeInputLazy(doc, &got); err != nil {
		t.Fatal(err)
	}
	if got.Traffic != (abi.Traffic{}) {
		t.Fatalf("traffic decoded before LoadTraffic: %+v", got.Traffic)
	}
	for range 2 {
		tr, err := got.LoadTraffic()
		if err != nil {
			t.Fatal(err)
		}
		if tr != &got.Traffic || *tr != in.Traffic {
			t.Fatalf("LoadTraffic = %+v, want %+v in the input", *tr, in.Traffic)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("lazy decode\n got %+v\nwant %+v", got, want)
	}
	// A decode reuses the input: nothing of the earlier traffic is left.
	if err := abi.DecodeInputLazy([]byte(`{"v":1,"now_ms":5,"history":[]}`), &got); err != nil {
		t.Fatal(err)
	}
	if tr, err := got.LoadTraffic(); err != nil || *tr != (abi.Traffic{}) {
		t.Fatalf("a document without traffic: %+v, %v", tr, err)
	}
	// An input built in Go, or decoded eagerly, has its traffic ready.
	if tr, err := in.LoadTraffic(); err != nil || tr != &in.Traffic {
		t.Fatalf("LoadTraffic of a built input = %p, %v", tr, err)
	}
}

// The skipped object must be one whose brackets and strings are whole;
// its members are checked by LoadTraffic, which reports a bad one at every
// call. Two traffic members merge, as DecodeInput merges them.
func TestDecodeInputLazyErrors(t *testing.T) {
	var in abi.Input
	for _, tt := range []struct{ name, doc string }{
		{"not an object", `{"v":1,"traffic":[]}`},
		{"unclosed", `{"v":1,"traffic":{"sends":[1,2]`},
		{"mismatched", `{"v":1,"traffic":{"sends":[1,2}]}`},
		{"unterminated string", `{"v":1,"traffic":{"sends\":[1,2]}}`},
		{"control character", "{\"v\":1,\"traffic\":{\"s\x01\":[1,2]}}"},
		{"too deep", `{"v":1,"traffic":` + nest(70) + `}`},
		{"bad second", `{"v":1,"traffic":{},"traffic":{"sends":[1]}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := abi.DecodeInputLazy([]byte(tt.doc), &in); err == nil {
				t.Fatalf("%s decoded", tt.doc)
			}
		})
	}
	if err := abi.DecodeInputLazy([]byte(`{"v":1,"traffic":{"sends":[1,2,3],"x":"}{\"]"}}`), &in); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		var fe *abi.FieldError
		if _, err := in.LoadTraffic(); !errors.As(err, &fe) || fe.Field != "traffic.sends" {
			t.Fatalf("LoadTraffic error %v, want one about traffic.sends", err)
		}
	}
	doc := `{"v":1,"traffic":{"sends":[1,2],"hidden":[3,4]},"traffic":{"sends":[5,6]}}`
	var want abi.Input
	if err := abi.DecodeInput([]byte(doc), &want); err != nil {
		t.Fatal(err)
	}
	if err := abi.DecodeInputLazy([]byte(doc), &in); err != nil {
		t.Fatal(err)
	}
	if tr, err := in.LoadTraffic(); err != nil || *tr != want.Traffic {
		t.Fatalf("two traffic members: %+v, %v; want %+v", tr, err, want.Traffic)
	}
}

func nest(n int) string {
	s := "{\"a\":"
	for range n {
		s += "["
	}
	for range n {
		s += "]"
	}
	return s + "}"
}

// BenchmarkDecodeInput is the SDK's decoding of the self-test input, with
// the traffic decoded and left for LoadTraffic. Under WebAssembly:
//
//	GOOS=wasip1 GOARCH=wasm go test -c -o abi.wasm ./abi/
//	go run github.com/tetratelabs/wazero/cmd/wazero run abi.wasm -test.run '^$' -test.bench DecodeInput
func BenchmarkDecodeInput(b *testing.B) {
	doc := abi.SelfTestInput(nil).AppendJSON(nil)
	for _, tt := range []struct {
		name   string
		decode func([]byte, *abi.Input) error
	}{{"nocopy", abi.DecodeInputNoCopy}, {"lazy", abi.DecodeInputLazy}} {
		b.Run(tt.name, func(b *testing.B) {
			var in abi.Input
			b.ReportAllocs()
			for b.Loop() {
				if err := tt.decode(doc, &in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
