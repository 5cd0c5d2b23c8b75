package host_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/host/webhook"
)

// pairAs logs an instance in by QR code as phone (a user the fake server
// relays for) and returns its open connection.
func (w *world) pairAs(name string, phone *wafake.Phone) *wafake.Conn {
	w.t.Helper()
	if code, body := w.call("POST", "/v1/instances", map[string]any{"name": name}); code != http.StatusCreated {
		w.t.Fatalf("create = %d %v", code, body)
	}
	code, body := w.call("POST", "/v1/instances/"+name+"/connect", nil)
	qr, _ := body["qr"].(map[string]any)
	if code != http.StatusOK || qr == nil {
		w.t.Fatalf("connect = %d %v", code, body)
	}
	first := w.acceptWhere((*wafake.Conn).Registering)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	jid, err := first.Pair(ctx, phone, qr["code"].(string))
	if err != nil {
		w.t.Fatal(err)
	}
	if err := wafake.StreamError("515")(ctx, first); err != nil {
		w.t.Fatal(err)
	}
	w.next("disconnect.decided", func(e webhook.Envelope) bool { return e.Instance == name })
	w.accepts = w.srv.Accepts()
	w.reconnectDue(name)
	c := w.acceptWhere(func(c *wafake.Conn) bool { return c.DeviceJID() == jid })
	w.next("connection.update", func(e webhook.Envelope) bool { return e.Instance == name && state(e) == "open" })
	return c
}

// messageEvent waits for the next webhook of event about message id
// (its key.id, or keyId for messages.update) that ok accepts.
func (w *world) messageEvent(event, id string, ok func(map[string]any) bool) map[string]any {
	w.t.Helper()
	var data map[string]any
	w.hooks.await(event+" "+id, func(e webhook.Envelope) bool {
		if e.Event != event {
			return false
		}
		var d map[string]any
		_ = json.Unmarshal(e.Data, &d)
		key, _ := d["key"].(map[string]any)
		if d["keyId"] != id && (key == nil || key["id"] != id) {
			return false
		}
		if ok != nil && !ok(d) {
			return false
		}
		data = d
		return true
	})
	return data
}

func (w *world) send(name string, body map[string]any) string {
	w.t.Helper()
	code, out := w.call("POST", "/v1/instances/"+name+"/messages", body)
	if code != http.StatusAccepted || out["status"] != "queued" && out["status"] != "sent" {
		w.t.Fatalf("send = %d %v", code, out)
	}
	return out["id"].(string)
}

func (w *world) status(name, id string) string {
	w.t.Helper()
	code, out := w.call("GET", "/v1/instances/"+name+"/messages/"+id, nil)
	if code != http.StatusOK {
		w.t.Fatalf("get message = %d %v", code, out)
	}
	return out["status"].(string)
}

func hasStatus(s ...string) func(map[string]any) bool {
	return func(d map[string]any) bool { st, _ := d["status"].(string); return slices.Contains(s, st) }
}

