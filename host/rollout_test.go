package host_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/wahost/wahost/host/rollout"
	"github.com/wahost/wahost/host/wafake"
)

// logsOutOn428 are the default policy's settings plus 428 among the
// logout codes: a canary that ends sessions the stable policy recovers.
var logsOutOn428 = map[string]any{"logout_codes": []any{401, 402, 403, 405, 406, 411, 500, 428}}

// fleet pairs instances until it has at least canaries in the canary
// share and stables outside it, and returns their open connections by
// name.
func (w *world) fleet(share float64, canaries, stables int) (canary, stable map[string]*wafake.Conn) {
	w.t.Helper()
	canary, stable = map[string]*wafake.Conn{}, map[string]*wafake.Conn{}
	for i := 0; len(canary) < canaries || len(stable) < stables; i++ {
		name := fmt.Sprintf("shop-%02d", i)
		c := w.pair(name)
		_, inst := w.call("GET", "/v1/instances/"+name, nil)
		if rollout.InShare(inst["id"].(string), share) {
			canary[name] = c
		} else {
			stable[name] = c
		}
	}
	return canary, stable
}

// dropAll drops every connection with a 428 and returns the decided
// action per instance.
func (w *world) dropAll(conns ...map[string]*wafake.Conn) map[string]string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	want := 0
	for _, m := range conns {
		for _, c := range m {
			<-c.ScriptDone()
			if err := wafake.Drop()(ctx, c); err != nil {
				w.t.Logf("drop: %v", err)
			}
			want++
		}
	}
	actions := map[string]string{}
	for len(actions) < want {
		env := w.next("disconnect.decided", nil)
		_, code, d := decided(env)
		if code != 428 {
			w.t.Fatalf("%s: decided code %d", env.Instance, code)
		}
		actions[env.Instance] = d["action"].(string)
	}
	return actions
}

// TestRolloutRollsBackAWorseCanary: a canary that logs out on 428 gets
// the first step's share; every instance drops with a 428; the canary's
// instances end for good while the stable ones reconnect; the next
// check rolls the canary back on permanent ends, with the webhook, and
// the stable policy decides for everyone again.
func TestRolloutRollsBackAWorseCanary(t *testing.T) {
	const share = 30
	w := newWorld(t, map[string]any{
		"policy.rollout.module": "builtin:default", "policy.rollout.settings": logsOutOn428,
		"policy.rollout.steps": []any{share, 100}, "policy.rollout.min_episodes": 2,
		"policy.rollout.step_duration": "1h", "policy.rollout.check_interval": "5m",
	})
	w.timers = 1
	canary, stable := w.fleet(share, 3, 5)
	actions := w.dropAll(canary, stable)
	for name := range canary {
		if actions[name] != "logout" {
			t.Fatalf("canary %s: %s, want logout", name, actions[name])
		}
	}
	for name := range stable {
		if actions[name] != "reconnect" {
			t.Fatalf("stable %s: %s, want reconnect", name, actions[name])
		}
	}
	w.clk.Advance(30 * time.Second) // the reconnects fire
	for range stable {
		w.next("reconnection.success", nil)
	}
	w.clk.Advance(5 * time.Minute) // the check
	env := w.next("policy.rollout", nil)
	var ev rollout.Event
	if err := json.Unmarshal(env.Data, &ev); err != nil {
		t.Fatal(err)
	}
	v := ev.Verdict
	if ev.Status != rollout.StatusRolledBack || ev.Measure != "recovered_share" || ev.Step != 0 || v == nil ||
		len(v.Tests) != 2 || !v.Tests[1].Regressed || v.Tests[1].Measure != "permanent_ends" ||
		v.Canary.Episodes != len(canary) || v.Canary.Permanent != len(canary) ||
		v.Stable.Episodes != len(stable) || v.Stable.Recovered != len(stable) {
		t.Fatalf("policy.rollout = %s", env.Data)
	}
	t.Logf("rolled back: %s", env.Data)
	code, st := w.call("GET", "/v1/policy/rollout", nil)
	if code != http.StatusOK || st["status"] != rollout.StatusRolledBack {
		t.Fatalf("GET /v1/policy/rollout = %d %v", code, st)
	}
	_, out := w.call("GET", "/v1/policy/outcomes", nil)
	arms := map[string]map[string]any{}
	for _, p := range out["policies"].([]any) {
		p := p.(map[string]any)
		arms[p["arm"].(string)] = p
	}
	if arms["canary"]["episodes"] != float64(len(canary)) || arms["stable"]["recovered"] != float64(len(stable)) {
		t.Fatalf("outcomes = %v", out)
	}

}
