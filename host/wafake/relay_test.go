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
