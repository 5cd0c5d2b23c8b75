package session_test

import (
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/session"
)

// TestIncomingFromPhone checks that a message this number sends from
// another device reaches the Traffic as ours (Key.FromMe), in the chat
// with its recipient.
func TestIncomingFromPhone(t *testing.T) {
	t.Parallel()
	r := newTrafficRig(t, session.Config{})
	phone := r.linkOwnDevice(t)
	resp, err := phone.Client.SendMessage(ctxT(t), r.peer.Phone.JID, &waE2E.Message{Conversation: proto.String("from my phone")})
	if err != nil {
		t.Fatal(err)
	}
	in := r.traffic.Incoming(t, resp.ID, message.EventMessage)
	want := message.Key{Chat: r.peer.Phone.JID.String(), ID: resp.ID, FromMe: true}
	if in.Key != want || in.Text != "from my phone" {
		t.Errorf("incoming = %+v, want key %+v", in, want)
	}
}

// TestGroupMessages checks a group message both ways: the one the peer
// sends reaches the Traffic once (the sender-key distribution that comes
// with it, under the same id, is skipped), with its author; the one the
// instance sends reaches the peer.
func TestGroupMessages(t *testing.T) {
	t.Parallel()
	r := newTrafficRig(t, session.Config{})
	gid, err := r.env.Server.CreateGroup("team", r.peer.Phone.JID, r.me)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := r.peer.Client.SendMessage(ctxT(t), gid, &waE2E.Message{Conversation: proto.String("hi team")})
	if err != nil {
		t.Fatal(err)
	}
	in := r.traffic.Incoming(t, resp.ID, message.EventMessage)
	want := message.Key{Chat: gid.String(), ID: resp.ID, Sender: r.peer.Phone.JID.String()}
	if in.Key != want || in.Text != "hi team" {
		t.Errorf("incoming = %+v, want key %+v", in, want)
	}
	r.env.Settle(t)
	n := 0
	for _, a := range r.traffic.Attempts() {
		if a.Key.ID == resp.ID {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the group message reached the Traffic %d times, want once", n)
	}

	sent := r.send(t, message.Outgoing{ID: "3EB0" + randomID(), To: gid.String(), Kind: message.KindText, Text: "@peer yes",
		ReplyTo: &in.Key, Mentions: []string{r.peer.Phone.JID.String()}}, nil)
	got := r.peer.WaitMessage(t, sent.ID)
	ci := got.Message.GetExtendedTextMessage().GetContextInfo()
	if got.Info.Chat != gid || ci.GetStanzaID() != resp.ID || ci.GetParticipant() != r.peer.Phone.JID.String() ||
		len(ci.GetMentionedJID()) != 1 {
		t.Errorf("peer got %v in %s", got.Message, got.Info.Chat)
	}
}
