package session_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/session"
	"github.com/wahost/wahost/host/session/sessiontest"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/storage"
)

// goroutines returns the stacks of the running goroutines, keyed by their
// "goroutine N" header.
func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := make(map[string]string)
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, " [")
		out[header] = g
	}
	return out
}

// leaked returns the goroutines of whatsmeow or of this package that are
// not in before.
func leaked(before map[string]string) []string {
	var out []string
	for id, stack := range goroutines() {
		if _, ok := before[id]; ok {
			continue
		}
		if strings.Contains(stack, "go.mau.fi/whatsmeow") || strings.Contains(stack, "wahost/host/session.") {
			out = append(out, stack)
		}
	}
	return out
}

// TestCloseLeavesNoGoroutines runs sessions in each state — open, showing
// QR codes, dropped — closes the Manager and checks that neither
// whatsmeow's goroutines nor the Manager's remain. It does not run in
// parallel, so that other tests' goroutines do not count.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := goroutines()
	clk := clock.NewFake(epoch)
	env := sessiontest.New(t, sessiontest.Options{Manager: session.Config{Clock: clk, InactivityTimeout: time.Hour}})
	ctx := context.Background()

	open, _ := env.Instance(t, "open", storage.StatusClose, wafake.NewPhone("15550001111"))
	connectOpen(t, env, open.ID, 1)

	qr, _ := env.Instance(t, "qr", storage.StatusClose, nil)
	if err := env.Manager.Connect(ctx, qr.ID); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	env.Handler.Wait(t, qr.ID, sessiontest.QR, 1)
	wafaketest.WaitScript(t, wafaketest.Accept(t, env.Server))
	waitTimers(t, clk, 2) // the code's and the inactivity timeout

	dropped, _ := env.Instance(t, "dropped", storage.StatusClose, wafake.NewPhone("15550002222"))
	env.Server.Enqueue(wafake.StreamReplaced())
	if err := env.Manager.Connect(ctx, dropped.ID); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	env.Handler.Report(t, dropped.ID)
	wafaketest.WaitScript(t, wafaketest.Accept(t, env.Server))

	if err := env.Manager.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := env.Manager.Connect(ctx, open.ID); !errors.Is(err, session.ErrClosed) {
		t.Errorf("Connect after Close: %v, want ErrClosed", err)
	}
	if n := clk.Timers(); n != 0 {
		t.Errorf("%d timers still armed", n)
	}
	// whatsmeow's socket goroutines end shortly after their socket
	// closes, and say so nowhere: poll, as goleak does.
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := leaked(before)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left after Close:\n\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
