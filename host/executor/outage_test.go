package executor_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/disconnect"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/testenv"
)

// fixed is a policy that always answers the same decision.
type fixed string

func (f fixed) Decide(context.Context, []byte) (disconnect.Answer, error) {
	return disconnect.Answer{Out: []byte(f), Module: "fixed"}, nil
}

// drain advances the fake clock through the back-off of the units of work
// waiting for the store until none is left.
func drain(t *testing.T, e *env) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	check := time.NewTicker(5 * time.Millisecond) // the last commit arms no timer
	defer check.Stop()
	for e.exec.Backlog() > 0 {
		select {
		case <-e.clock.WaitForTimers(1):
			e.clock.Advance(10 * time.Second)
		case <-check.C:
		case <-deadline:
			t.Fatalf("%d units of work still waiting for the store", e.exec.Backlog())
		}
	}
}

// TestDisconnectWhileStoreIsDown: PostgreSQL is cut, a session drops and
// comes back; the decision is made and carried out at once, and the drop,
// its decision and the login are recorded in order once PostgreSQL is back.
func TestDisconnectWhileStoreIsDown(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	st, proxy := testenv.ProxiedPostgres(t, clk.Now)
	e := newEnvOn(t, st, clk, defaultPolicy(t))
	inst := e.instance("outage", storage.StatusConnecting)
	if _, err := e.exec.HandleConnected(e.ctx, inst.ID, executor.Opened{JID: inst.OwnerJID}); err != nil {
		t.Fatal(err)
	}

	proxy.Cut()
	res, err := e.exec.HandleDisconnect(e.ctx, inst.ID, executor.Report{
		Event: abi.Event{Kind: abi.KindRestartRequired, Code: abi.CodeRestartRequired, Raw: "515"},
		Phase: abi.PhaseOpen, ConnectedFor: time.Hour,
	})
	if err != nil {
		t.Fatalf("HandleDisconnect with the store down: %v", err)
	}
	if !res.Deferred || res.Outcome.Decision.Action != abi.ActionReconnect {
		t.Fatalf("result = %+v, want a deferred reconnect", res)
	}
	if _, ok := e.sched.Pending(inst.ID); !ok {
		t.Fatal("no reconnect scheduled while the store is down")
	}
	if _, err := e.exec.HandleConnected(e.ctx, inst.ID, executor.Opened{JID: inst.OwnerJID}); err != nil {
		t.Fatalf("HandleConnected with the store down: %v", err)
	}
	if n := e.exec.Backlog(); n != 2 {
		t.Fatalf("backlog = %d, want 2", n)
	}

	proxy.Restore()
	drain(t, e)
	hist, err := st.ListDisconnects(e.ctx, inst.ID, 0, 10)
	if err != nil || len(hist) != 1 || hist[0].Action != "reconnect" || hist[0].Code != 515 {
		t.Fatalf("history = %+v, %v; want the 515 and its reconnect", hist, err)
	}
	got := e.reload(inst.ID)
	if got.Status != storage.StatusOpen || got.Reconnect != nil {
		t.Fatalf("instance = %+v, want open with no pending reconnect", got)
	}
	want := []string{"connection.update", "disconnect.decided", "connection.update", "connection.update", "reconnection.success"}
	if evs := names(e.events(inst.ID)); !slices.Equal(evs, want) {
		t.Fatalf("webhooks = %v, want %v", evs, want)
	}
}

// TestDecidedReconnectSurvivesRestart: a reconnect decided for an hour
// later, with an escalation step, is kept with the decision and resumed
// by a new executor at its time, step included.
func TestDecidedReconnectSurvivesRestart(t *testing.T) {
	e := newEnv(t, fixed(`{"v":1,"action":"reconnect","delay_ms":3600000,"step":1,"rule":"slow","reason":"back off"}`))
	inst := e.instance("patient", storage.StatusOpen)
	if _, err := e.exec.HandleDisconnect(e.ctx, inst.ID, executor.Report{
		Event: abi.Event{Kind: abi.KindDisconnected, Code: abi.CodeConnectionClosed}, Phase: abi.PhaseOpen,
	}); err != nil {
		t.Fatal(err)
	}
	got := e.reload(inst.ID)
	due := e.clock.Now().Add(time.Hour)
	if got.Reconnect == nil || !got.Reconnect.Due.Equal(due) || got.Reconnect.Step != 1 || got.Attempt != 1 {
		t.Fatalf("stored instance = %+v (reconnect %+v), want due %v step 1 attempt 1", got, got.Reconnect, due)
	}

	// A restart: a new executor and scheduler on the same store.
	e2 := newEnvOn(t, e.store, e.clock, fixed(`{"v":1,"action":"logout","cleanup":[],"reason":"unused"}`))
	n, err := e2.exec.Resume(e2.ctx)
	if err != nil || n != 1 {
		t.Fatalf("Resume = %d, %v; want 1", n, err)
	}
	job, ok := e2.sched.Pending(inst.ID)
	if !ok || !job.Due.Equal(due) || job.Step != 1 {
		t.Fatalf("resumed reconnect = %+v, %v; want due %v step 1", job, ok, due)
	}
	e2.clock.Advance(time.Hour - time.Second)
	e2.sched.RunOnce()
	if ops := e2.sessions.ops(); len(ops) != 0 {
		t.Fatalf("before its time the restart did %v", ops)
	}
	e2.clock.Advance(time.Second)
	e2.sched.RunOnce()
	select {
	case <-e2.sessions.connects:
	case <-time.After(10 * time.Second):
		t.Fatal("the resumed reconnect did not connect")
	}
	if ops := e2.sessions.ops(); !slices.Equal(ops, []string{"connect " + inst.ID}) {
		t.Fatalf("session operations = %v", ops)
	}
}
