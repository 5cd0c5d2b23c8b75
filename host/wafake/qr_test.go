package wafake_test

import (
	"context"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
)

// TestQR checks that an unpaired client is shown the server's refs, as
// events.QR and on the QR channel.
func TestQR(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{})
	cli, rec := wafaketest.NewClient(t, wafaketest.NewDevice(t), srv)
	qrs, stop := qrChannel(t, cli)
	if err := cli.Connect(); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	evt := wafaketest.Wait[*events.QR](t, rec)
	if len(evt.Codes) != wafake.DefaultQRRefs {
		t.Fatalf("QR has %d codes, want %d", len(evt.Codes), wafake.DefaultQRRefs)
	}
	item := nextQRItem(t, qrs)
	if item.Event != whatsmeow.QRChannelEventCode || item.Code != evt.Codes[0] || item.Timeout != time.Minute {
		t.Errorf("first QR item = %+v, want code %q lasting 1m", item, evt.Codes[0])
	}
	conn := wafaketest.Accept(t, srv)
	if !conn.Registering() || !conn.DeviceJID().IsEmpty() {
		t.Errorf("unpaired client: Registering() = %v, DeviceJID() = %v", conn.Registering(), conn.DeviceJID())
	}
	qr, err := wafake.ParseQRCode(evt.Codes[0])
	if err != nil {
		t.Fatalf("ParseQRCode: %v", err)
	}
	if qr.NoiseKey != conn.ClientStaticKey() {
		t.Errorf("QR noise key differs from the handshake's client static key")
	}
	stop(conn)
}

// TestQRScannedWithoutMultidevice checks the downgrade_webclient notice.
func TestQRScannedWithoutMultidevice(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{
		Script: wafake.Steps(wafake.ShowQR("2@only-ref"), wafake.DowngradeWebclient()),
	})
	cli, rec := wafaketest.NewClient(t, wafaketest.NewDevice(t), srv)
	qrs, stop := qrChannel(t, cli)
	if err := cli.Connect(); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	wafaketest.Wait[*events.QRScannedWithoutMultidevice](t, rec)
	for {
		item := nextQRItem(t, qrs)
		if item == whatsmeow.QRChannelScannedWithoutMultidevice {
			break
		}
		if item.Event != whatsmeow.QRChannelEventCode {
			t.Fatalf("QR channel item = %+v, want codes then %q", item, whatsmeow.QRChannelScannedWithoutMultidevice.Event)
		}
	}
	stop(wafaketest.Accept(t, srv))
}

// TestPairing plays the phone: it scans the client's first QR code, the
// client saves the new device, restarts on 515 by itself and logs in.
func TestPairing(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{})
	dev := wafaketest.NewDevice(t)
	cli, rec := wafaketest.NewClient(t, dev, srv)
	// The restart after pairing is whatsmeow's own: it disconnects and
	// reconnects when the server asks for it with 515.
	cli.DisableLoginAutoReconnect = false
	if err := cli.Connect(); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	qr := wafaketest.Wait[*events.QR](t, rec)

	ctx, cancel := context.WithTimeout(context.Background(), wafaketest.Timeout)
	defer cancel()
	phone := wafake.NewPhone("15550009999")
	phone.BusinessName = "Acme"
	first := wafaketest.Accept(t, srv)
	jid, err := first.Pair(ctx, phone, qr.Codes[0])
	if err != nil {
		t.Fatalf("Pair: %v", err)
	}
	got := wafaketest.Wait[*events.PairSuccess](t, rec)
	if got.ID != jid || got.LID.User != phone.LID.User || got.BusinessName != "Acme" || got.Platform != phone.Platform {
		t.Errorf("PairSuccess = %+v, want ID %s, LID user %s, Acme, %s", got, jid, phone.LID.User, phone.Platform)
	}
	if err := first.Send(ctx, wafake.StreamErrorNode("515")); err != nil {
		t.Fatalf("sending 515: %v", err)
	}

	second := wafaketest.Accept(t, srv)
	if second.DeviceJID() != jid {
		t.Errorf("second connection logs in as %v, want %v", second.DeviceJID(), jid)
	}
	wafaketest.Wait[*events.Connected](t, rec)
	if dev.ID == nil || *dev.ID != jid || dev.Account == nil {
		t.Errorf("store after pairing: ID %v, Account set %v; want %v", dev.ID, dev.Account != nil, jid)
	}
	wafaketest.WaitScript(t, second)
}

