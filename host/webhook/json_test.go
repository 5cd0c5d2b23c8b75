package webhook

import (
	"bytes"
	"encoding/json"
	"testing"
)

var envelopeStrings = []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rcr\bbs\fff", "\x00\x01\x1f\x7f",
	"<a href='x?a=1&b=2'>", "ünïcödé 😀", "line\u2028para\u2029", "bad \xff utf8 \xc3", "https://example.com/h?x=1&y=<2>"}

// TestEnvelopeEncoding: the hand-written envelopes are byte for byte what
// encoding/json writes (the strings in them: internal/jsonw's
// FuzzAppendString).
func TestEnvelopeEncoding(t *testing.T) {
	for _, s := range envelopeStrings {
		for _, key := range []string{"", "k3y"} {
			check(t, s, key)
		}
	}
}

func check(t *testing.T, s, key string) {
	data := json.RawMessage(`{"state":"open","statusReason":200}`)
	env := Envelope{Event: s, Instance: s + "i", Data: data, Destination: s, DateTime: "2026-12-06T19:00:00.000Z",
		Sender: s, ServerURL: s, APIKey: key}
	want, err := encode(env)
	if err != nil {
		t.Fatal(err)
	}
	if got := env.appendJSON(nil); !bytes.Equal(got, want) {
		t.Fatalf("Envelope of %q:\n got %s\nwant %s", s, got, want)
	}
	sink := sinkEnvelope{Event: s, Instance: s, Data: data, ServerURL: s, DateTime: s, Sender: s, APIKey: key}
	if want, err = encode(sink); err != nil {
		t.Fatal(err)
	}
	if got := sink.appendJSON(nil); !bytes.Equal(got, want) {
		t.Fatalf("sinkEnvelope of %q:\n got %s\nwant %s", s, got, want)
	}
}
