package wafake

import (
	"slices"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// route hands a logged-in client's messages, receipts and presence to the
// relay; everything else was recorded and, for iqs, answered already.
func (s *Server) route(c *Conn, n *waBinary.Node) {
	from := c.DeviceJID()
	if from.IsEmpty() {
		return
	}
	switch n.Tag {
	case "message":
		s.relayMessage(c, from, n)
	case "receipt":
		s.relayReceipt(c, from, n)
	case "presence":
		if name := n.AttrGetter().OptionalString("name"); name != "" {
			s.SetPushName(from.ToNonAD(), name)
		}
	}
}

// relayMessage acks a client's <message> and fans its payloads out: one
// <message from=SENDER_DEVICE> per <participants><to jid=DEV>, with
// recipient=CHAT on copies to the sender's own devices; a group message to
// every member device; a retry resend (a device JID, or a group with a
// participant) to that device only.
func (s *Server) relayMessage(c *Conn, from types.JID, n *waBinary.Node) {
	ag := n.AttrGetter()
	id := ag.OptionalString("id")
	to, ok := n.Attrs["to"].(types.JID)
	if id == "" || !ok {
		return
	}
	s.dir.mu.Lock()
	f := *s.dir.faultsLocked(from)
	s.dir.mu.Unlock()
	ack := waBinary.Node{Tag: "ack", Attrs: waBinary.Attrs{"class": "message", "id": id, "from": to, "t": s.now()}}
	if f.ackError != 0 {
		ack.Attrs["error"] = f.ackError
		s.sendAck(c, ack)
		return
	}
	switch {
	case to.Server == types.GroupServer:
		if code := s.relayGroupMessage(from, to, n); code != 0 {
			ack.Attrs["error"] = code
		}
	case to.Server != types.DefaultUserServer:
		ack.Attrs["error"] = 400 // broadcasts, newsletters, LIDs: not relayed
	case to.Device != 0:
		s.relayRetry(from, to, n)
	default:
		s.fanOut(from, to, n)
	}
	if !f.dropAcks {
		s.sendAck(c, ack)
	}
}

func (s *Server) sendAck(c *Conn, ack waBinary.Node) {
	if err := c.Send(c.ctx, ack); err != nil {
		s.cfg.Logger.Debug("sending ack failed", "conn", c.seq, "err", err)
	}
}

// fanOut relays a 1:1 message: each <to jid=DEV> payload goes to DEV.
func (s *Server) fanOut(from, chat types.JID, n *waBinary.Node) {
	participants, _ := n.GetOptionalChildByTag("participants")
	extra := extraChildren(n)
	for _, to := range participants.GetChildren() {
		dev, ok := to.Attrs["jid"].(types.JID)
		if to.Tag != "to" || !ok {
			continue
		}
		content := slices.Concat(to.GetChildren(), extra)
		out := s.outgoing(from, n, content)
		if dev.User == from.User {
			out.Attrs["recipient"] = chat
		}
		s.deliver(dev, out, s.messageRecord(from, out))
	}
}

// relayRetry relays a message addressed to one device: whatsmeow's resend
// after a retry receipt, its <enc> directly under <message>.
func (s *Server) relayRetry(from, dev types.JID, n *waBinary.Node) {
	out := s.outgoing(from, n, n.GetChildren())
	if dev.User == from.User {
		if r, ok := n.Attrs["recipient"].(types.JID); ok {
			out.Attrs["recipient"] = r
		}
	}
	s.deliver(dev, out, s.messageRecord(from, out))
}

// outgoing builds the <message> a recipient device gets.
func (s *Server) outgoing(from types.JID, n *waBinary.Node, content []waBinary.Node) waBinary.Node {
	attrs := waBinary.Attrs{"from": from, "id": n.Attrs["id"], "t": s.now()}
	for _, k := range []string{"type", "edit", "category"} {
		if v, ok := n.Attrs[k]; ok {
			attrs[k] = v
		}
	}
	s.dir.mu.Lock()
	if u := s.dir.users[from.User]; u != nil && u.pushName != "" {
		attrs["notify"] = u.pushName
	}
	s.dir.mu.Unlock()
	return waBinary.Node{Tag: "message", Attrs: attrs, Content: content}
}

func (s *Server) messageRecord(from types.JID, out waBinary.Node) Relayed {
	ag := out.AttrGetter()
	rec := Relayed{Tag: "message", ID: ag.OptionalString("id"), Type: ag.OptionalString("type"), From: from}
	if chat, ok := out.Attrs["from"].(types.JID); ok && chat.Server == types.GroupServer {
		rec.Chat = chat
	}
	return rec
}

// extraChildren returns what a client's message carries besides its
// payloads (<device-identity>, <meta>, <biz>, …), relayed to every device.
func extraChildren(n *waBinary.Node) []waBinary.Node {
	var out []waBinary.Node
	for _, child := range n.GetChildren() {
		switch child.Tag {
		case "participants", "enc", "phash", "reporting":
		default:
			out = append(out, child)
		}
	}
	return out
}