// TestPairingNumbersDevicesPerAccount: two pairings of one phone number,
// even by two Phone values, get two device numbers from the server, so
// their connections never replace each other.
func TestPairingNumbersDevicesPerAccount(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{})
	var jids []types.JID
	for range 2 {
		cli, rec := wafaketest.NewClient(t, wafaketest.NewDevice(t), srv)
		if err := cli.Connect(); err != nil {
			t.Fatalf("Connect: %v", err)
		}
		qr := wafaketest.Wait[*events.QR](t, rec)
		ctx, cancel := context.WithTimeout(context.Background(), wafaketest.Timeout)
		jid, err := wafaketest.Accept(t, srv).Pair(ctx, wafake.NewPhone("15550008888"), qr.Codes[0])
		cancel()
		if err != nil {
			t.Fatalf("Pair: %v", err)
		}
		wafaketest.Wait[*events.PairSuccess](t, rec)
		jids = append(jids, jid)
	}
	if jids[0].User != jids[1].User || jids[0].Device == jids[1].Device {
		t.Fatalf("paired devices %v and %v; want one account, two device numbers", jids[0], jids[1])
	}
}

// TestPairRejectsForeignQR checks that a connection only pairs with codes
// its own client showed.
func TestPairRejectsForeignQR(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{})
	cli, rec := wafaketest.NewClient(t, wafaketest.NewDevice(t), srv)
	if err := cli.Connect(); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	qr := wafaketest.Wait[*events.QR](t, rec)
	conn := wafaketest.Accept(t, srv)
	wafaketest.WaitScript(t, conn)

	parsed, err := wafake.ParseQRCode(qr.Codes[0])
	if err != nil {
		t.Fatalf("ParseQRCode: %v", err)
	}
	forged := "2@unknown-ref" + qr.Codes[0][len(parsed.Ref):]
	if _, err := conn.Pair(context.Background(), wafake.NewPhone("15550000000"), forged); err != wafake.ErrQRMismatch {
		t.Errorf("Pair with an unknown ref: err = %v, want ErrQRMismatch", err)
	}
}

// qrChannel opens the client's QR channel. The returned stop ends it the
// way a host that gives up on pairing would: it cancels the channel's
// context, so that whatsmeow's emitter closes the channel and disconnects,
// and waits for the channel to close and for the server to see the
// connection end. Letting the server close the connection instead would
// make whatsmeow close the channel from its Disconnected handler while the
// emitter goroutine may send on it, a data race inside whatsmeow.
func qrChannel(t *testing.T, cli *whatsmeow.Client) (<-chan whatsmeow.QRChannelItem, func(*wafake.Conn)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := cli.GetQRChannel(ctx)
	if err != nil {
		t.Fatalf("GetQRChannel: %v", err)
	}
	return ch, func(conn *wafake.Conn) {
		t.Helper()
		cancel()
		deadline := time.After(wafaketest.Timeout)
		for open := true; open; {
			select {
			case _, open = <-ch:
			case <-deadline:
				t.Fatal("QR channel still open after its context ended")
			}
		}
		select {
		case <-conn.Done():
		case <-deadline:
			t.Fatal("connection still open after the QR channel closed")
		}
	}
}

func nextQRItem(t *testing.T, ch <-chan whatsmeow.QRChannelItem) whatsmeow.QRChannelItem {
	t.Helper()
	select {
	case item, ok := <-ch:
		if !ok {
			t.Fatal("QR channel closed")
		}
		return item
	case <-time.After(wafaketest.Timeout):
		t.Fatalf("no QR channel item within %v", wafaketest.Timeout)
		return whatsmeow.QRChannelItem{}
	}
}
