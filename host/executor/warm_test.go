package executor_test

import (
	"context"
	"testing"
	"time"

	"github.com/wahost/wahost/host/disconnect"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/storage"
)

// warmingPolicy counts the times the executor warms it.
type warmingPolicy struct {
	disconnect.Policy
	warms chan struct{}
}

func (p warmingPolicy) Warm(context.Context) error {
	p.warms <- struct{}{}
	return nil
}

// TestWarmWithSessions: a host that resumes open sessions, or sees one
// open, warms its policy, so that the first disconnect does not wait for
// the module to wake; one with no session to lose leaves it hibernating.
func TestWarmWithSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	warmed := func(t *testing.T, p warmingPolicy) {
		t.Helper()
		select {
		case <-p.warms:
		case <-time.After(10 * time.Second):
			t.Fatal("the policy was not warmed")
		}
	}

	t.Run("resume", func(t *testing.T) {
		p := warmingPolicy{defaultPolicy(t), make(chan struct{}, 8)}
		e := newEnv(t, p)
		e.instance("open", storage.StatusOpen)
		if _, err := e.exec.Resume(ctx); err != nil {
			t.Fatal(err)
		}
		warmed(t, p)
	})
	t.Run("connected", func(t *testing.T) {
		p := warmingPolicy{defaultPolicy(t), make(chan struct{}, 8)}
		e := newEnv(t, p)
		inst := e.instance("new", storage.StatusConnecting)
		if _, err := e.exec.HandleConnected(ctx, inst.ID, executor.Opened{}); err != nil {
			t.Fatal(err)
		}
		warmed(t, p)
	})
	t.Run("no session", func(t *testing.T) {
		p := warmingPolicy{defaultPolicy(t), make(chan struct{}, 8)}
		e := newEnv(t, p)
		e.instance("gone", storage.StatusClose)
		if _, err := e.exec.Resume(ctx); err != nil {
			t.Fatal(err)
		}
		// Stop waits for the executor's goroutines, a warm among them.
		if err := e.exec.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(p.warms); n != 0 {
			t.Errorf("warmed %d times with no session", n)
		}
	})
}
