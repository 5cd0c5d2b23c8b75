package wafake

import (
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// relayReceipt acks a client's <receipt> and relays it: to every device of
// the user it names (the author's user in a group, from=GID
// participant=READER) except the device that sent it, or, for a retry
// receipt, to the exact device named. An "inactive" delivery receipt is
// relayed as a plain delivery receipt.
func (s *Server) relayReceipt(c *Conn, from types.JID, n *waBinary.Node) {
	ag := n.AttrGetter()
	id := ag.OptionalString("id")
	to, ok := n.Attrs["to"].(types.JID)
	if id == "" || !ok {
		return
	}
	typ := ag.OptionalString("type")
	ack := waBinary.Node{Tag: "ack", Attrs: waBinary.Attrs{"class": "receipt", "id": id, "from": to}}
	if typ != "" {
		ack.Attrs["type"] = typ
	}
	s.sendAck(c, ack)
	if typ == "inactive" {
		typ = ""
	}

	attrs := waBinary.Attrs{"id": id, "t": s.now()}
	if t, ok := n.Attrs["t"]; ok {
		attrs["t"] = t
	}
	if typ != "" {
		attrs["type"] = typ
	}
	rec := Relayed{Tag: "receipt", ID: id, Type: typ, From: from}
	target := to // the author: whose devices get it
	switch to.Server {
	case types.GroupServer:
		author, ok := n.Attrs["participant"].(types.JID)
		if !ok {
			return
		}
		attrs["from"], attrs["participant"] = to, from
		rec.Chat, target = to, author
	case types.DefaultUserServer:
		attrs["from"] = from
		if r, ok := n.Attrs["recipient"].(types.JID); ok {
			attrs["recipient"] = r
		}
	default:
		return
	}
	out := waBinary.Node{Tag: "receipt", Attrs: attrs}
	if children := n.GetChildren(); len(children) > 0 {
		out.Content = children
	}
	if typ == "retry" {
		s.deliver(target, out, rec)
		return
	}
	for _, dev := range s.Devices(target.ToNonAD()) {
		if dev != from {
			s.deliver(dev, out, rec)
		}
	}
}
