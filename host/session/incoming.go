package session

import (
	"context"
	"time"

	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/session/msgconv"
)

// onTraffic is the whatsmeow event handler for messages, receipts and
// history syncs. Unlike onEvent it works synchronously on whatsmeow's
// goroutine and reports whether the event was handled: whatsmeow
// (SynchronousAck) acknowledges a message or a receipt to the server only
// after it returns true, so nothing is acknowledged before the Traffic
// has stored it (see doc.go, "Traffic").
func (s *session) onTraffic(cl *client, evt any) bool {
	s.watchTraffic(evt)
	t := s.m.traffic
	if t == nil {
		return true
	}
	switch e := evt.(type) {
	case *events.Message:
		return s.incoming(cl, t, e)
	case *events.Receipt:
		return s.receipt(t, e)
	case *events.HistorySync:
		s.history(cl, t, e)
	}
	return true
}

// trafficCtx bounds one Traffic call; it ends when the Manager closes.
func (s *session) trafficCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.m.ctx, handlerTimeout)
}

func (s *session) incoming(cl *client, t message.Traffic, e *events.Message) bool {
	in, ok, err := msgconv.FromEvent(e, cl.wa.Store.GetJID())
	if err != nil {
		// Not convertible now, nor on a redelivery: acknowledge it.
		s.log.Warn("dropping a message that cannot be converted", "message_id", e.Info.ID, "chat", e.Info.Chat, "error", err)
		return true
	}
	if !ok {
		return true
	}
	ctx, cancel := s.trafficCtx()
	defer cancel()
	if err := t.HandleIncoming(ctx, s.id, in); err != nil {
		s.log.WarnContext(ctx, "incoming message not stored; WhatsApp will deliver it again",
			"message_id", in.Key.ID, "chat", in.Key.Chat, "error", err)
		return false
	}
	return true
}

// receiptTypes maps the receipts that move an outgoing message's status.
// Receipts from our own other devices (read-self, played-self, sender)
// concern messages we received or copies of ours, so they are left out.
var receiptTypes = map[types.ReceiptType]message.ReceiptType{
	types.ReceiptTypeDelivered: message.ReceiptDelivered,
	types.ReceiptTypeInactive:  message.ReceiptDelivered,
	types.ReceiptTypeRead:      message.ReceiptRead,
	types.ReceiptTypePlayed:    message.ReceiptPlayed,
}

func (s *session) receipt(t message.Traffic, e *events.Receipt) bool {
	typ, ok := receiptTypes[e.Type]
	if !ok || e.IsFromMe || len(e.MessageIDs) == 0 {
		return true
	}
	r := message.Receipt{
		Chat: e.Chat.String(), Sender: e.Sender.String(), IDs: e.MessageIDs, Type: typ, Timestamp: e.Timestamp,
	}
	ctx, cancel := s.trafficCtx()
	defer cancel()
	if err := t.HandleReceipt(ctx, s.id, r); err != nil {
		s.log.WarnContext(ctx, "receipt not recorded; WhatsApp will deliver it again",
			"type", typ, "chat", r.Chat, "ids", len(r.IDs), "error", err)
		return false
	}
	return true
}

// historyBatch is the most messages one HandleHistory call carries.
const historyBatch = 200

// history converts one history sync blob into batches, at most
// Config.HistoryLimit messages in all. whatsmeow downloads it on a
// goroutine of its own and acknowledges it regardless, so a batch that
// fails is logged and the sync goes on.
func (s *session) history(cl *client, t message.Traffic, e *events.HistorySync) {
	data := e.Data
	if data == nil {
		return
	}
	own := cl.wa.Store.GetJID()
	h := message.History{Progress: int(data.GetProgress())}
	for _, p := range data.GetPushnames() {
		if p.GetID() != "" {
			h.Contacts = append(h.Contacts, message.ContactInfo{JID: p.GetID(), PushName: p.GetPushname()})
		}
	}
	var total, dropped int
	flush := func() bool {
		if len(h.Messages) == 0 && len(h.Chats) == 0 && len(h.Contacts) == 0 {
			return true
		}
		ctx, cancel := s.trafficCtx()
		defer cancel()
		if err := t.HandleHistory(ctx, s.id, h); err != nil {
			s.log.WarnContext(ctx, "history batch not stored", "messages", len(h.Messages), "error", err)
			if ctx.Err() != nil {
				return false
			}
		}
		h = message.History{Progress: h.Progress}
		return true
	}
	for _, conv := range data.GetConversations() {
		chat, err := types.ParseJID(conv.GetID())
		if err != nil {
			continue
		}
		h.Chats = append(h.Chats, chatOf(chat, conv))
		for _, hm := range conv.GetMessages() {
			if total >= s.m.cfg.HistoryLimit {
				dropped++
				continue
			}
			evt, err := cl.wa.ParseWebMessage(chat, hm.GetMessage())
			if err != nil {
				continue
			}
			in, ok, err := msgconv.FromEvent(evt, own)
			if err != nil || !ok {
				continue
			}
			in.FromHistory = true
			h.Messages = append(h.Messages, in)
			total++
			if len(h.Messages) >= historyBatch && !flush() {
				return
			}
		}
	}
	flush()
	s.log.Info("history sync", "type", data.GetSyncType().String(), "messages", total, "beyond_limit", dropped,
		"chats", len(data.GetConversations()), "progress", data.GetProgress())
}

func chatOf(jid types.JID, conv *waHistorySync.Conversation) message.Chat {
	c := message.Chat{JID: jid.String(), Name: conv.GetName(), UnreadCount: int(conv.GetUnreadCount())}
	if ts := conv.GetConversationTimestamp(); ts > 0 {
		c.LastMessage = time.Unix(int64(ts), 0)
	}
	return c
}
