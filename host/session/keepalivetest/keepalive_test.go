package keepalivetest_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/session"
	"github.com/wahost/wahost/host/session/sessiontest"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/storage"
)

// TestMain makes whatsmeow ping every 300-600 ms and give up on a ping
// after 100 ms, before any client starts.
func TestMain(m *testing.M) {
	wafaketest.FastKeepAlive(300*time.Millisecond, 100*time.Millisecond)
	os.Exit(m.Run())
}

// TestKeepAliveTimeout checks that unanswered keepalives past the limit
// drop the session, reported as keepalive_timeout, and that the session
// closes the socket itself (whatsmeow, its reconnects off, would not).
func TestKeepAliveTimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		limit time.Duration
	}{
		{"first timeout past the limit", time.Nanosecond},
		{"after a few timeouts", 500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := sessiontest.New(t, sessiontest.Options{
				Server:  wafake.Config{Script: wafake.Steps(wafake.Success(), wafake.IgnorePings())},
				Manager: session.Config{KeepAliveLimit: tc.limit},
			})
			inst, _ := env.Instance(t, "silent", storage.StatusOpen, wafake.NewPhone("15550001234"))
			if err := env.Manager.Connect(context.Background(), inst.ID); err != nil {
				t.Fatalf("Connect: %v", err)
			}
			rep := env.Handler.Report(t, inst.ID)
			if ev := rep.Event; ev.Kind != abi.KindKeepAliveTimeout || ev.Code != 408 || rep.Phase != abi.PhaseOpen {
				t.Errorf("report = %+v, want keepalive_timeout 408 while open", rep)
			}
			conn := wafaketest.Accept(t, env.Server)
			select {
			case <-conn.Done():
			case <-time.After(sessiontest.Timeout):
				t.Fatal("the session did not close the silent connection")
			}
		})
	}
}
