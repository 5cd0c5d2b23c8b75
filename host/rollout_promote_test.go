package host_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/wahost/wahost/host"
	"github.com/wahost/wahost/host/rollout"
	"github.com/wahost/wahost/host/wafake"
)

// equalCanary is a rollout of the stable policy itself, with the default
// settings, over steps of 30, 60 and 100 % of 10 minutes, judged every 5.
var equalCanary = map[string]any{
	"policy.rollout.module": "builtin:default", "policy.rollout.steps": []any{30, 60, 100},
	"policy.rollout.min_episodes": 1, "policy.rollout.step_duration": "10m",
	"policy.rollout.check_interval": "5m",
}

// twoStepFleet pairs instances until one is in both steps' canary share
// (30 %) and one in neither (outside 60 %).
func (w *world) twoStepFleet() map[string]*wafake.Conn {
	w.t.Helper()
	conns := map[string]*wafake.Conn{}
	first, outside := false, false
	for i := 0; !first || !outside; i++ {
		name := fmt.Sprintf("shop-%02d", i)
		conns[name] = w.pair(name)
		_, inst := w.call("GET", "/v1/instances/"+name, nil)
		id := inst["id"].(string)
		first = first || rollout.InShare(id, 30)
		outside = outside || !rollout.InShare(id, 60)
	}
	return conns
}

// outageAll drops every connection with a 428, lets the reconnects fire
// and returns the new connections once every instance is open again.
func (w *world) outageAll(conns map[string]*wafake.Conn) map[string]*wafake.Conn {
	w.t.Helper()
	byJID := map[string]string{}
	for name, c := range conns {
		byJID[c.DeviceJID().String()] = name
	}
	for name, action := range w.dropAll(conns) {
		if action != "reconnect" {
			w.t.Fatalf("%s: %s, want reconnect", name, action)
		}
	}
	w.clk.Advance(30 * time.Second) // the reconnects fire
	next := map[string]*wafake.Conn{}
	for len(next) < len(conns) {
		c := w.acceptWhere(func(c *wafake.Conn) bool { return byJID[c.DeviceJID().String()] != "" })
		next[byJID[c.DeviceJID().String()]] = c
	}
	for range conns {
		w.next("reconnection.success", nil)
	}
	return next
}

// checkUntil runs the rollout's checks, moving the fake clock one check
// interval at a time once the check timer is armed, until the rollout's
// state (GET /v1/policy/rollout) satisfies done.
func (w *world) checkUntil(interval time.Duration, done func(st map[string]any) bool) map[string]any {
	w.t.Helper()
	armed := func() {
		select {
		case <-w.clk.WaitForTimers(w.timers):
		case <-time.After(30 * time.Second):
			w.t.Fatal("the rollout's check timer was never armed")
		}
	}
	for range 10 {
		armed()
		w.clk.Advance(interval)
		armed() // the check ran and armed the next one
		code, st := w.call("GET", "/v1/policy/rollout", nil)
		if code != http.StatusOK {
			w.t.Fatalf("GET /v1/policy/rollout = %d %v", code, st)
		}
		if done(st) {
			return st
		}
	}
	w.t.Fatal("the rollout never reached the state awaited")
	return nil
}

func atStep(step int) func(map[string]any) bool {
	return func(st map[string]any) bool { return st["step"] == float64(step) }
}

// TestRolloutPromotesAnEqualCanary: a canary identical to the stable
// policy passes each step once its time is over and both arms have
// recovered episodes, and is promoted when the step before 100 % passes
// (a step of every instance has no stable side to judge): the policy.rollout
// webhook says promoted, and GET /v1/policy shows the promotion.
func TestRolloutPromotesAnEqualCanary(t *testing.T) {
	w := newWorld(t, equalCanary)
	w.timers = 1
	conns := w.twoStepFleet()

	conns = w.outageAll(conns)
	st := w.checkUntil(5*time.Minute, atStep(1))
	if st["status"] != rollout.StatusRunning || st["share_pct"] != float64(60) {
		t.Fatalf("after step 1: %v", st)
	}

	w.clk.Advance(time.Second) // the episodes start within step 2
	w.outageAll(conns)
	w.checkUntil(5*time.Minute, func(st map[string]any) bool { return st["status"] == rollout.StatusPromoted })

	env := w.next(host.EventPolicyRollout, nil)
	var ev rollout.Event
	if err := json.Unmarshal(env.Data, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Status != rollout.StatusPromoted || ev.Step != 1 || ev.Module != "builtin:default" || ev.SHA256 == "" {
		t.Fatalf("policy.rollout = %s", env.Data)
	}
	_, pol := w.call("GET", "/v1/policy", nil)
	p, _ := pol["promoted"].(map[string]any)
	if p == nil || p["module"] != "builtin:default" || p["sha256"] != ev.SHA256 {
		t.Fatalf("GET /v1/policy = %v", pol)
	}
}
