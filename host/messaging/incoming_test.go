package messaging_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/messaging"
	"github.com/wahost/wahost/storage"
)

func incoming(id, text string) message.Incoming {
	return message.Incoming{
		Key: message.Key{Chat: peer, ID: id}, Event: message.EventMessage, PushName: "Bia", Timestamp: t0,
		Type: "conversation", Message: json.RawMessage(`{"conversation":"` + text + `"}`), Text: text,
	}
}

func TestIncomingStoredOnceWithItsWebhook(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, nil)
		ctx := context.Background()
		in := incoming("3A1234567890ABCDEF12", "oi")
		for range 2 { // the server delivers it again after a reconnect
			if err := e.svc.HandleIncoming(ctx, e.inst.ID, in); err != nil {
				t.Fatal(err)
			}
		}
		evs := e.events()
		if len(evs) != 1 || evs[0].Event != "messages.upsert" {
			t.Fatalf("events %+v", evs)
		}
		d := evs[0].Data
		key := d["key"].(map[string]any)
		if key["id"] != in.Key.ID || key["remoteJid"] != peer || key["fromMe"] != false || d["pushName"] != "Bia" ||
			d["messageType"] != "conversation" || d["messageTimestamp"] != float64(t0.Unix()) || d["source"] != "ios" ||
			d["instanceId"] != e.inst.ID || d["message"].(map[string]any)["conversation"] != "oi" {
			t.Errorf("messages.upsert %s", evs[0].Raw)
		}
		m, err := e.store.Message(ctx, e.inst.ID, in.Key.ID)
		if err != nil || m.Status != storage.MessageReceived || m.FromMe || m.Chat != peer {
			t.Fatalf("stored %+v, %v", m, err)
		}
	})
}

func TestIncomingEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0], nil)
	ctx := context.Background()
	target := &message.Key{Chat: peer, ID: "3A0000000000000000AA"}
	edit := incoming("3A0000000000000000E1", "fixed")
	edit.Event, edit.Target = message.EventEdit, target
	revoke := incoming("3A0000000000000000R1", "")
	revoke.Event, revoke.Target, revoke.Type = message.EventRevoke, target, "protocolMessage"
	react := incoming("3A0000000000000000C1", "")
	react.Event, react.Target, react.Type = message.EventReaction, target, "reactionMessage"
	react.Message = json.RawMessage(`{"reactionMessage":{"key":{"id":"3A0000000000000000AA"},"text":"👍"}}`)
	for _, in := range []message.Incoming{edit, revoke, react} {
		if err := e.svc.HandleIncoming(ctx, e.inst.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	evs := e.events()
	if len(evs) != 3 || evs[0].Event != "messages.edited" || evs[1].Event != "messages.delete" || evs[2].Event != "messages.upsert" {
		t.Fatalf("events %+v", evs)
	}
	if evs[1].Data["id"] != target.ID || evs[1].Data["remoteJid"] != peer {
		t.Errorf("messages.delete %s", evs[1].Raw)
	}
	if evs[2].Data["messageType"] != "reactionMessage" {
		t.Errorf("reaction %s", evs[2].Raw)
	}
}

func TestIncomingMediaBase64(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0], func(c *messaging.Config) {
		c.Base64 = func(context.Context, storage.Instance) bool { return true }
	})
	e.sess.download = []byte("jpg")
	in := incoming("3A00000000000000IMG1", "")
	in.Type, in.HasMedia = "imageMessage", true
	in.Message = json.RawMessage(`{"imageMessage":{"mimetype":"image/jpeg"}}`)
	if err := e.svc.HandleIncoming(context.Background(), e.inst.ID, in); err != nil {
		t.Fatal(err)
	}
	evs := e.events()
	if len(evs) != 1 || evs[0].Data["message"].(map[string]any)["base64"] != "anBn" {
		t.Fatalf("events %+v", evs)
	}
	data, mime, err := e.svc.Media(context.Background(), e.inst.ID, in.Key.ID)
	if err != nil || string(data) != "jpg" || mime != "image/jpeg" {
		t.Fatalf("media %q %q %v", data, mime, err)
	}
}

