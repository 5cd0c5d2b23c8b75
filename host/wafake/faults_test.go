package wafake_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
)

// TestCorruptionRetry garbles a message on its way to the recipient: the
// client reports it undecryptable and sends a retry receipt, which the
// server takes to the sender's exact device, and the sender's new
// encryption arrives.
func TestCorruptionRetry(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{})
	alice := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000041"))
	bob := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000042"))

	srv.CorruptNext(bob.JID, 1)
	resp := send(t, alice, bob.Phone.JID, text("garbled once"))
	bad := wafaketest.WaitFrom(t, bob.Events, 0, func(e *events.UndecryptableMessage) bool { return e.Info.ID == resp.ID })
	if bad.Info.Sender != alice.JID {
		t.Errorf("undecryptable from %s, want %s", bad.Info.Sender, alice.JID)
	}
	retry := wafaketest.AwaitRelayed(t, srv, wafake.RelayedReceipt(resp.ID, "retry", alice.JID))
	if retry.From != bob.JID {
		t.Errorf("retry receipt from %s, want %s", retry.From, bob.JID)
	}
	if m := bob.WaitMessage(t, resp.ID); m.Message.GetConversation() != "garbled once" || m.RetryCount != 1 {
		t.Errorf("after retry bob got %q (RetryCount %d)", m.Message.GetConversation(), m.RetryCount)
	}
	if first := wafaketest.AwaitRelayed(t, srv, wafake.RelayedMessage(resp.ID, bob.JID)); !first.Corrupted {
		t.Errorf("first relay of %s not marked Corrupted", resp.ID)
	}
}

// TestAckFaults checks the sender's view of a server that never acks
// (ErrMessageTimedOut) and of one that acks with an error code
// (ErrServerReturnedError).
func TestAckFaults(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{})
	alice := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000051"))
	bob := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000052"))
	ctx, cancel := context.WithTimeout(context.Background(), wafaketest.Timeout)
	defer cancel()

	srv.DropAcks(alice.JID, true)
	resp, err := alice.Client.SendMessage(ctx, bob.Phone.JID, text("no ack"), whatsmeow.SendRequestExtra{Timeout: 200 * time.Millisecond})
	if !errors.Is(err, whatsmeow.ErrMessageTimedOut) {
		t.Errorf("without ack: err = %v, want ErrMessageTimedOut", err)
	}
	bob.WaitMessage(t, resp.ID) // relayed all the same
	srv.DropAcks(alice.JID, false)

	srv.AckError(alice.JID, 479)
	_, err = alice.Client.SendMessage(ctx, bob.Phone.JID, text("refused"))
	if !errors.Is(err, whatsmeow.ErrServerReturnedError) {
		t.Errorf("with ack error: err = %v, want ErrServerReturnedError", err)
	}
	srv.AckError(alice.JID, 0)
	send(t, alice, bob.Phone.JID, text("fine again"))
}

// TestPauseRelay checks that a paused device gets nothing while its
// connection stays up, and everything in order once resumed.
func TestPauseRelay(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{})
	alice := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000061"))
	bob := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000062"))

	srv.PauseRelay(bob.JID, true)
	first := send(t, alice, bob.Phone.JID, text("1"))
	second := send(t, alice, bob.Phone.JID, text("2"))
	if n := srv.Queued(bob.JID); n != 2 || !srv.Online(bob.JID) {
		t.Fatalf("paused: Queued = %d, Online = %v; want 2, true", n, srv.Online(bob.JID))
	}
	srv.PauseRelay(bob.JID, false)
	m1, m2 := bob.WaitMessage(t, first.ID), bob.WaitMessage(t, second.ID)
	if m1.Message.GetConversation() != "1" || m2.Message.GetConversation() != "2" {
		t.Errorf("resumed: got %q, %q", m1.Message.GetConversation(), m2.Message.GetConversation())
	}
}

// TestConflict connects a second client as the same device: the older
// connection is replaced, as WhatsApp does, and the counters show it.
func TestConflict(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{})
	alice := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000071"))
	if got := srv.Conflicts(); got != 0 {
		t.Fatalf("Conflicts() = %d before a second connection", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wafaketest.Timeout)
	defer cancel()
	twin, err := alice.Store.Container.(*sqlstore.Container).GetDevice(ctx, alice.JID)
	if err != nil || twin == nil {
		t.Fatalf("loading the device again: %v", err)
	}
	cli, rec := wafaketest.NewClient(t, twin, srv)
	cli.SynchronousAck = true
	if err := cli.Connect(); err != nil {
		t.Fatalf("connecting the twin: %v", err)
	}
	wafaketest.Wait[*events.Connected](t, rec)
	wafaketest.Wait[*events.StreamReplaced](t, alice.Events)
	if got := srv.Conflicts(); got != 1 {
		t.Errorf("Conflicts() = %d, want 1", got)
	}
	if got := srv.Connections(alice.JID); got != 2 {
		t.Errorf("Connections(%s) = %d, want 2", alice.JID, got)
	}
	if got := srv.Connections(types.NewJID("15550000071", types.DefaultUserServer)); got != 0 {
		t.Errorf("Connections(user JID) = %d, want 0 (counted per device)", got)
	}
}
