package host_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/host"
	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/proxy"
	"github.com/wahost/wahost/host/proxy/proxytest"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/host/webhook"
)

// TestPolicySwitchesProxy follows one instance behind a pool of two real
// proxies (tinyproxy, HTTP CONNECT; microsocks, SOCKS5) when its proxy
// dies, with a breaker too lax to mark the proxy down: the move is the
// policy's. The drop and the first failed reconnect stay on the proxy;
// the second failed connect through it is decided with switch_proxy
// (rule proxy_switch), the host moves the instance to the other proxy
// before reconnecting, and the session opens through it. The
// disconnect.decided webhook and the history row name both proxies.
// Deleting the instance then drops it from the pool's sessions.
func TestPolicySwitchesProxy(t *testing.T) {
	a := proxytest.Start(t, proxytest.HTTP, "relay", proxyPassword)
	b := proxytest.Start(t, proxytest.SOCKS5, "", "")
	idA, idB := proxy.MustParse(a.URL()).ID(), proxy.MustParse(b.URL()).ID()
	srv := wafaketest.NewServer(t, wafake.Config{})
	w := &world{srv: srv, clk: clock.NewFake(time.Now()), hooks: newReceiver(t, "")}
	target := srv.Addr()
	w.testHost = startOpts(t, srv, "", map[string]any{
		"webhook.url":              w.hooks.URL,
		"proxies.pools.main":       []string{a.URL(), b.URL()},
		"proxies.default":          "main",
		"proxies.breaker.failures": 10,
	}, host.Options{
		Clock: w.clk,
		ProxyClient: func(ep proxy.Endpoint) *http.Client {
			return proxy.HTTPClientTo(ep, target, 10*time.Second)
		},
	})

	w.pairAs("sw", wafake.NewPhone("5511970001234"))
	if _, diag := w.call("GET", "/v1/instances/sw/diagnostics", nil); diag["proxy"].(map[string]any)["id"] != idA {
		t.Fatalf("the instance did not start on the pool's first proxy: %v", diag["proxy"])
	}

	// A dies: the drop, then a first failed reconnect through A, stay on A.
	a.Stop()
	next := func(what string) (map[string]any, webhook.Envelope) {
		t.Helper()
		i, env := w.hooks.awaitFrom(w.seen, what, func(e webhook.Envelope) bool {
			return e.Event == "disconnect.decided" && e.Instance == "sw"
		})
		w.seen = i + 1
		var data map[string]any
		if err := json.Unmarshal(env.Data, &data); err != nil {
			t.Fatal(err)
		}
		return data, env
	}
	data, env := next("the drop")
	if kind, _, d := decided(env); kind != "disconnected" || d["switch_proxy"] != nil || data["proxy"] != idA || data["proxyTo"] != nil {
		t.Fatalf("drop decided %s %v, webhook %v", kind, d, data)
	}
	w.advanceToScheduled("sw")
	data, env = next("the first failed reconnect")
	if kind, _, d := decided(env); kind != "connect_error" || d["switch_proxy"] != nil || d["rule"] != "backoff" || data["proxyTo"] != nil {
		t.Fatalf("first failed reconnect decided %s %v, webhook %v", kind, d, data)
	}

	// The second failed connect through A: the policy switches.
	w.advanceToScheduled("sw")
	data, env = next("the second failed reconnect")
	kind, _, d := decided(env)
	if kind != "connect_error" || d["action"] != "reconnect" || d["switch_proxy"] != true || d["rule"] != "proxy_switch" {
		t.Fatalf("second failed reconnect decided %s %v", kind, d)
	}
	if data["proxy"] != idA || data["proxyTo"] != idB {
		t.Fatalf("disconnect.decided names %v → %v, want %s → %s", data["proxy"], data["proxyTo"], idA, idB)
	}
	if st := w.proxyStatus(idA); st["down"] != false {
		t.Fatalf("the breaker marked A down, so the move is not the policy's: %v", st)
	}

	// The reconnect goes through B and opens.
	from := w.seen
	w.advanceToScheduled("sw")
	w.hooks.awaitFrom(from, "sw open again", func(e webhook.Envelope) bool {
		return e.Event == "connection.update" && e.Instance == "sw" && state(e) == "open"
	})
	_, back := w.hooks.awaitFrom(from, "sw reconnected", func(e webhook.Envelope) bool {
		return e.Event == "reconnection.success" && e.Instance == "sw"
	})
	if !strings.Contains(string(back.Data), `"proxy":"`+idB+`"`) {
		t.Fatalf("reconnection.success not through B: %s", back.Data)
	}
	code, hist := w.call("GET", "/v1/instances/sw/disconnects", nil)
	rows, _ := hist["disconnects"].([]any)
	if code != http.StatusOK || len(rows) != 4 { // the pairing's 515, the drop, two failed reconnects
		t.Fatalf("history = %d %v", code, hist)
	}
	last := rows[0].(map[string]any) // newest first
	if last["proxy"] != idA || last["proxy_to"] != idB || !strings.Contains(string(mustJSON(t, last["decision"])), `"switch_proxy":true`) {
		t.Fatalf("the history row of the switch: %v", last)
	}
	in, _ := last["input"].(map[string]any)
	if px, _ := in["proxy"].(map[string]any); px["id"] != idA || px["pool"] != "main" || px["pool_size"] != 2.0 ||
		px["healthy"] != 2.0 || px["down"] != false || px["failures"] != 2.0 {
		t.Fatalf("the recorded input does not hold the proxy the policy saw: %v", in["proxy"])
	}
	for _, r := range rows[1:] {
		if r.(map[string]any)["proxy_to"] != nil {
			t.Fatalf("a row without a switch names a proxy to: %v", r)
		}
	}
	if _, diag := w.call("GET", "/v1/instances/sw/diagnostics", nil); diag["proxy"].(map[string]any)["id"] != idB {
		t.Fatalf("diagnostics after the switch: %v", diag["proxy"])
	}
	if strings.Contains(w.hooks.events(), proxyPassword) {
		t.Error("the proxy password is in the webhooks")
	}

	// Deleting the instance drops it from the pool's state.
	if st := w.proxyStatus(idB); st["sessions"] != 1.0 {
		t.Fatalf("B before the delete: %v", st)
	}
	if code, body := w.call("DELETE", "/v1/instances/sw", nil); code != http.StatusOK {
		t.Fatalf("DELETE = %d %v", code, body)
	}
	if st := w.proxyStatus(idB); st["sessions"] != 0.0 {
		t.Fatalf("B still counts the deleted instance: %v", st)
	}
}

// advanceToScheduled is advanceToReconnects once the instance's
// reconnect is scheduled: the scheduler takes it after the decision's
// commit, so its webhook may arrive first.
func (w *world) advanceToScheduled(name string) {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, diag := w.call("GET", "/v1/instances/"+name+"/diagnostics", nil)
		if diag["pending_reconnect"] != nil {
			break
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s has no pending reconnect: %v", name, diag)
		}
		<-time.After(20 * time.Millisecond) // the condition is checked again, not waited for
	}
	w.advanceToReconnects(name)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