func TestReceiptsMoveForwardOnly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, nil)
		ctx := context.Background()
		a := e.accept(text(peer, "hi"), "")
		e.awaitStatus(a.Message.ID, storage.MessageSent)
		e.events()
		for _, typ := range []message.ReceiptType{message.ReceiptDelivered, message.ReceiptRead, message.ReceiptDelivered} {
			if err := e.svc.HandleReceipt(ctx, e.inst.ID, message.Receipt{
				Chat: peer, Sender: peer, IDs: []string{a.Message.ID, "3EB0UNKNOWN"}, Type: typ, Timestamp: t0.Add(time.Minute),
			}); err != nil {
				t.Fatal(err)
			}
		}
		evs := e.events()
		if len(evs) != 2 || evs[0].Data["status"] != "DELIVERY_ACK" || evs[1].Data["status"] != "READ" {
			t.Fatalf("events %+v", evs)
		}
		m, _ := e.store.Message(ctx, e.inst.ID, a.Message.ID)
		if m.Status != storage.MessageRead || !m.Timestamp.Equal(t0) {
			t.Fatalf("status %s at %v", m.Status, m.Timestamp)
		}
	})
}

func TestHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0], func(c *messaging.Config) { c.HistoryLimit = 2 })
	ctx := context.Background()
	old, mid, last := incoming("3A00000000000000H001", "a"), incoming("3A00000000000000H002", "b"), incoming("3A00000000000000H003", "c")
	old.Timestamp, mid.Timestamp, last.Timestamp = t0, t0.Add(time.Second), t0.Add(2*time.Second)
	h := message.History{
		Messages: []message.Incoming{old, mid, last},
		Chats:    []message.Chat{{JID: peer, Name: "Bia", UnreadCount: 2}},
		Contacts: []message.ContactInfo{{JID: peer, PushName: "Bia"}},
	}
	if err := e.svc.HandleHistory(ctx, e.inst.ID, h); err != nil {
		t.Fatal(err)
	}
	evs := e.events()
	if len(evs) != 3 || evs[0].Event != "messages.set" || evs[1].Event != "chats.set" || evs[2].Event != "contacts.set" {
		t.Fatalf("events %+v", evs)
	}
	var set []map[string]any
	_ = json.Unmarshal(evs[0].Raw, &set)
	if len(set) != 2 || set[0]["key"].(map[string]any)["id"] != mid.Key.ID {
		t.Fatalf("messages.set %s", evs[0].Raw)
	}
	if _, err := e.store.Message(ctx, e.inst.ID, old.Key.ID); err == nil {
		t.Error("the oldest message past the limit was stored")
	}
}

func TestOps(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0], nil)
	ctx := context.Background()
	checks, err := e.svc.CheckNumbers(ctx, e.inst.ID, []string{"+55 11 99999-0001", "551199990000"})
	if err != nil || len(checks) != 2 || !checks[0].Exists || checks[1].Exists || checks[0].Query != "5511999990001" {
		t.Fatalf("checks %+v %v", checks, err)
	}
	if err := e.svc.HandleIncoming(ctx, e.inst.ID, incoming("3A00000000000000RD01", "x")); err != nil {
		t.Fatal(err)
	}
	ids, err := e.svc.MarkRead(ctx, e.inst.ID, peer, nil)
	if err != nil || len(ids) != 1 || len(e.sess.reads) != 1 || e.sess.reads[0].Chat != peer {
		t.Fatalf("marked %v %v %+v", ids, err, e.sess.reads)
	}
	if m, _ := e.store.Message(ctx, e.inst.ID, ids[0]); m.Status != storage.MessageRead {
		t.Errorf("status %s after marking read", m.Status)
	}
	if err := e.svc.SendPresence(ctx, e.inst.ID, peer, message.PresenceComposing); err != nil {
		t.Fatal(err)
	}
	var ie *messaging.InputError
	if err := e.svc.SendPresence(ctx, e.inst.ID, peer, "dancing"); !asInput(err, &ie) || ie.Field != "presence" {
		t.Fatalf("bad presence: %v", err)
	}
	url, err := e.svc.ProfilePictureURL(ctx, e.inst.ID, "5511999990001")
	if err != nil || url != "https://pps.whatsapp.net/"+peer {
		t.Fatalf("picture %q %v", url, err)
	}
}

func TestPruneKeepsTheQueue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, nil)
		ctx := context.Background()
		for i := range 3 {
			if err := e.svc.HandleIncoming(ctx, e.inst.ID, incoming("3A00000000000000PR0"+string(rune('0'+i)), "old")); err != nil {
				t.Fatal(err)
			}
		}
		e.sess.setResult(func(message.Outgoing, []byte) (message.Sent, error) { return message.Sent{}, message.ErrNotConnected })
		queued := e.accept(text(peer, "still waiting"), "")
		n, err := e.svc.Prune(ctx, t0.Add(time.Hour))
		if err != nil || n != 3 {
			t.Fatalf("pruned %d, %v; want the 3 received", n, err)
		}
		if m, err := e.store.Message(ctx, e.inst.ID, queued.Message.ID); err != nil || m.Status != storage.MessageQueued {
			t.Fatalf("queued message after pruning: %+v, %v", m, err)
		}
	})
}
