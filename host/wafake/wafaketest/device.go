package wafaketest

import (
	"context"
	"testing"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wahost/wahost/host/wafake"
)

// Device is a whatsmeow client logged in to a fake server as a linked
// device of a phone, with its keys uploaded: other clients can message it.
type Device struct {
	// JID is the device, e.g. 15550001234:1@s.whatsapp.net.
	JID types.JID
	// Phone is the account it belongs to.
	Phone *wafake.Phone
	// Client is the logged-in whatsmeow client (SynchronousAck set).
	Client *whatsmeow.Client
	// Events records everything the client dispatched.
	Events *Recorder
	// Store is the client's device store.
	Store *store.Device

	srv *wafake.Server
}

// Sync returns once the client has handled everything the server wrote to
// it so far (wafake.Conn.Flush on its live connection), e.g. a relayed
// devices notification that AwaitRelayed saw written.
func (d *Device) Sync(t testing.TB) {
	t.Helper()
	c := d.srv.LiveConn(d.JID)
	if c == nil {
		t.Fatalf("syncing %s: not connected", d.JID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("syncing %s: %v", d.JID, err)
	}
}

// User registers number on srv and returns its phone, whose devices
// LinkDevice adds. The phone's PushName becomes the user's push name.
func User(t testing.TB, srv *wafake.Server, number string) *wafake.Phone {
	t.Helper()
	phone := wafake.NewPhone(number)
	phone.PushName = "User " + number
	if _, err := srv.RegisterUser(number); err != nil {
		t.Fatalf("registering %s: %v", number, err)
	}
	srv.SetPushName(phone.JID, phone.PushName)
	return phone
}

// LinkDevice links a new device to phone, connects it to srv and waits
// until it is logged in (events.Connected, which whatsmeow emits after
// its prekey upload): it is then in every usync device list. The client
// uses SynchronousAck, so that Server.Settle (run at cleanup by
// NewServer) leaves it idle.
func LinkDevice(t testing.TB, srv *wafake.Server, phone *wafake.Phone) *Device {
	t.Helper()
	dev := LinkedDevice(t, phone)
	cli, rec := NewClient(t, dev, srv)
	cli.SynchronousAck = true
	if err := cli.Connect(); err != nil {
		t.Fatalf("connecting %s: %v", dev.ID, err)
	}
	Wait[*events.Connected](t, rec)
	return &Device{JID: *dev.ID, Phone: phone, Client: cli, Events: rec, Store: dev, srv: srv}
}

// Reconnect connects d again after its connection ended (wait for
// events.Disconnected first) and waits for the new events.Connected.
func (d *Device) Reconnect(t testing.TB) {
	t.Helper()
	mark := d.Events.Len()
	if err := d.Client.Connect(); err != nil {
		t.Fatalf("reconnecting %s: %v", d.JID, err)
	}
	WaitFrom(t, d.Events, mark, func(*events.Connected) bool { return true })
}

// WaitMessage waits up to Timeout for an events.Message with the given id
// that carries content (not only a sender key distribution), and fails
// the test otherwise.
func (d *Device) WaitMessage(t testing.TB, id types.MessageID) *events.Message {
	t.Helper()
	return WaitFrom(t, d.Events, 0, func(m *events.Message) bool {
		return m.Info.ID == id && !onlySenderKey(m)
	})
}

// WaitReceipt waits up to Timeout for an events.Receipt of type typ for
// message id.
func (d *Device) WaitReceipt(t testing.TB, id types.MessageID, typ types.ReceiptType) *events.Receipt {
	t.Helper()
	return WaitFrom(t, d.Events, 0, func(r *events.Receipt) bool {
		return r.Type == typ && len(r.MessageIDs) > 0 && r.MessageIDs[0] == id
	})
}

// onlySenderKey reports a group message event that only hands over the
// sender's key (whatsmeow dispatches it next to the real content).
func onlySenderKey(m *events.Message) bool {
	msg := m.Message
	return msg.GetSenderKeyDistributionMessage() != nil && msg.GetConversation() == "" &&
		msg.GetExtendedTextMessage() == nil && msg.GetImageMessage() == nil &&
		msg.GetReactionMessage() == nil && msg.GetProtocolMessage() == nil
}

// AwaitRelayed waits up to Timeout for srv to relay a stanza that match
// accepts (see wafake.RelayedMessage, wafake.RelayedReceipt).
func AwaitRelayed(t testing.TB, srv *wafake.Server, match func(wafake.Relayed) bool) wafake.Relayed {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	r, err := srv.AwaitRelayed(ctx, match)
	if err != nil {
		t.Fatalf("waiting for a relayed stanza: %v", err)
	}
	return r
}
