package host_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
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

// syncBuffer is a log sink tests can read while the host writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const proxyPassword = "Pr0xy-Pa55-9f3k"

// proxyStatus returns GET /v1/proxies' entry for id.
func (w *world) proxyStatus(id string) map[string]any {
	w.t.Helper()
	code, body := w.call("GET", "/v1/proxies", nil)
	if code != http.StatusOK {
		w.t.Fatalf("GET /v1/proxies = %d %v", code, body)
	}
	list, _ := body["proxies"].([]any)
	for _, p := range list {
		if m := p.(map[string]any); m["id"] == id {
			return m
		}
	}
	w.t.Fatalf("GET /v1/proxies has no %s: %v", id, body)
	return nil
}

// advanceToReconnects moves the fake clock to the latest pending
// reconnect of names: each fires at its decided time.
func (w *world) advanceToReconnects(names ...string) {
	w.t.Helper()
	var latest time.Time
	for _, name := range names {
		_, diag := w.call("GET", "/v1/instances/"+name+"/diagnostics", nil)
		p, _ := diag["pending_reconnect"].(map[string]any)
		if p == nil {
			w.t.Fatalf("%s has no pending reconnect: %v", name, diag)
		}
		due, err := time.Parse(time.RFC3339Nano, p["due"].(string))
		if err != nil {
			w.t.Fatal(err)
		}
		if due.After(latest) {
			latest = due
		}
	}
	if d := latest.Sub(w.clk.Now()); d > 0 {
		w.clk.Advance(d)
	}
}

