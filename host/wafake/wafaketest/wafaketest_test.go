package wafaketest_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types/events"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
)

// TestMain shrinks whatsmeow's process-global keepalive timing before any
// client starts. It lives in this package's test binary, apart from the
// wafake tests, because frequent pings in those would send while their
// connections close, which races inside whatsmeow. The gap between pings
// (300-600 ms) is kept long next to the deadline (100 ms) for the same
// reason: the test ends well before the next ping.
func TestMain(m *testing.M) {
	wafaketest.FastKeepAlive(300*time.Millisecond, 100*time.Millisecond)
	os.Exit(m.Run())
}

// TestKeepAliveTimeout checks that unanswered pings surface as
// events.KeepAliveTimeout on a logged-in client.
func TestKeepAliveTimeout(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{Script: wafake.Steps(wafake.IgnorePings(), wafake.Success())})
	cli, rec := wafaketest.NewClient(t, wafaketest.LinkedDevice(t, wafake.NewPhone("15550001234")), srv)
	if err := cli.Connect(); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	wafaketest.Wait[*events.Connected](t, rec)
	got := wafaketest.Wait[*events.KeepAliveTimeout](t, rec)
	if got.ErrorCount != 1 {
		t.Errorf("KeepAliveTimeout.ErrorCount = %d, want 1", got.ErrorCount)
	}
	conn := wafaketest.Accept(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), wafaketest.Timeout)
	defer cancel()
	if _, err := conn.Await(ctx, wafake.IQ("w:p", "get")); err != nil {
		t.Errorf("no ping seen by the server: %v", err)
	}
}

// TestRecorderAwait checks that Await sees earlier events and honours
// its context.
func TestRecorderAwait(t *testing.T) {
	t.Parallel()
	var rec wafaketest.Recorder
	rec.Handle(&events.Connected{})
	rec.Handle(&events.Disconnected{})
	ctx, cancel := context.WithTimeout(context.Background(), wafaketest.Timeout)
	defer cancel()
	if _, err := rec.Await(ctx, func(e any) bool { _, ok := e.(*events.Connected); return ok }); err != nil {
		t.Errorf("Await for an earlier event: %v", err)
	}
	if got := rec.String(); got != "[*events.Connected *events.Disconnected]" {
		t.Errorf("String() = %q", got)
	}

	done, stop := context.WithCancel(ctx)
	stop()
	if _, err := rec.Await(done, func(any) bool { return false }); !errors.Is(err, context.Canceled) {
		t.Errorf("Await with a cancelled context: err = %v, want context.Canceled", err)
	}

	late := make(chan error, 1)
	go func() {
		_, err := rec.Await(ctx, func(e any) bool { _, ok := e.(*events.StreamReplaced); return ok })
		late <- err
	}()
	rec.Handle(&events.StreamReplaced{})
	if err := <-late; err != nil {
		t.Errorf("Await for a later event: %v", err)
	}
}