// TestMessagingEndToEnd sends text and media through the API to a plain
// whatsmeow client over the fake server's relay, follows the receipts to
// read, receives the peer's answer as messages.upsert, and repeats a send
// with an Idempotency-Key.
func TestMessagingEndToEnd(t *testing.T) {
	w := newWorld(t, map[string]any{"messages.rate": 1000, "messages.jitter": "0s"})
	me := wafaketest.User(t, w.srv, "5511955550001")
	peer := wafaketest.LinkDevice(t, w.srv, wafaketest.User(t, w.srv, "5511955550002"))
	w.pairAs("sales", me)
	peerNumber := peer.Phone.JID.User

	id := w.send("sales", map[string]any{"to": "+" + peerNumber, "text": "hello from wahost"})
	got := peer.WaitMessage(t, types.MessageID(id))
	if got.Message.GetConversation() != "hello from wahost" || got.Info.Sender.User != me.JID.User {
		t.Fatalf("peer got %v from %s", got.Message, got.Info.Sender)
	}
	sent := w.messageEvent("send.message", id, nil)
	if sent["message"].(map[string]any)["conversation"] != "hello from wahost" || sent["source"] != "web" {
		t.Fatalf("send.message %v", sent)
	}
	// The server's acknowledgement, or the peer's delivery receipt when it
	// was recorded first (then it carries the message's first update).
	w.messageEvent("messages.update", id, hasStatus("SERVER_ACK", "DELIVERY_ACK"))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := peer.Client.MarkRead(ctx, []types.MessageID{types.MessageID(id)}, time.Now(), me.JID, me.JID); err != nil {
		t.Fatal(err)
	}
	w.messageEvent("messages.update", id, hasStatus("READ"))
	if s := w.status("sales", id); s != "read" {
		t.Fatalf("status %s after the read receipt", s)
	}

	w.clk.Advance(time.Millisecond) // the pace of messages.rate
	photo := bytes.Repeat([]byte("jpeg"), 2000)
	img := w.send("sales", map[string]any{"to": peerNumber, "image": map[string]any{
		"base64": base64.StdEncoding.EncodeToString(photo), "mimetype": "image/jpeg", "caption": "look"}})
	m := peer.WaitMessage(t, types.MessageID(img))
	if m.Message.GetImageMessage().GetCaption() != "look" {
		t.Fatalf("peer got %v", m.Message)
	}
	if data, err := peer.Client.Download(ctx, m.Message.GetImageMessage()); err != nil || !bytes.Equal(data, photo) {
		t.Fatalf("peer downloaded %d bytes, %v", len(data), err)
	}

	resp, err := peer.Client.SendMessage(ctx, me.JID, &waE2E.Message{Conversation: proto.String("oi, tudo bem?")})
	if err != nil {
		t.Fatal(err)
	}
	up := w.messageEvent("messages.upsert", resp.ID, nil)
	key := up["key"].(map[string]any)
	if up["message"].(map[string]any)["conversation"] != "oi, tudo bem?" || key["fromMe"] != false ||
		key["remoteJid"] != peer.Phone.JID.String() || up["messageType"] != "conversation" {
		t.Fatalf("messages.upsert %v", up)
	}
	code, list := w.call("GET", "/v1/instances/sales/messages?chat="+peerNumber, nil)
	if msgs, _ := list["messages"].([]any); code != http.StatusOK || len(msgs) != 3 {
		t.Fatalf("list = %d %v", code, list)
	}

	// Media in: inline in the webhook when the instance asks for base64,
	// and on demand through the API.
	if code, body := w.call("PUT", "/v1/instances/sales/settings", map[string]any{
		"webhook": map[string]any{"url": w.hooks.URL, "base64": true}}); code != http.StatusOK {
		t.Fatalf("settings = %d %v", code, body)
	}
	pic := bytes.Repeat([]byte("peer-photo"), 300)
	upl, err := peer.Client.Upload(ctx, pic, whatsmeow.MediaImage)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = peer.Client.SendMessage(ctx, me.JID, &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
		URL: proto.String(upl.URL), DirectPath: proto.String(upl.DirectPath), MediaKey: upl.MediaKey,
		FileEncSHA256: upl.FileEncSHA256, FileSHA256: upl.FileSHA256, FileLength: proto.Uint64(upl.FileLength),
		Mimetype: proto.String("image/jpeg"), Caption: proto.String("from the peer"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	up = w.messageEvent("messages.upsert", resp.ID, nil)
	if inline, _ := up["message"].(map[string]any)["base64"].(string); inline != base64.StdEncoding.EncodeToString(pic) ||
		up["messageType"] != "imageMessage" {
		t.Fatalf("messages.upsert of an image: type %v, base64 %d characters", up["messageType"], len(inline))
	}
	req, _ := http.NewRequest("GET", w.base+"/v1/instances/sales/messages/"+resp.ID+"/media", nil)
	req.Header.Set("apikey", apiKey)
	media, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got2, _ := io.ReadAll(media.Body)
	media.Body.Close()
	if media.StatusCode != http.StatusOK || !bytes.Equal(got2, pic) || media.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("media = %d, %d bytes, %s", media.StatusCode, len(got2), media.Header.Get("Content-Type"))
	}

	w.clk.Advance(time.Millisecond)
	first := w.sendKey("sales", "order-7", map[string]any{"to": peerNumber, "text": "once"})
	again := w.sendKey("sales", "order-7", map[string]any{"to": peerNumber, "text": "once"})
	if first != again {
		t.Fatalf("the repeated request queued %s after %s", again, first)
	}
	peer.WaitMessage(t, types.MessageID(first))
}

func (w *world) sendKey(name, key string, body map[string]any) string {
	w.t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", w.base+"/v1/instances/"+name+"/messages", bytes.NewReader(raw))
	req.Header.Set("apikey", apiKey)
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusAccepted {
		w.t.Fatalf("send = %d %v", resp.StatusCode, out)
	}
	return out["id"].(string)
}

// dropSession ends the instance's connection the way a network failure
// does and waits for the policy's reconnect decision.
func (w *world) dropSession(conn *wafake.Conn) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w.accepts = w.srv.Accepts()
	<-conn.ScriptDone()
	if err := wafake.Drop()(ctx, conn); err != nil {
		w.t.Logf("drop: %v", err)
	}
	w.next("connection.update", func(e webhook.Envelope) bool { return state(e) == "connecting" })
}

