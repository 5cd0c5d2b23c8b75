package wafake_test

import (
	"testing"

	"go.mau.fi/whatsmeow/types"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
)

// TestGroupOfThree sends in a group of three: sender keys reach every
// member device, and delivery and read receipts come back to the author
// naming the member.
func TestGroupOfThree(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{})
	alice := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000101"))
	bob := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000102"))
	carol := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000103"))
	gid, err := srv.CreateGroup("three", alice.Phone.JID, bob.Phone.JID, carol.Phone.JID)
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}

	resp := send(t, alice, gid, text("hello group"))
	bobsCopy := bob.WaitMessage(t, resp.ID)
	for _, d := range []*wafaketest.Device{bob, carol} {
		m := d.WaitMessage(t, resp.ID)
		if m.Message.GetConversation() != "hello group" || !m.Info.IsGroup || m.Info.Chat != gid || m.Info.Sender != alice.JID {
			t.Errorf("%s got %q group=%v chat=%s sender=%s", d.JID, m.Message.GetConversation(), m.Info.IsGroup, m.Info.Chat, m.Info.Sender)
		}
	}
	delivered := alice.WaitReceipt(t, resp.ID, types.ReceiptTypeDelivered)
	if !delivered.IsGroup || delivered.Chat != gid || (delivered.Sender != bob.JID && delivered.Sender != carol.JID) {
		t.Errorf("delivery receipt: group=%v chat=%s sender=%s", delivered.IsGroup, delivered.Chat, delivered.Sender)
	}
	markRead(t, bob, bobsCopy)
	read := alice.WaitReceipt(t, resp.ID, types.ReceiptTypeRead)
	if !read.IsGroup || read.Chat != gid || read.Sender != bob.JID {
		t.Errorf("read receipt: group=%v chat=%s sender=%s", read.IsGroup, read.Chat, read.Sender)
	}

	reply := send(t, carol, gid, text("hi all"))
	for _, d := range []*wafaketest.Device{alice, bob} {
		if m := d.WaitMessage(t, reply.ID); m.Message.GetConversation() != "hi all" || m.Info.Sender != carol.JID {
			t.Errorf("%s got %q from %s", d.JID, m.Message.GetConversation(), m.Info.Sender)
		}
	}
	again := send(t, alice, gid, text("second"))
	carol.WaitMessage(t, again.ID)
	bob.WaitMessage(t, again.ID)
}
