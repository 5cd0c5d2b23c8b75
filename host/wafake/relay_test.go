package wafake_test

import (
	"context"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
)

func text(s string) *waE2E.Message { return &waE2E.Message{Conversation: proto.String(s)} }

// send sends msg from d to chat and fails the test on error.
func send(t *testing.T, d *wafaketest.Device, chat types.JID, msg *waE2E.Message) whatsmeow.SendResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wafaketest.Timeout)
	defer cancel()
	resp, err := d.Client.SendMessage(ctx, chat, msg)
	if err != nil {
		t.Fatalf("%s sending to %s: %v", d.JID, chat, err)
	}
	return resp
}

func markRead(t *testing.T, d *wafaketest.Device, m *events.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wafaketest.Timeout)
	defer cancel()
	if err := d.Client.MarkRead(ctx, []types.MessageID{m.Info.ID}, time.Now(), m.Info.Chat, m.Info.Sender); err != nil {
		t.Fatalf("marking %s read: %v", m.Info.ID, err)
	}
}

// TestDirectMessages sends text both ways between two real clients, with
// delivery and read receipts going back to the author.
func TestDirectMessages(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{})
	alice := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000001"))
	bob := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000002"))

	resp := send(t, alice, bob.Phone.JID, text("hello bob"))
	if resp.Timestamp.IsZero() {
		t.Errorf("SendResponse.Timestamp is zero; the ack's t was not read")
	}
	if n := srv.PreKeyCount(bob.JID); n != 49 {
		t.Errorf("PreKeyCount(bob) = %d after one bundle, want 49", n)
	}
	got := bob.WaitMessage(t, resp.ID)
	if got.Message.GetConversation() != "hello bob" || got.Info.Sender != alice.JID ||
		got.Info.Chat != alice.Phone.JID || got.Info.IsFromMe || got.Info.PushName != alice.Phone.PushName {
		t.Errorf("bob got %+v %q", got.Info, got.Message.GetConversation())
	}
	delivered := alice.WaitReceipt(t, resp.ID, types.ReceiptTypeDelivered)
	if delivered.Sender != bob.JID || delivered.Chat != bob.Phone.JID {
		t.Errorf("delivery receipt from %s in %s, want %s in %s", delivered.Sender, delivered.Chat, bob.JID, bob.Phone.JID)
	}
	markRead(t, bob, got)
	alice.WaitReceipt(t, resp.ID, types.ReceiptTypeRead)

	reply := send(t, bob, alice.Phone.JID, text("hi alice"))
	if m := alice.WaitMessage(t, reply.ID); m.Message.GetConversation() != "hi alice" {
		t.Errorf("alice got %q", m.Message.GetConversation())
	}
	bob.WaitReceipt(t, reply.ID, types.ReceiptTypeDelivered)
}

// TestOwnDevices checks that a user's other devices get a copy of what
// one of them sends (IsFromMe, in the peer's chat), and that a device
// linked later is reached once the devices notification has dropped the
// sender's cached device list.
func TestOwnDevices(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{})
	alicePhone := wafaketest.User(t, srv, "15550000011")
	bobPhone := wafaketest.User(t, srv, "15550000012")
	alice1 := wafaketest.LinkDevice(t, srv, alicePhone)
	alice2 := wafaketest.LinkDevice(t, srv, alicePhone)
	bob1 := wafaketest.LinkDevice(t, srv, bobPhone)

	first := send(t, alice1, bobPhone.JID, text("one"))
	bob1.WaitMessage(t, first.ID)
	copied := alice2.WaitMessage(t, first.ID)
	if !copied.Info.IsFromMe || copied.Info.Chat != bobPhone.JID || copied.Message.GetConversation() != "one" {
		t.Errorf("own copy: IsFromMe=%v Chat=%s text=%q", copied.Info.IsFromMe, copied.Info.Chat, copied.Message.GetConversation())
	}

	bob2 := wafaketest.LinkDevice(t, srv, bobPhone)
	wafaketest.AwaitRelayed(t, srv, func(r wafake.Relayed) bool {
		return r.Tag == "notification" && r.From == bob2.JID && r.To == alice1.JID
	})
	alice1.Sync(t)
	second := send(t, alice1, bobPhone.JID, text("two"))
	for _, d := range []*wafaketest.Device{bob1, bob2, alice2} {
		if m := d.WaitMessage(t, second.ID); m.Message.GetConversation() != "two" {
			t.Errorf("%s got %q", d.JID, m.Message.GetConversation())
		}
	}
}

// TestOfflineRecipient checks that a message for a device that is offline
// waits on the server and reaches it when it logs in again.
func TestOfflineRecipient(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{})
	alice := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000021"))
	bob := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000022"))

	mark := bob.Events.Len()
	srv.LiveConn(bob.JID).Drop()
	wafaketest.WaitFrom(t, bob.Events, mark, func(*events.Disconnected) bool { return true })

	resp := send(t, alice, bob.Phone.JID, text("while you were away"))
	if n := srv.Queued(bob.JID); n != 1 {
		t.Fatalf("Queued(bob) = %d, want 1", n)
	}
	mark = bob.Events.Len()
	bob.Reconnect(t)
	if m := bob.WaitMessage(t, resp.ID); m.Message.GetConversation() != "while you were away" {
		t.Errorf("bob got %q", m.Message.GetConversation())
	}
	done := wafaketest.WaitFrom(t, bob.Events, mark, func(*events.OfflineSyncCompleted) bool { return true })
	if done.Count != 1 {
		t.Errorf("OfflineSyncCompleted.Count = %d, want 1", done.Count)
	}
	alice.WaitReceipt(t, resp.ID, types.ReceiptTypeDelivered)
	if r := wafaketest.AwaitRelayed(t, srv, wafake.RelayedMessage(resp.ID, bob.JID)); !r.Queued {
		t.Errorf("relayed record not marked Queued")
	}
}

// TestReactionEditRevoke checks that reactions, edits and revokes (plain
// messages to the server) reach the peer as such.
func TestReactionEditRevoke(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{})
	alice := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000031"))
	bob := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000032"))
	chat := bob.Phone.JID

	orig := send(t, alice, chat, text("typo"))
	bob.WaitMessage(t, orig.ID)

	react := send(t, bob, alice.Phone.JID, bob.Client.BuildReaction(alice.Phone.JID, alice.Phone.JID, orig.ID, "👍"))
	if r := alice.WaitMessage(t, react.ID).Message.GetReactionMessage(); r.GetText() != "👍" || r.GetKey().GetID() != orig.ID {
		t.Errorf("reaction: %v", r)
	}

	edit := send(t, alice, chat, alice.Client.BuildEdit(chat, orig.ID, text("fixed")))
	got := bob.WaitMessage(t, edit.ID)
	pm := got.Message.GetProtocolMessage()
	if !got.IsEdit || pm.GetType() != waE2E.ProtocolMessage_MESSAGE_EDIT || pm.GetEditedMessage().GetConversation() != "fixed" {
		t.Errorf("edit: IsEdit=%v %v", got.IsEdit, pm)
	}

	revoke := send(t, alice, chat, alice.Client.BuildRevoke(chat, types.EmptyJID, orig.ID))
	pm = bob.WaitMessage(t, revoke.ID).Message.GetProtocolMessage()
	if pm.GetType() != waE2E.ProtocolMessage_REVOKE || pm.GetKey().GetID() != orig.ID {
		t.Errorf("revoke: %v", pm)
	}
}