// TestQueuedWhileDownEndToEnd: a message accepted while the session is
// down waits in the queue and goes out after the policy's reconnect.
func TestQueuedWhileDownEndToEnd(t *testing.T) {
	w := newWorld(t, nil)
	me := wafaketest.User(t, w.srv, "5511955560001")
	peer := wafaketest.LinkDevice(t, w.srv, wafaketest.User(t, w.srv, "5511955560002"))
	conn := w.pairAs("sales", me)
	peerNumber := peer.Phone.JID.User

	w.dropSession(conn)
	waiting := w.send("sales", map[string]any{"to": peerNumber, "text": "sent after the reconnect"})
	if s := w.status("sales", waiting); s != "queued" {
		t.Fatalf("status %s while down", s)
	}
	w.reconnectDue("sales")
	w.accept()
	if got := peer.WaitMessage(t, types.MessageID(waiting)); got.Message.GetConversation() != "sent after the reconnect" {
		t.Fatalf("peer got %v", got.Message)
	}
	w.messageEvent("send.message", waiting, nil)
}

// TestExpiryEndToEnd: a message that waits for its session past
// messages.ttl fails "expired", with its messages.update, on the fake
// clock.
func TestExpiryEndToEnd(t *testing.T) {
	w := newWorld(t, map[string]any{"messages.ttl": "100ms"})
	me := wafaketest.User(t, w.srv, "5511955570001")
	peer := wafaketest.User(t, w.srv, "5511955570002")
	conn := w.pairAs("sales", me)

	w.dropSession(conn)
	late := w.send("sales", map[string]any{"to": peer.JID.User, "text": "never"})
	_, diag := w.call("GET", "/v1/instances/sales/diagnostics", nil)
	p, _ := diag["pending_reconnect"].(map[string]any)
	due, _ := time.Parse(time.RFC3339Nano, p["due"].(string))
	if due.Sub(w.clk.Now()) <= 100*time.Millisecond {
		t.Fatalf("the reconnect is due in %s, before the message expires", due.Sub(w.clk.Now()))
	}
	w.clk.Advance(100 * time.Millisecond)
	fail := w.messageEvent("messages.update", late, hasStatus("ERROR"))
	if fail["reason"] != "expired" || w.status("sales", late) != "failed" {
		t.Fatalf("messages.update %v", fail)
	}
}

// TestLogoutFailsQueueEndToEnd: a message waits while the session is
// down; the reconnect's login is refused (401), the policy logs the
// instance out, and the message fails "logged_out" in that unit of work;
// a send after it is refused with the instance's state.
func TestLogoutFailsQueueEndToEnd(t *testing.T) {
	w := newWorld(t, nil)
	me := wafaketest.User(t, w.srv, "5511955580001")
	peer := wafaketest.User(t, w.srv, "5511955580002")
	conn := w.pairAs("sales", me)

	w.dropSession(conn)
	queued := w.send("sales", map[string]any{"to": peer.JID.User, "text": "lost with the logout"})
	w.srv.Enqueue(wafake.Failure(401, nil))
	w.reconnectDue("sales")
	fail := w.messageEvent("messages.update", queued, hasStatus("ERROR"))
	if fail["reason"] != "logged_out" || w.status("sales", queued) != "failed" {
		t.Fatalf("messages.update %v", fail)
	}
	w.hooks.await("logout.instance", func(e webhook.Envelope) bool { return e.Event == "logout.instance" })
	code, body := w.call("POST", "/v1/instances/sales/messages", map[string]any{"to": peer.JID.User, "text": "x"})
	if code != http.StatusConflict || !strings.Contains(body["error"].(map[string]any)["message"].(string), "logged out") {
		t.Fatalf("send after the logout = %d %v", code, body)
	}
}
