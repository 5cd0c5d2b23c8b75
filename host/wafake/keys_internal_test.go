package wafake

import (
	"testing"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

func keyNode(tag string, id byte, signed bool) waBinary.Node {
	children := []waBinary.Node{
		{Tag: "id", Content: []byte{0, 0, id}},
		{Tag: "value", Content: make([]byte, 32)},
	}
	if signed {
		children = append(children, waBinary.Node{Tag: "signature", Content: make([]byte, 64)})
	}
	return waBinary.Node{Tag: tag, Content: children}
}

// TestBundles checks that each bundle consumes one one-time key, that a
// later upload adds keys without duplicates, and that bundles carry the
// signed prekey only once the one-time keys are gone.
func TestBundles(t *testing.T) {
	upload := func(ids ...byte) *deviceKeys {
		var list []waBinary.Node
		for _, id := range ids {
			list = append(list, keyNode("key", id, false))
		}
		k, err := parseKeyUpload(&waBinary.Node{Tag: "iq", Content: []waBinary.Node{
			{Tag: "registration", Content: []byte{0, 0, 0, 7}},
			{Tag: "type", Content: []byte{5}},
			{Tag: "identity", Content: make([]byte, 32)},
			{Tag: "list", Content: list},
			keyNode("skey", 1, true),
		}})
		if err != nil {
			t.Fatalf("parseKeyUpload: %v", err)
		}
		return k
	}
	k := upload(1, 2)
	k.merge(upload(2, 3))
	if len(k.oneTime) != 3 {
		t.Fatalf("after merge: %d one-time keys, want 3", len(k.oneTime))
	}
	dev := types.JID{User: "15550000001", Device: 2, Server: types.DefaultUserServer}
	for i, want := range []bool{true, true, true, false, false} {
		b := k.bundleLocked(dev)
		if _, has := b.GetOptionalChildByTag("key"); has != want {
			t.Errorf("bundle %d: one-time key present = %v, want %v", i, has, want)
		}
		if _, ok := b.GetOptionalChildByTag("skey"); !ok || b.Attrs["jid"] != dev {
			t.Errorf("bundle %d: %s", i, b.XMLString())
		}
	}
	if _, err := parseKeyUpload(&waBinary.Node{Tag: "iq"}); err == nil {
		t.Errorf("parseKeyUpload accepted an empty upload")
	}
}
