package host_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/policies/builtin"
)

func reloadOf(env webhook.Envelope) map[string]any {
	var r map[string]any
	_ = json.Unmarshal(env.Data, &r)
	return r
}

// TestReloadByEditingFiles rolls a policy out the way an operator does:
// by replacing the module file the config names, and by editing the
// config. A broken module and a broken config are rejected with the
// running policy kept; each outcome is announced by webhook and shown by
// the API.
func TestReloadByEditingFiles(t *testing.T) {
	dir := t.TempDir()
	module := filepath.Join(dir, "policy.wasm")
	conf := filepath.Join(dir, "wahost.yaml")
	def, err := builtin.Lookup(builtin.DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	fixed, err := os.ReadFile(filepath.Join("..", "runtime", "testdata", "fixed.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(path string, b []byte) {
		t.Helper()
		tmp := path + ".new"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(module, def)
	hooks := newReceiver(t, "")
	write(conf, []byte("policy:\n  module: "+module+"\nwebhook:\n  url: "+hooks.URL+"\n"))

	srv := wafaketest.NewServer(t, wafake.Config{})
	h := startHostConfig(t, srv, conf)
	_, st := h.call("GET", "/v1/policy", nil)
	first := st["active"].(map[string]any)["sha256"]

	seen := 0
	next := func(event string) map[string]any {
		t.Helper()
		i, env := hooks.awaitFrom(seen, event, func(e webhook.Envelope) bool { return e.Event == event })
		seen = i + 1
		return reloadOf(env)
	}

	write(module, []byte("\x00asm garbage"))
	r := next("policy.reload_failed")
	if r["trigger"] != "file" || r["error"] == "" {
		t.Fatalf("broken module: %v", r)
	}
	if _, st := h.call("GET", "/v1/policy", nil); st["active"].(map[string]any)["sha256"] != first {
		t.Fatalf("a broken module replaced the policy: %v", st)
	}

	write(module, fixed)
	r = next("policy.reloaded")
	if r["ok"] != true || r["sha256"] == first {
		t.Fatalf("good module: %v", r)
	}
	second := r["sha256"]

	write(conf, []byte("policy:\n  modul: typo\n"))
	r = next("policy.reload_failed")
	if msg, _ := r["error"].(string); r["ok"] == true || msg == "" {
		t.Fatalf("broken config: %v", r)
	}
	code, st := h.call("GET", "/v1/policy", nil)
	last := st["last_reload"].(map[string]any)
	if code != http.StatusOK || last["ok"] == true || st["active"].(map[string]any)["sha256"] != second {
		t.Fatalf("after a broken config the policy in force changed: %v", st)
	}
}

// TestReloadWithABadRolloutModule: a config that names a good new
// policy.module and a rollout module that does not load is rejected as a
// whole: the running module, its generation and the rollout state stay
// as they were, and the next good reload applies both.
func TestReloadWithABadRolloutModule(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "wahost.yaml")
	fixed := filepath.Join("..", "runtime", "testdata", "fixed.wasm")
	garbage := filepath.Join(dir, "garbage.wasm")
	if err := os.WriteFile(garbage, []byte("\x00asm garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("policy:\n  module: builtin:default\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := startHostConfig(t, wafaketest.NewServer(t, wafake.Config{}), conf)
	_, before := h.call("GET", "/v1/policy", nil)
	active := before["active"].(map[string]any)

	bad := "policy:\n  module: " + fixed + "\n  rollout:\n    module: " + garbage + "\n"
	if err := os.WriteFile(conf, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	code, body := h.call("POST", "/v1/policy/reload", nil)
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("reload with a bad rollout module = %d %v", code, body)
	}
	_, after := h.call("GET", "/v1/policy", nil)
	now := after["active"].(map[string]any)
	if now["sha256"] != active["sha256"] || now["generation"] != active["generation"] || now["module"] != active["module"] {
		t.Fatalf("the rejected reload changed the running policy: before %v, after %v", active, now)
	}
	if code, st := h.call("GET", "/v1/policy/rollout", nil); code != http.StatusNotFound {
		t.Fatalf("GET /v1/policy/rollout after the rejected reload = %d %v", code, st)
	}

	good := "policy:\n  module: " + fixed + "\n  rollout:\n    module: builtin:default\n"
	if err := os.WriteFile(conf, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := h.call("POST", "/v1/policy/reload", nil); code != http.StatusOK {
		t.Fatalf("good reload = %d %v", code, body)
	}
	_, after = h.call("GET", "/v1/policy", nil)
	if now := after["active"].(map[string]any); now["sha256"] == active["sha256"] {
		t.Fatalf("the good reload kept the old module: %v", now)
	}
	if code, st := h.call("GET", "/v1/policy/rollout", nil); code != http.StatusOK || st["status"] != "running" {
		t.Fatalf("GET /v1/policy/rollout after the good reload = %d %v", code, st)
	}
}
