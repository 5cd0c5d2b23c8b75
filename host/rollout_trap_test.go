package host_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/wahost/wahost/host"
	"github.com/wahost/wahost/host/rollout"
	"github.com/wahost/wahost/host/webhook"
)

// TestRolloutRollsBackATrappingCanary: a canary that passes its
// self-test but traps on real input has its first drop (the restart
// WhatsApp asks for after pairing) decided by the host's fallback, and that fault rolls it back at once (no fault is
// tolerated by default), without waiting for a check; the instance's
// next drop is decided by the stable policy again.
func TestRolloutRollsBackATrappingCanary(t *testing.T) {
	trap, err := filepath.Abs(filepath.Join("..", "runtime", "testdata", "trap_live.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, map[string]any{
		"policy.rollout.module": trap, "policy.rollout.steps": []any{30},
		"policy.rollout.step_duration": "1h", "policy.rollout.check_interval": "5m",
	})
	w.timers = 1
	canary, _ := w.fleet(30, 1, 0) // the canary decides its instance's restart after pairing
	var name string
	for name = range canary {
	}

	_, env := w.hooks.awaitFrom(0, host.EventPolicyRollout, func(e webhook.Envelope) bool { return e.Event == host.EventPolicyRollout })
	var ev rollout.Event
	if err := json.Unmarshal(env.Data, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Status != rollout.StatusRolledBack || ev.Measure != "faults" || ev.Step != 0 {
		t.Fatalf("policy.rollout = %s", env.Data)
	}
	_, env = w.hooks.awaitFrom(0, "the canary's decision", func(e webhook.Envelope) bool {
		return e.Event == "disconnect.decided" && e.Instance == name
	})
	if d := decision(t, env); !d.Fallback || d.PolicySHA256 != ev.SHA256 {
		t.Fatalf("the canary's decision = %s", env.Data)
	}
	code, st := w.call("GET", "/v1/policy/rollout", nil)
	if code != http.StatusOK || st["status"] != rollout.StatusRolledBack || st["faults"] != float64(1) {
		t.Fatalf("GET /v1/policy/rollout = %d %v", code, st)
	}

	from := w.seen
	actions := w.dropAll(canary)
	_, env = w.hooks.awaitFrom(from, "the stable policy's decision", func(e webhook.Envelope) bool {
		return e.Event == "disconnect.decided" && e.Instance == name
	})
	if d := decision(t, env); d.Fallback || d.PolicySHA256 == ev.SHA256 || actions[name] != "reconnect" {
		t.Fatalf("decision after the rollback = %s", env.Data)
	}
}

type decisionDoc struct {
	Code         int    `json:"code"`
	Fallback     bool   `json:"fallback"`
	PolicySHA256 string `json:"policySha256"`
}

func decision(t *testing.T, env webhook.Envelope) decisionDoc {
	t.Helper()
	var d decisionDoc
	if err := json.Unmarshal(env.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}
