package host_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/host/webhook"
)

func of(name string) func(webhook.Envelope) bool {
	return func(e webhook.Envelope) bool { return e.Instance == name }
}

// sendFrom sends text from a peer device to to and returns its id.
func sendFrom(t *testing.T, d *wafaketest.Device, to types.JID, text string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := d.Client.SendMessage(ctx, to, &waE2E.Message{Conversation: proto.String(text)})
	if err != nil {
		t.Fatal(err)
	}
	return resp.ID
}

// degradedDecision waits for the next disconnect.decided of name and
// checks that it is about a degraded event with the given action, step and
// rule.
func (w *world) degradedDecision(name, action string, step float64, rule string) map[string]any {
	w.t.Helper()
	env := w.next("disconnect.decided", of(name))
	kind, _, d := decided(env)
	if kind != "degraded" || d["action"] != action || d["rule"] != rule || (step != 0 && d["step"] != step) {
		w.t.Fatalf("decided %s %v, want degraded %s step %v rule %s", kind, d, action, step, rule)
	}
	w.t.Logf("%s decided: %v", name, d)
	return d
}

// reconnectAfterDegraded follows a degraded reconnect decided as d: the
// connection is closed by the host (connection.update connecting), the
// reconnect is due at the decided time and the session opens again.
func (w *world) reconnectAfterDegraded(name string, dev types.JID, d map[string]any) *wafake.Conn {
	w.t.Helper()
	w.next("connection.update", func(e webhook.Envelope) bool { return e.Instance == name && state(e) == "connecting" })
	if d["delay_ms"] != 0.0 {
		w.reconnectDue(name)
	}
	c := w.acceptWhere(func(c *wafake.Conn) bool { return c.DeviceJID() == dev })
	w.next("connection.update", func(e webhook.Envelope) bool { return e.Instance == name && state(e) == "open" })
	return c
}

// TestDegradedUndecryptableEndToEnd: messages that stop decrypting
// (CorruptNext) on an open session. One bad message from one sender gets
// keep and nothing else; bad messages from two senders reconnect with the
// cache purged, and messages decrypt again; the same after that
// reconnect resets the session, announced as needing a new QR code.
func TestDegradedUndecryptableEndToEnd(t *testing.T) {
	w := newWorld(t, map[string]any{"traffic.thresholds.undecryptable": 1})
	me := wafaketest.User(t, w.srv, "5511955560001")
	a := wafaketest.LinkDevice(t, w.srv, wafaketest.User(t, w.srv, "5511955560002"))
	b := wafaketest.LinkDevice(t, w.srv, wafaketest.User(t, w.srv, "5511955560003"))
	dev := w.pairAs("sales", me).DeviceJID()

	// One corrupted message from one sender: keep. whatsmeow's retry
	// receipt gets it encrypted again, and it arrives.
	w.srv.CorruptNext(dev, 1)
	accepts := w.srv.Accepts()
	id := sendFrom(t, a, me.JID, "one")
	keep := w.seen
	w.degradedDecision("sales", "keep", 0, "degraded_one_sender")
	w.messageEvent("messages.upsert", id, nil)
	// Counted before the next decision, whose reconnect (delay 0) may
	// connect at once.
	if n := w.srv.Accepts(); n != accepts {
		t.Errorf("keep reconnected: %d connections, %d before", n, accepts)
	}

	// Now a second sender: two senders within 5 minutes reconnect, purging
	// the cache (step 2).
	w.srv.CorruptNext(dev, 1)
	sendFrom(t, b, me.JID, "two")
	d := w.degradedDecision("sales", "reconnect", 2, "degraded_undecryptable")
	// Between the keep and this decision nothing was done: no connection
	// update, no new connection.
	w.hooks.mu.Lock()
	for _, e := range w.hooks.got[keep:w.seen] {
		if e.Instance == "sales" && e.Event == "connection.update" {
			t.Errorf("after keep: %s %s", e.Event, e.Data)
		}
	}
	w.hooks.mu.Unlock()
	w.reconnectAfterDegraded("sales", dev, d)
	w.clk.Advance(time.Millisecond)
	id = sendFrom(t, a, me.JID, "after the reconnect")
	w.messageEvent("messages.upsert", id, nil)

	// It persists across the reconnect: the session is reset, and a new
	// QR code is needed.
	w.srv.CorruptNext(dev, 1)
	sendFrom(t, b, me.JID, "three")
	d = w.degradedDecision("sales", "reconnect", 3, "degraded_undecryptable_reset")
	if r, _ := d["reason"].(string); !strings.Contains(r, "new QR code") {
		t.Fatalf("reason %q", r)
	}
	w.next("connection.update", func(e webhook.Envelope) bool { return e.Instance == "sales" && state(e) == "connecting" })
	w.acceptWhere((*wafake.Conn).Registering)
	w.next("qrcode.updated", of("sales"))

	// The history has the three decisions with their inputs.
	_, hist := w.call("GET", "/v1/instances/sales/disconnects", nil)
	t.Logf("history: %v", hist)
}

