package host_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/host/webhook"
)

// TestPolicyTrapsMidSession: an operator rolls out a module that passes
// its self-test but traps on every real input. Sessions keep working: the
// next drop is decided by the host's native fallback, carried out like
// any decision, and counted as a fault.
func TestPolicyTrapsMidSession(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "wahost.yaml")
	if err := os.WriteFile(conf, []byte("policy:\n  module: builtin:default\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := &world{srv: wafaketest.NewServer(t, wafake.Config{}), clk: clock.NewFake(time.Now()), hooks: newReceiver(t, "")}
	w.testHost = startWith(t, w.srv, conf, map[string]any{"webhook.url": w.hooks.URL}, w.clk, nil)
	conn := w.pair("sales")

	trap := filepath.Join("..", "runtime", "testdata", "trap_live.wasm")
	abs, err := filepath.Abs(trap)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf+".new", []byte("policy:\n  module: "+abs+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(conf+".new", conf); err != nil {
		t.Fatal(err)
	}
	w.next("policy.reloaded", nil)

	w.accepts = w.srv.Accepts()
	<-conn.ScriptDone()
	_ = wafake.Drop()(t.Context(), conn)
	env := w.next("disconnect.decided", func(e webhook.Envelope) bool { return e.Instance == "sales" })
	var d struct {
		Fallback bool           `json:"fallback"`
		Decision map[string]any `json:"decision"`
	}
	if err := json.Unmarshal(env.Data, &d); err != nil {
		t.Fatal(err)
	}
	if !d.Fallback || d.Decision["action"] != "reconnect" {
		t.Fatalf("decision with a trapping policy = %s", env.Data)
	}
	w.reconnectDue("sales")
	w.acceptWhere(func(*wafake.Conn) bool { return true })
	w.next("connection.update", func(e webhook.Envelope) bool { return e.Instance == "sales" && state(e) == "open" })

	resp, err := http.Get(w.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `wahost_policy_fallbacks_total{fault="trap"} 1`) {
		t.Fatalf("no trap fault counted:\n%s", grepLines(string(metrics), "wahost_policy_fallbacks_total"))
	}
	_, st := w.call("GET", "/v1/policy", nil)
	if faults := st["active"].(map[string]any)["faults"].(map[string]any); faults["trap"] != float64(1) {
		t.Fatalf("policy status faults = %v", faults)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
