package wafake_test

import (
	"context"
	"errors"
	"testing"

	"go.mau.fi/whatsmeow/types/events"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
)

// TestEnqueue checks that queued scripts go to connections in order and
// that the default script takes over when the queue is empty.
func TestEnqueue(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{Script: wafake.Success()})
	srv.Enqueue(wafake.Close())
	phone := wafake.NewPhone("15550001234")
	dev := wafaketest.LinkedDevice(t, phone)
	cli, rec := wafaketest.NewClient(t, dev, srv)

	if err := cli.Connect(); err != nil {
		t.Fatalf("first Connect: %v", err)
	}
	wafaketest.Wait[*events.Disconnected](t, rec)
	first := wafaketest.Accept(t, srv)
	wafaketest.WaitScript(t, first)

	// Disconnected is dispatched after whatsmeow dropped the socket, so
	// connecting again from here is safe.
	if err := cli.Connect(); err != nil {
		t.Fatalf("second Connect: %v", err)
	}
	wafaketest.Wait[*events.Connected](t, rec)
	second := wafaketest.Accept(t, srv)
	if first.Seq() != 1 || second.Seq() != 2 || srv.Accepts() != 2 {
		t.Errorf("Seq = %d, %d; Accepts = %d; want 1, 2; 2", first.Seq(), second.Seq(), srv.Accepts())
	}
	if second.DeviceJID() != *dev.ID {
		t.Errorf("DeviceJID = %v, want %v", second.DeviceJID(), *dev.ID)
	}
	wafaketest.WaitScript(t, second)
}

// TestServerClose checks that closing the server ends live connections
// (events.Disconnected) and Accept.
func TestServerClose(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{})
	cli, rec := wafaketest.NewClient(t, wafaketest.LinkedDevice(t, wafake.NewPhone("15550001234")), srv)
	if err := cli.Connect(); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	wafaketest.Wait[*events.Connected](t, rec)
	conn := wafaketest.Accept(t, srv)
	wafaketest.WaitScript(t, conn)

	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wafaketest.Wait[*events.Disconnected](t, rec)
	select {
	case <-conn.Done():
	default:
		t.Error("connection not done after Close")
	}
	if _, err := srv.Accept(context.Background()); !errors.Is(err, wafake.ErrServerClosed) {
		t.Errorf("Accept after Close: err = %v, want ErrServerClosed", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestAwaitAndIQ exercises a connection driven by hand: a custom IQ
// answer, Await on the client's requests, Received.
func TestAwaitAndIQ(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{Script: wafake.Hold()})
	cli, rec := wafaketest.NewClient(t, wafaketest.LinkedDevice(t, wafake.NewPhone("15550001234")), srv)
	if err := cli.Connect(); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	conn := wafaketest.Accept(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), wafaketest.Timeout)
	defer cancel()

	if err := wafake.Success()(ctx, conn); err != nil {
		t.Fatalf("Success: %v", err)
	}
	wafaketest.Wait[*events.Connected](t, rec)
	for _, want := range []wafake.Matcher{wafake.IQ("encrypt", "get"), wafake.IQ("passive", "set")} {
		if _, err := conn.Await(ctx, want); err != nil {
			t.Errorf("Await: %v", err)
		}
	}
	if len(conn.Received()) < 3 {
		t.Errorf("Received() has %d nodes, want the login requests and flush ack", len(conn.Received()))
	}

	short, cancelShort := context.WithCancel(ctx)
	cancelShort()
	if _, err := conn.Await(short, wafake.IQ("never", "")); !errors.Is(err, context.Canceled) {
		t.Errorf("Await with a cancelled context: err = %v, want context.Canceled", err)
	}
}
