package session_test

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/proto/waWeb"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/host/session"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
)

// sendHistory makes another device of the rig's account (the phone, as
// far as the protocol goes) offer a history sync of five messages with
// the peer, inline in the notification.
func sendHistory(t *testing.T, r *trafficRig) string {
	t.Helper()
	peer := r.peer.Phone.JID.String()
	conv := &waHistorySync.Conversation{ID: proto.String(peer), Name: proto.String("Peer"), UnreadCount: proto.Uint32(2),
		ConversationTimestamp: proto.Uint64(1_700_000_100)}
	for i := range 5 {
		conv.Messages = append(conv.Messages, &waHistorySync.HistorySyncMsg{Message: &waWeb.WebMessageInfo{
			Key:              &waCommon.MessageKey{RemoteJID: proto.String(peer), FromMe: proto.Bool(i%2 == 1), ID: proto.String(fmt.Sprintf("HIST%d", i))},
			Message:          &waE2E.Message{Conversation: proto.String(fmt.Sprintf("old %d", i))},
			MessageTimestamp: proto.Uint64(uint64(1_700_000_000 + i)),
		}})
	}
	blob, err := proto.Marshal(&waHistorySync.HistorySync{
		SyncType:      waHistorySync.HistorySync_INITIAL_BOOTSTRAP.Enum(),
		Conversations: []*waHistorySync.Conversation{conv},
		Pushnames:     []*waHistorySync.Pushname{{ID: proto.String(peer), Pushname: proto.String("Peer Push")}},
		Progress:      proto.Uint32(100),
	})
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(blob)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	phone := r.linkOwnDevice(t)
	// Sent to the peer, the account's other devices get a copy sent by
	// this one, which is what they act on. (Sent to the account itself,
	// whatsmeow would list the instance's device twice and encrypt for it
	// twice.)
	resp, err := phone.Client.SendMessage(ctxT(t), r.peer.Phone.JID, &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
		Type: waE2E.ProtocolMessage_HISTORY_SYNC_NOTIFICATION.Enum(),
		HistorySyncNotification: &waE2E.HistorySyncNotification{
			SyncType:                          waE2E.HistorySyncType_INITIAL_BOOTSTRAP.Enum(),
			InitialHistBootstrapInlinePayload: z.Bytes(),
		},
	}})
	if err != nil {
		t.Fatalf("sending the history notification: %v", err)
	}
	// whatsmeow answers the notice with a hist_sync receipt to the
	// account, sent from a goroutine of its own: the test waits for it,
	// so that the client is not writing it when the test ends.
	wafaketest.AwaitRelayed(t, r.env.Server, wafake.RelayedReceipt(resp.ID, "hist_sync", phone.JID))
	return resp.ID
}

// TestHistorySync checks that a history sync reaches the Traffic, bounded
// by HistoryLimit, with its chats and push names.
func TestHistorySync(t *testing.T) {
	t.Parallel()
	r := newTrafficRig(t, session.Config{HistorySync: true, HistoryLimit: 3})
	sendHistory(t, r)
	batches := r.traffic.HistoryMessages(t, 3)
	var ids []string
	var chats, contacts int
	for _, h := range batches {
		for _, in := range h.Messages {
			ids = append(ids, in.Key.ID)
			if !in.FromHistory || in.Key.Chat != r.peer.Phone.JID.String() || in.Type != "conversation" ||
				in.Text != "old "+in.Key.ID[4:] || in.Key.FromMe != (in.Key.ID == "HIST1") || in.Timestamp.IsZero() {
				t.Errorf("history message %+v", in)
			}
		}
		for _, c := range h.Chats {
			chats++
			if c.JID != r.peer.Phone.JID.String() || c.Name != "Peer" || c.UnreadCount != 2 || !c.LastMessage.Equal(time.Unix(1_700_000_100, 0)) {
				t.Errorf("chat %+v", c)
			}
		}
		for _, c := range h.Contacts {
			contacts++
			if c.JID != r.peer.Phone.JID.String() || c.PushName != "Peer Push" {
				t.Errorf("contact %+v", c)
			}
		}
		if h.Progress != 100 {
			t.Errorf("progress %d", h.Progress)
		}
	}
	if a := r.traffic.Attempts(); len(a) != 0 {
		t.Errorf("the history notification reached the Traffic as a message: %+v", a)
	}
	if fmt.Sprint(ids) != "[HIST0 HIST1 HIST2]" || chats != 1 || contacts != 1 {
		t.Errorf("history: messages %v, %d chats, %d contacts; want the first 3 messages, 1 chat, 1 contact", ids, chats, contacts)
	}
}

// TestHistorySyncOff checks that nothing is downloaded or reported when
// history sync is off.
func TestHistorySyncOff(t *testing.T) {
	t.Parallel()
	r := newTrafficRig(t, session.Config{})
	id := sendHistory(t, r)
	wafaketest.AwaitRelayed(t, r.env.Server, wafake.RelayedMessage(id, r.dev))
	r.env.Settle(t)
	if h := r.traffic.History(); len(h) != 0 {
		t.Errorf("history sync off, yet the Traffic got %d batches", len(h))
	}
	if a := r.traffic.Attempts(); len(a) != 0 {
		t.Errorf("the history notification reached the Traffic as a message: %+v", a)
	}
}