// TestProxyPoolFailover runs four instances through a pool of two real
// HTTP CONNECT proxies (tinyproxy) with credentials in front of the fake
// WhatsApp server, kills one proxy, and follows its instances: each drop
// is decided by the policy, the reconnects through the dead proxy fail as
// refused until its breaker marks it down, then they open through the
// survivor. The dead proxy is probed and, once restarted, used again by
// the next instance. The proxy password appears in no log line, API
// answer, webhook or history entry.
func TestProxyPoolFailover(t *testing.T) {
	a := proxytest.Start(t, proxytest.HTTP, "relay", proxyPassword)
	b := proxytest.Start(t, proxytest.HTTP, "relay", proxyPassword)
	idA, idB := proxy.MustParse(a.URL()).ID(), proxy.MustParse(b.URL()).ID()
	srv := wafaketest.NewServer(t, wafake.Config{})
	logs := new(syncBuffer)
	w := &world{srv: srv, clk: clock.NewFake(time.Now()), hooks: newReceiver(t, "")}
	target := srv.Addr()
	w.testHost = startOpts(t, srv, "", map[string]any{
		"webhook.url":                    w.hooks.URL,
		"proxies.pools.main":             []string{a.URL(), b.URL()},
		"proxies.default":                "main",
		"proxies.breaker.failures":       2,
		"proxies.breaker.cool_down":      "30s",
		"proxies.breaker.probe_interval": "10s",
		"log.level":                      "debug",
	}, host.Options{
		Clock:  w.clk,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ProxyClient: func(ep proxy.Endpoint) *http.Client {
			return proxy.HTTPClientTo(ep, target, 10*time.Second)
		},
	})

	names := []string{"p0", "p1", "p2", "p3"}
	for i, name := range names {
		w.pairAs(name, wafake.NewPhone(fmt.Sprintf("551197000%04d", i)))
	}
	via := map[string]string{}
	for _, name := range names {
		_, diag := w.call("GET", "/v1/instances/"+name+"/diagnostics", nil)
		px, _ := diag["proxy"].(map[string]any)
		if px == nil {
			t.Fatalf("diagnostics of %s without its proxy: %v", name, diag)
		}
		via[name] = px["id"].(string)
	}
	var onA []string
	for _, name := range names {
		if via[name] == idA {
			onA = append(onA, name)
		}
	}
	if len(onA) != 2 {
		t.Fatalf("the pool did not spread the instances: %v", via)
	}
	if st := w.proxyStatus(idA); st["sessions"] != 2.0 || st["down"] != false {
		t.Fatalf("proxy A before: %v", st)
	}

	// A dies: its two sessions drop, and the policy decides each drop.
	a.Stop()
	from := w.seen
	for _, name := range onA {
		_, env := w.hooks.awaitFrom(from, "the drop of "+name, func(e webhook.Envelope) bool {
			return e.Event == "disconnect.decided" && e.Instance == name
		})
		var through struct {
			Proxy string `json:"proxy"`
		}
		_ = json.Unmarshal(env.Data, &through)
		if kind, _, d := decided(env); kind != "disconnected" || d["action"] != "reconnect" || through.Proxy != idA {
			t.Fatalf("%s: drop decided %s %v through %q", name, kind, d, through.Proxy)
		}
	}
	// Their reconnects go through A again and are refused: two distinct
	// instances failing trips A's breaker.
	w.seen = len(w.hooksGot())
	from = w.seen
	w.advanceToReconnects(onA...)
	for _, name := range onA {
		_, env := w.hooks.awaitFrom(from, "the refused reconnect of "+name, func(e webhook.Envelope) bool {
			return e.Event == "disconnect.decided" && e.Instance == name
		})
		kind, _, d := decided(env)
		var ev struct {
			Cause   string `json:"cause"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(env.Data, &ev)
		if kind != "connect_error" || ev.Cause != "refused" || !strings.Contains(ev.Message, "the proxy was unreachable") ||
			d["action"] != "reconnect" {
			t.Fatalf("%s: reconnect through the dead proxy decided %s (%+v) %v", name, kind, ev, d)
		}
	}
	if st := w.proxyStatus(idA); st["down"] != true {
		t.Fatalf("proxy A not marked down: %v", st)
	}
	// The next reconnects skip A and open through B.
	w.seen = len(w.hooksGot())
	from = w.seen
	w.advanceToReconnects(onA...)
	for _, name := range onA {
		w.hooks.awaitFrom(from, name+" open again", func(e webhook.Envelope) bool {
			return e.Event == "connection.update" && e.Instance == name && state(e) == "open"
		})
		_, back := w.hooks.awaitFrom(from, name+" reconnected", func(e webhook.Envelope) bool {
			return e.Event == "reconnection.success" && e.Instance == name
		})
		if !strings.Contains(string(back.Data), `"proxy":"`+idB+`"`) {
			t.Fatalf("%s: reconnection.success without the proxy after: %s", name, back.Data)
		}
		if hist := w.raw("/v1/instances/" + name + "/disconnects"); strings.Count(hist, `"proxy":"`+idA+`"`) < 2 {
			t.Fatalf("%s: the history does not name the proxy before: %s", name, hist)
		}
		_, diag := w.call("GET", "/v1/instances/"+name+"/diagnostics", nil)
		if px, _ := diag["proxy"].(map[string]any); px == nil || px["id"] != idB {
			t.Fatalf("%s did not move to B: %v", name, diag["proxy"])
		}
	}
	if st := w.proxyStatus(idB); st["sessions"] != 4.0 {
		t.Fatalf("proxy B after the failover: %v", st)
	}

	// A comes back: after the cool-down the prober finds it answering,
	// and the next instance goes through it.
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	w.clk.Advance(30 * time.Second)
	deadline := time.Now().Add(20 * time.Second)
	for w.proxyStatus(idA)["down"] != false {
		if time.Now().After(deadline) {
			t.Fatalf("A was not probed back: %v", w.proxyStatus(idA))
		}
		// The prober's timer runs on the fake clock: move it on while
		// it waits; a probe in flight makes no new timer, so look at
		// the status again shortly.
		select {
		case <-w.clk.WaitForTimers(1):
			w.clk.Advance(10 * time.Second)
		case <-time.After(50 * time.Millisecond):
		}
	}
	w.seen = len(w.hooksGot())
	w.pairAs("p4", wafake.NewPhone("5511970009999"))
	_, diag := w.call("GET", "/v1/instances/p4/diagnostics", nil)
	if px, _ := diag["proxy"].(map[string]any); px == nil || px["id"] != idA {
		t.Fatalf("the new instance did not use the restarted A: %v", diag["proxy"])
	}

	// An instance's own proxy URL is stored and answered masked.
	code, set := w.call("PUT", "/v1/instances/p4/settings", map[string]any{"proxy": b.URL()})
	if code != http.StatusOK || set["proxy"] != "http://relay:***@"+b.Addr() {
		t.Fatalf("PUT settings = %d %v", code, set)
	}
	if code, set = w.call("PUT", "/v1/instances/p4/settings", map[string]any{"proxy": set["proxy"]}); code != http.StatusOK {
		t.Fatalf("sending the masked URL back = %d %v", code, set)
	}

	// Evolution's proxy routes set and find it, password masked.
	code, evo := w.call("POST", "/proxy/set/p4", map[string]any{
		"enabled": true, "host": "127.0.0.1", "port": fmt.Sprint(b.Port()), "protocol": "http",
		"username": "relay", "password": proxyPassword,
	})
	if code != http.StatusCreated || evo["password"] != "***" || evo["protocol"] != "http" || evo["username"] != "relay" {
		t.Fatalf("POST /proxy/set = %d %v", code, evo)
	}
	if code, evo = w.call("GET", "/proxy/find/p4", nil); code != http.StatusOK || evo["enabled"] != true ||
		evo["port"] != fmt.Sprint(b.Port()) || evo["password"] != "***" {
		t.Fatalf("GET /proxy/find = %d %v", code, evo)
	}
	if code, evo = w.call("POST", "/proxy/set/p4", map[string]any{"enabled": true, "host": "main", "protocol": "pool"}); code != http.StatusCreated || evo["host"] != "main" {
		t.Fatalf("POST /proxy/set to a pool = %d %v", code, evo)
	}
	if code, _ = w.call("POST", "/proxy/set/p4", map[string]any{"enabled": true, "host": "h", "port": "1", "protocol": "socks4"}); code != http.StatusBadRequest {
		t.Fatalf("POST /proxy/set socks4 = %d, want 400", code)
	}

	// The password is nowhere.
	var answers []string
	for _, path := range []string{"/v1/proxies", "/v1/instances", "/v1/instances/p4/settings", "/metrics", "/proxy/find/p4"} {
		answers = append(answers, w.raw(path))
	}
	for _, name := range append(names, "p4") {
		answers = append(answers, w.raw("/v1/instances/"+name+"/disconnects"), w.raw("/v1/instances/"+name+"/diagnostics"))
	}
	for what, text := range map[string]string{
		"logs": logs.String(), "API answers": strings.Join(answers, "\n"), "webhooks": w.hooks.events(),
	} {
		if strings.Contains(text, proxyPassword) {
			t.Errorf("the proxy password is in the %s", what)
		}
	}
	if !strings.Contains(logs.String(), idA) {
		t.Errorf("the logs never name the proxy %s", idA)
	}
}

// hooksGot returns the webhooks received so far.
func (w *world) hooksGot() []webhook.Envelope {
	w.hooks.mu.Lock()
	defer w.hooks.mu.Unlock()
	return append([]webhook.Envelope(nil), w.hooks.got...)
}

// raw returns the body of an authenticated GET.
func (w *world) raw(path string) string {
	w.t.Helper()
	req, err := http.NewRequest(http.MethodGet, w.base+path, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("apikey", apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return buf.String()
}
