package abi_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/wahost/wahost/abi"
)

// TestInputForMinorProxy: a module older than 1.3 gets no proxy object
// and no proxy_auth cause; the rest of the document is the same. A module
// of 1.3 gets them as they are.
func TestInputForMinorProxy(t *testing.T) {
	for _, n := range []int{0, 300} {
		in := sampleInput()
		in.Event.Kind, in.Event.Cause = abi.KindConnectError, abi.CauseProxyAuth
		in.History = history(in.NowMS, n)
		doc := in.AppendJSON(nil)
		if got := abi.InputForMinor(abi.ProxyMinor, doc); n == 0 && !bytes.Equal(got, doc) {
			t.Errorf("history %d: minor %d did not get the document unchanged", n, abi.ProxyMinor)
		}
		for _, minor := range []uint16{0, 1, 2} {
			got := abi.InputForMinor(minor, doc)
			if bytes.Contains(got, []byte(`"proxy"`)) || bytes.Contains(got, []byte("proxy_auth")) {
				t.Fatalf("history %d: minor %d got the proxy: %s", n, minor, got)
			}
			var old, want abi.Input
			if err := abi.DecodeInput(got, &old); err != nil {
				t.Fatalf("history %d: minor %d: %v\n%s", n, minor, err, got)
			}
			if err := abi.DecodeInput(abi.InputForMinor(minor, without(in)), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(old, want) {
				t.Errorf("history %d: minor %d got\n%+v\nwant\n%+v", n, minor, old, want)
			}
		}
	}
	// Documents with nothing to strip pass unchanged, a proxy member first
	// goes with its comma, and a "proxy" inside the settings stays.
	plain := abi.SelfTestInput(abi.Settings(`{"proxy":{"x":1}}`)).AppendJSON(nil)
	if got := abi.InputForMinor(2, plain); !bytes.Equal(got, plain) {
		t.Errorf("changed %s into %s", plain, got)
	}
	first := []byte(`{"proxy":{"id":"http://p:1"} , "v":1}`)
	if got := string(abi.InputForMinor(2, first)); got != `{ "v":1}` {
		t.Errorf("first member: got %s", got)
	}
}

// without is the document of in with neither proxy nor proxy_auth.
func without(in *abi.Input) []byte {
	c := *in
	c.Proxy, c.HasProxy = abi.Proxy{}, false
	if c.Event.Cause == abi.CauseProxyAuth {
		c.Event.Cause = abi.CauseNone
	}
	return c.AppendJSON(nil)
}

func TestSwitchProxyOnlyOnReconnect(t *testing.T) {
	d := abi.Decision{V: 1, Action: abi.ActionKeep, SwitchProxy: abi.SwitchNext}
	if err := d.Validate(abi.Limits{}); err == nil || !strings.Contains(err.Error(), "switch_proxy") {
		t.Fatalf("keep with switch_proxy: %v", err)
	}
	got, err := abi.ParseDecision([]byte(`{"v":1,"action":"reconnect","switch_proxy":false}`), abi.Limits{})
	if err != nil || got.SwitchProxy != "" {
		t.Fatalf("switch_proxy false: %+v, %v", got, err)
	}
	if b := (&abi.Decision{V: 1, Action: abi.ActionReconnect, SwitchProxy: abi.SwitchNext}).AppendJSON(nil); !bytes.Contains(b, []byte(`"switch_proxy":true`)) {
		t.Fatalf("SwitchNext encodes as %s", b)
	}
}
