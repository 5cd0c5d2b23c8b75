package wafake

import (
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// ServerPreKeyCount is the prekey count the fake reports to the client's
// "encrypt" count query: enough that a client whose store also holds
// enough uploaded prekeys (whatsmeow.MinPreKeyCount) skips the upload.
const ServerPreKeyCount = 50

// IQHandler answers one <iq> request from the client. It returns the
// reply to send, or nil to leave the request unanswered (the client then
// times out, which is how IgnorePings makes keepalives fail).
type IQHandler func(req *waBinary.Node) *waBinary.Node

// HandleIQ makes h answer the client's <iq> requests with the given
// xmlns on this connection, replacing the default answer; a nil h
// restores the default. By default every get or set is answered with an
// empty result, except:
//   - "encrypt" <count/>: <count value=ServerPreKeyCount/>
//   - "usync": an empty <usync><list/></usync>
func (c *Conn) HandleIQ(xmlns string, h IQHandler) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h == nil {
		delete(c.iqHandlers, xmlns)
		return
	}
	if c.iqHandlers == nil {
		c.iqHandlers = make(map[string]IQHandler)
	}
	c.iqHandlers[xmlns] = h
}

// IgnorePings leaves the client's keepalive pings (xmlns "w:p")
// unanswered on this connection, so whatsmeow emits
// events.KeepAliveTimeout after whatsmeow.KeepAliveResponseDeadline.
func (c *Conn) IgnorePings() {
	c.HandleIQ("w:p", func(*waBinary.Node) *waBinary.Node { return nil })
}

// ResultNode returns an <iq type="result"> answering req, with children.
func ResultNode(req *waBinary.Node, children ...waBinary.Node) waBinary.Node {
	n := waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{
		"id":   req.Attrs["id"],
		"type": "result",
		"from": types.ServerJID,
	}}
	if len(children) > 0 {
		n.Content = children
	}
	return n
}

// answer replies to a get or set <iq> from the client.
func (c *Conn) answer(req *waBinary.Node) error {
	if req.Tag != "iq" {
		return nil
	}
	ag := req.AttrGetter()
	typ, xmlns := ag.OptionalString("type"), ag.OptionalString("xmlns")
	if typ != "get" && typ != "set" {
		return nil
	}
	c.mu.Lock()
	h := c.iqHandlers[xmlns]
	c.mu.Unlock()
	if h == nil {
		h = defaultIQAnswer
	}
	resp := h(req)
	if resp == nil {
		return nil
	}
	return c.Send(c.ctx, *resp)
}

func defaultIQAnswer(req *waBinary.Node) *waBinary.Node {
	var resp waBinary.Node
	switch req.AttrGetter().OptionalString("xmlns") {
	case "encrypt":
		if _, ok := req.GetOptionalChildByTag("count"); ok {
			resp = ResultNode(req, waBinary.Node{Tag: "count", Attrs: waBinary.Attrs{"value": ServerPreKeyCount}})
			break
		}
		resp = ResultNode(req)
	case "usync":
		resp = ResultNode(req, waBinary.Node{Tag: "usync", Content: []waBinary.Node{{Tag: "list"}}})
	default:
		resp = ResultNode(req)
	}
	return &resp
}
