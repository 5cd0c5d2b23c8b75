package session_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/session"
	"github.com/wahost/wahost/host/session/sessiontest"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/memcache"
)

// trafficRig is an instance of a Manager with a recording Traffic and an
// in-memory cache, logged in, and a plain whatsmeow client as its peer.
type trafficRig struct {
	env     *sessiontest.Env
	traffic *sessiontest.Traffic
	cache   storage.Cache
	id      string        // the instance
	me      types.JID     // the instance's account
	phone   *wafake.Phone // the account's phone
	dev     types.JID     // the instance's device
	peer    *wafaketest.Device
}

func newTrafficRig(t *testing.T, cfg session.Config) *trafficRig {
	t.Helper()
	r := &trafficRig{traffic: sessiontest.NewTraffic(), cache: memcache.New(time.Now)}
	cfg.Cache = r.cache
	if cfg.SendTimeout == 0 {
		cfg.SendTimeout = wafaketest.Timeout
	}
	r.env = sessiontest.New(t, sessiontest.Options{Manager: cfg})
	r.env.Manager.SetTraffic(r.traffic) // as the host does: the service comes after the Manager
	phone := wafaketest.User(t, r.env.Server, "15550002001")
	inst, dev := r.env.Instance(t, "traffic", storage.StatusOpen, phone)
	r.id, r.me, r.dev, r.phone = inst.ID, phone.JID, *dev.ID, phone
	r.peer = wafaketest.LinkDevice(t, r.env.Server, wafaketest.User(t, r.env.Server, "15550002002"))
	connectOpen(t, r.env, r.id, 1)
	t.Cleanup(r.teardown)
	return r
}

// teardown runs before the cleanup of the clients linked so far closes
// the server: the clients idle, then the Manager's client closed locally
// (see wafaketest.NewClient). Register it again after linking another.
func (r *trafficRig) teardown() {
	ctx, cancel := context.WithTimeout(context.Background(), wafaketest.Timeout)
	defer cancel()
	_ = r.env.Server.Settle(ctx)
	_ = r.env.Manager.Close()
}

// linkOwnDevice links another device to the instance's account, as the
// phone is.
func (r *trafficRig) linkOwnDevice(t *testing.T) *wafaketest.Device {
	t.Helper()
	d := wafaketest.LinkDevice(t, r.env.Server, r.phone)
	t.Cleanup(r.teardown)
	return d
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wafaketest.Timeout)
	t.Cleanup(cancel)
	return ctx
}

func (r *trafficRig) send(t *testing.T, out message.Outgoing, media []byte) message.Sent {
	t.Helper()
	sent, err := r.env.Manager.Send(ctxT(t), r.id, out, media)
	if err != nil {
		t.Fatalf("Send %s: %v", out.Kind, err)
	}
	if sent.ID != out.ID || sent.Timestamp.IsZero() {
		t.Fatalf("Send %s = %+v; want id %s and the server's time", out.Kind, sent, out.ID)
	}
	return sent
}

