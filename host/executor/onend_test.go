package executor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/storage"
)

// TestOnEndRunsInTheEndingUnitOfWork: a logout runs OnEnd inside its
// transaction (the queued message fails with the logout, and a failing
// OnEnd rolls the decision back); a reconnect or a keep does not run it.
func TestOnEndRunsInTheEndingUnitOfWork(t *testing.T) {
	var calls []string
	var fail error
	e := newEnv(t, defaultPolicy(t), func(c *executor.Config) {
		c.OnEnd = func(ctx context.Context, tx storage.Tx, inst storage.Instance) error {
			calls = append(calls, inst.Name)
			if fail != nil {
				return fail
			}
			_, err := tx.FailQueuedMessages(ctx, inst.ID, "logged_out")
			return err
		}
	})
	inst := e.instance("shop", storage.StatusOpen)
	if _, err := e.store.InsertMessage(e.ctx, storage.Message{
		InstanceID: inst.ID, ID: "3EB0000000000000000001", Chat: "5511999990001@s.whatsapp.net", FromMe: true,
		Status: storage.MessageQueued, Payload: []byte(`{}`),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.exec.HandleDisconnect(e.ctx, inst.ID, executor.Report{
		Event: abi.Event{Kind: abi.KindRestartRequired, Code: abi.CodeRestartRequired}, Phase: abi.PhaseOpen,
	}); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 0 {
		t.Fatalf("OnEnd ran for a reconnect: %v", calls)
	}
	// A degraded session the policy keeps open ends nothing.
	res, err := e.exec.HandleDisconnect(e.ctx, inst.ID, executor.Report{
		Event: abi.Event{Kind: abi.KindDegraded, Signal: abi.SignalUndecryptable}, Phase: abi.PhaseOpen,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Disconnect.Action != string(abi.ActionKeep) {
		t.Fatalf("degraded with no traffic counted decided %+v, want keep", res.Disconnect.Action)
	}
	if len(calls) != 0 {
		t.Fatalf("OnEnd ran for a keep: %v", calls)
	}

	fail = errors.New("boom")
	logout := executor.Report{Event: abi.Event{Kind: abi.KindLoggedOut, Code: abi.CodeLoggedOut, Raw: "401"}, Phase: abi.PhaseOpen}
	if _, err := e.exec.HandleDisconnect(e.ctx, inst.ID, logout); !errors.Is(err, fail) {
		t.Fatalf("a failing OnEnd: %v", err)
	}
	if got := e.reload(inst.ID); got.Status != storage.StatusConnecting {
		t.Fatalf("status %s: the failed unit of work was not rolled back", got.Status)
	}

	fail = nil
	if _, err := e.exec.HandleDisconnect(e.ctx, inst.ID, logout); err != nil {
		t.Fatal(err)
	}
	m, err := e.store.Message(e.ctx, inst.ID, "3EB0000000000000000001")
	if err != nil || m.Status != storage.MessageFailed || m.Reason != "logged_out" {
		t.Fatalf("message after logout: %+v, %v", m, err)
	}
	if len(calls) != 2 {
		t.Fatalf("OnEnd calls %v", calls)
	}
}