// TestDegradedUnackedSendsEndToEnd: the server stops acknowledging the
// session's sends (DropAcks). A send without an acknowledgement within
// traffic.ack_timeout raises the degraded event, the default policy
// reconnects, and sends are acknowledged again afterwards.
func TestDegradedUnackedSendsEndToEnd(t *testing.T) {
	w := newWorld(t, map[string]any{
		"messages.rate": 1000, "messages.jitter": "0s", "traffic.ack_timeout": "1s",
		"traffic.thresholds.unacked_sends": 1,
	})
	me := wafaketest.User(t, w.srv, "5511955570001")
	peer := wafaketest.LinkDevice(t, w.srv, wafaketest.User(t, w.srv, "5511955570002"))
	dev := w.pairAs("sales", me).DeviceJID()

	w.srv.DropAcks(dev, true)
	start := time.Now()
	id := w.send("sales", map[string]any{"to": peer.Phone.JID.User, "text": "into the void"})
	d := w.degradedDecision("sales", "reconnect", 1, "degraded_unacked")
	decidedIn := time.Since(start)
	w.srv.DropAcks(dev, false) // the server recovers
	w.reconnectAfterDegraded("sales", dev, d)
	t.Logf("timeline: send %s, degraded after %s (ack timeout 1s), reopened after %s", id, decidedIn, time.Since(start))

	// The server had relayed it without acknowledging: the peer has it.
	peer.WaitMessage(t, types.MessageID(id))
	// Sends are acknowledged again: send.message goes out when the server
	// acknowledges (the peer is online, so its delivery receipt may be
	// recorded first and carry the messages.update).
	w.clk.Advance(time.Minute)
	next := w.send("sales", map[string]any{"to": peer.Phone.JID.User, "text": "and again"})
	w.messageEvent("send.message", next, nil)
	peer.WaitMessage(t, types.MessageID(next))
}

// TestDegradedReceiptSilenceEndToEnd: the phone stops relaying
// (PauseRelay): sends are acknowledged but no receipt comes back. The
// next send past traffic.thresholds.receipt_silence raises the degraded
// event, the default policy reconnects, and receipts flow again once the
// relay resumes.
func TestDegradedReceiptSilenceEndToEnd(t *testing.T) {
	w := newWorld(t, map[string]any{
		"messages.rate": 1000, "messages.jitter": "0s", "traffic.thresholds.receipt_silence": "2m",
	})
	me := wafaketest.User(t, w.srv, "5511955580001")
	peer := wafaketest.LinkDevice(t, w.srv, wafaketest.User(t, w.srv, "5511955580002"))
	dev := w.pairAs("sales", me).DeviceJID()

	w.srv.PauseRelay(dev, true)
	first := w.send("sales", map[string]any{"to": peer.Phone.JID.User, "text": "one"})
	w.messageEvent("messages.update", first, hasStatus("SERVER_ACK"))
	peer.WaitMessage(t, types.MessageID(first)) // delivered; its receipt is held
	w.clk.Advance(3 * time.Minute)
	second := w.send("sales", map[string]any{"to": peer.Phone.JID.User, "text": "two"})
	d := w.degradedDecision("sales", "reconnect", 1, "degraded_silence")
	w.reconnectAfterDegraded("sales", dev, d)
	w.srv.PauseRelay(dev, false) // the phone relays again
	w.messageEvent("messages.update", first, hasStatus("DELIVERY_ACK"))
	_ = second
}