// TestSendKinds sends every kind to a plain whatsmeow client, with a
// reply and mentions, and checks what the peer decodes.
func TestSendKinds(t *testing.T) {
	t.Parallel()
	r := newTrafficRig(t, session.Config{})
	peerJID := r.peer.Phone.JID.String()
	third := "15550002003@s.whatsapp.net"
	first := r.send(t, message.Outgoing{ID: "3EB0000000000000FIRST", To: peerJID, Kind: message.KindText, Text: "first"}, nil)
	if got := r.peer.WaitMessage(t, first.ID); got.Message.GetConversation() != "first" || got.Info.Sender.User != r.me.User {
		t.Fatalf("peer got %v from %s", got.Message, got.Info.Sender)
	}
	photo := bytes.Repeat([]byte("jpeg"), 1000)
	firstKey := &message.Key{Chat: peerJID, ID: first.ID, FromMe: true}

	for _, tc := range []struct {
		name  string
		out   message.Outgoing
		media []byte
		check func(t *testing.T, m *events.Message)
	}{
		{
			name: "text with reply and mentions",
			out: message.Outgoing{Kind: message.KindText, Text: "re @15550002003", ReplyTo: firstKey,
				Mentions: []string{third}},
			check: func(t *testing.T, m *events.Message) {
				ext := m.Message.GetExtendedTextMessage()
				ci := ext.GetContextInfo()
				if ext.GetText() != "re @15550002003" || ci.GetStanzaID() != first.ID || ci.GetParticipant() != r.me.String() ||
					ci.GetQuotedMessage().GetConversation() != "first" || len(ci.GetMentionedJID()) != 1 || ci.GetMentionedJID()[0] != third {
					t.Errorf("peer decoded %v", m.Message)
				}
			},
		},
		{
			name:  "image with caption, replying",
			out:   message.Outgoing{Kind: message.KindImage, Media: &message.Media{MIMEType: "image/jpeg", Caption: "look"}, ReplyTo: firstKey},
			media: photo,
			check: func(t *testing.T, m *events.Message) {
				img := m.Message.GetImageMessage()
				if img.GetCaption() != "look" || img.GetMimetype() != "image/jpeg" || img.GetFileLength() != uint64(len(photo)) ||
					img.GetContextInfo().GetStanzaID() != first.ID {
					t.Errorf("peer decoded %v", m.Message)
				}
				data, err := r.peer.Client.Download(ctxT(t), img)
				if err != nil || !bytes.Equal(data, photo) {
					t.Errorf("peer downloaded %d bytes, %v; want the %d sent", len(data), err, len(photo))
				}
			},
		},
		{
			name:  "voice note",
			out:   message.Outgoing{Kind: message.KindAudio, Media: &message.Media{VoiceNote: true}},
			media: []byte("OggS voice"),
			check: func(t *testing.T, m *events.Message) {
				a := m.Message.GetAudioMessage()
				if !a.GetPTT() || a.GetMimetype() != "audio/ogg; codecs=opus" {
					t.Errorf("peer decoded %v", m.Message)
				}
			},
		},
		{
			name:  "document",
			out:   message.Outgoing{Kind: message.KindDocument, Media: &message.Media{FileName: "r.pdf", MIMEType: "application/pdf"}},
			media: []byte("%PDF-1.4"),
			check: func(t *testing.T, m *events.Message) {
				if d := m.Message.GetDocumentMessage(); d.GetFileName() != "r.pdf" || d.GetMimetype() != "application/pdf" {
					t.Errorf("peer decoded %v", m.Message)
				}
			},
		},
		{
			name: "location",
			out:  message.Outgoing{Kind: message.KindLocation, Location: &message.Location{Latitude: -23.56, Longitude: -46.65, Name: "Paulista"}},
			check: func(t *testing.T, m *events.Message) {
				l := m.Message.GetLocationMessage()
				if l.GetDegreesLatitude() != -23.56 || l.GetDegreesLongitude() != -46.65 || l.GetName() != "Paulista" {
					t.Errorf("peer decoded %v", m.Message)
				}
			},
		},
		{
			name: "contact",
			out:  message.Outgoing{Kind: message.KindContact, Contact: &message.Contact{DisplayName: "Ann", VCard: "BEGIN:VCARD\nVERSION:3.0\nFN:Ann\nEND:VCARD"}},
			check: func(t *testing.T, m *events.Message) {
				if c := m.Message.GetContactMessage(); c.GetDisplayName() != "Ann" || c.GetVcard() == "" {
					t.Errorf("peer decoded %v", m.Message)
				}
			},
		},
		{
			name: "reaction",
			out:  message.Outgoing{Kind: message.KindReaction, Target: firstKey, Emoji: "👍"},
			check: func(t *testing.T, m *events.Message) {
				re := m.Message.GetReactionMessage()
				if re.GetText() != "👍" || re.GetKey().GetID() != first.ID || !re.GetKey().GetFromMe() {
					t.Errorf("peer decoded %v", m.Message)
				}
			},
		},
		{
			name: "edit",
			out:  message.Outgoing{Kind: message.KindEdit, Target: firstKey, Text: "first, edited"},
			check: func(t *testing.T, m *events.Message) {
				pm := m.Message.GetProtocolMessage()
				if !m.IsEdit || pm.GetType() != waE2E.ProtocolMessage_MESSAGE_EDIT || pm.GetKey().GetID() != first.ID ||
					pm.GetEditedMessage().GetConversation() != "first, edited" {
					t.Errorf("peer decoded %v (edit %v)", m.Message, m.IsEdit)
				}
			},
		},
		{
			name: "revoke",
			out:  message.Outgoing{Kind: message.KindRevoke, Target: firstKey},
			check: func(t *testing.T, m *events.Message) {
				pm := m.Message.GetProtocolMessage()
				if pm.GetType() != waE2E.ProtocolMessage_REVOKE || pm.GetKey().GetID() != first.ID || !pm.GetKey().GetFromMe() {
					t.Errorf("peer decoded %v", m.Message)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.out.ID = "3EB0" + randomID()
			tc.out.To = peerJID
			r.send(t, tc.out, tc.media)
			tc.check(t, r.peer.WaitMessage(t, tc.out.ID))
		})
	}
}

// TestIncoming checks a message from the peer through to the Traffic,
// the delivery receipt after it, and the download of its media.
func TestIncoming(t *testing.T) {
	t.Parallel()
	r := newTrafficRig(t, session.Config{})
	ctx := ctxT(t)
	resp, err := r.peer.Client.SendMessage(ctx, r.me, &waE2E.Message{Conversation: proto.String("hello wahost")})
	if err != nil {
		t.Fatal(err)
	}
	in := r.traffic.Incoming(t, resp.ID, message.EventMessage)
	want := message.Key{Chat: r.peer.Phone.JID.String(), ID: resp.ID}
	if in.Key != want || in.Type != "conversation" || in.Text != "hello wahost" || in.PushName != r.peer.Phone.PushName ||
		string(in.Message) != `{"conversation":"hello wahost"}` || in.HasMedia || in.Timestamp.IsZero() {
		t.Errorf("incoming = %+v (message %s)", in, in.Message)
	}
	wafaketest.AwaitRelayed(t, r.env.Server, wafake.RelayedReceipt(resp.ID, "", r.peer.JID))

	photo := bytes.Repeat([]byte{0xff, 0xd8}, 500)
	up, err := r.peer.Client.Upload(ctx, photo, "WhatsApp Image Keys")
	if err != nil {
		t.Fatal(err)
	}
	resp, err = r.peer.Client.SendMessage(ctx, r.me, &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
		URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
		FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		Mimetype: proto.String("image/jpeg"), Caption: proto.String("pic"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	in = r.traffic.Incoming(t, resp.ID, message.EventMessage)
	if in.Type != "imageMessage" || !in.HasMedia || in.Text != "pic" {
		t.Errorf("incoming image = %+v", in)
	}
	data, mime, err := r.env.Manager.Download(ctx, r.id, in.Message)
	if err != nil || !bytes.Equal(data, photo) || mime != "image/jpeg" {
		t.Errorf("Download = %d bytes %q, %v; want the %d sent", len(data), mime, err, len(photo))
	}
	if _, _, err := r.env.Manager.Download(ctx, r.id, []byte(`{"conversation":"x"}`)); !errors.Is(err, message.ErrNoMedia) {
		t.Errorf("Download of a text = %v, want ErrNoMedia", err)
	}
}

// TestIncomingNotStored checks that a Traffic that fails keeps WhatsApp's
// delivery receipt back, and that the message redelivered after a
// reconnect is handled again and acknowledged then.
func TestIncomingNotStored(t *testing.T) {
	t.Parallel()
	r := newTrafficRig(t, session.Config{})
	ctx := ctxT(t)
	r.traffic.Fail = func(message.Incoming) error { return errors.New("database down") }
	resp, err := r.peer.Client.SendMessage(ctx, r.me, &waE2E.Message{Conversation: proto.String("keep me")})
	if err != nil {
		t.Fatal(err)
	}
	relayed := wafaketest.AwaitRelayed(t, r.env.Server, wafake.RelayedMessage(resp.ID, r.dev))
	r.traffic.Attempted(t, resp.ID, 1)
	if err := r.env.Server.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	if rec, ok := relayedNow(r.env.Server, wafake.RelayedReceipt(resp.ID, "", r.peer.JID)); ok {
		t.Fatalf("a delivery receipt went out for a message the Traffic did not store: %+v", rec)
	}

	r.traffic.Fail = nil
	if err := r.env.Manager.Disconnect(r.id); err != nil {
		t.Fatal(err)
	}
	connectOpen(t, r.env, r.id, 2)
	// WhatsApp delivers an unacknowledged message again on the next
	// connection: the same stanza.
	if err := r.env.Server.LiveConn(r.dev).Send(ctx, relayed.Node); err != nil {
		t.Fatal(err)
	}
	in := r.traffic.Incoming(t, resp.ID, message.EventMessage)
	if in.Text != "keep me" {
		t.Errorf("redelivered message = %+v", in)
	}
	wafaketest.AwaitRelayed(t, r.env.Server, wafake.RelayedReceipt(resp.ID, "", r.peer.JID))
}

// relayedNow reports a stanza relayed already, without waiting.
func relayedNow(srv *wafake.Server, match func(wafake.Relayed) bool) (wafake.Relayed, bool) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec, err := srv.AwaitRelayed(ctx, match)
	return rec, err == nil
}

// TestReceipts checks that the peer's delivery and read receipts reach
// the Traffic.
func TestReceipts(t *testing.T) {
	t.Parallel()
	r := newTrafficRig(t, session.Config{})
	sent := r.send(t, message.Outgoing{ID: "3EB0000000000RECEIPTS", To: r.peer.Phone.JID.String(), Kind: message.KindText, Text: "read me"}, nil)
	got := r.peer.WaitMessage(t, sent.ID)
	rc := r.traffic.Receipt(t, sent.ID, message.ReceiptDelivered)
	if rc.Chat != r.peer.Phone.JID.String() || rc.Sender != r.peer.JID.String() || rc.Timestamp.IsZero() {
		t.Errorf("delivery receipt = %+v", rc)
	}
	if err := r.peer.Client.MarkRead(ctxT(t), []types.MessageID{sent.ID}, time.Now(), got.Info.Chat, got.Info.Sender); err != nil {
		t.Fatal(err)
	}
	r.traffic.Receipt(t, sent.ID, message.ReceiptRead)
}

// randomID returns 16 random hex digits, upper case, as message ids are.
func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}
