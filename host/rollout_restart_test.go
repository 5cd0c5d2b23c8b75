package host_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/rollout"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/host/webhook"
)

// TestRolloutResumesAfterRestart: a host stopped in the middle of a
// rollout's second step and started again on the same store resumes the
// same rollout at the same step, with the step's start kept.
func TestRolloutResumesAfterRestart(t *testing.T) {
	w := &world{srv: wafaketest.NewServer(t, wafake.Config{}), clk: clock.NewFake(time.Now()), hooks: newReceiver(t, ""), timers: 1}
	flags := map[string]any{"webhook.url": w.hooks.URL, "data_dir": t.TempDir()}
	for k, v := range equalCanary {
		flags[k] = v
	}
	var before map[string]any
	var conns map[string]*wafake.Conn
	t.Run("before", func(t *testing.T) { // its end stops the host
		w.testHost = startWith(t, w.srv, "", flags, w.clk, nil)
		conns = w.outageAll(w.twoStepFleet())
		before = w.checkUntil(5*time.Minute, atStep(1))
		w.clk.Advance(2 * time.Minute) // mid-step
	})
	if before == nil {
		t.FailNow()
	}
	w.testHost = startWith(t, w.srv, "", flags, w.clk, nil)
	code, after := w.call("GET", "/v1/policy/rollout", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /v1/policy/rollout after the restart = %d %v", code, after)
	}
	for _, k := range []string{"id", "step", "share_pct"} {
		if after[k] != before[k] {
			t.Errorf("%s: %v after the restart, %v before", k, after[k], before[k])
		}
	}
	for _, k := range []string{"started_at", "step_started_at"} { // the store keeps microseconds
		b, errB := time.Parse(time.RFC3339Nano, before[k].(string))
		a, errA := time.Parse(time.RFC3339Nano, after[k].(string))
		if errB != nil || errA != nil || !a.Equal(b.Truncate(time.Microsecond)) {
			t.Errorf("%s: %v after the restart, %v before", k, after[k], before[k])
		}
	}
	if before["step"] != float64(1) || after["status"] != rollout.StatusRunning {
		t.Fatalf("before the restart %v, after %v", before, after)
	}
	// The sessions come back too; the test ends once they are open, not
	// while they are connecting.
	open := map[string]bool{}
	for len(open) < len(conns) {
		env := w.next("connection.update", func(e webhook.Envelope) bool { return state(e) == "open" && conns[e.Instance] != nil })
		open[env.Instance] = true
	}
}
