package wafake

import (
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// IQHandler answers one <iq> request from the client. It returns the
// reply to send, or nil to leave the request unanswered (the client then
// times out, which is how IgnorePings makes keepalives fail).
type IQHandler func(req *waBinary.Node) *waBinary.Node

// HandleIQ makes h answer the client's <iq> requests with the given
// xmlns on this connection, replacing the default answer; a nil h
// restores the default. By default every get or set is answered with an
// empty result, except:
//   - "encrypt": prekey upload, count (the one-time keys stored for the
//     device) and bundle fetches, from the server's key directory
//   - "usync": device lists and contact queries of registered users
//   - "w:g2": group info of groups made with Server.CreateGroup
//   - "w:m" media_conn: this server as the media host
//   - "w:profile:picture": pictures set with Server.SetProfilePicture
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
		h = c.defaultAnswer
	}
	resp := h(req)
	if resp == nil {
		return nil
	}
	return c.Send(c.ctx, *resp)
}

// defaultAnswer is the server's own answer to an <iq>: the relay's key
// directory, usync, group, media and profile-picture queries, and an
// empty result for everything else.
func (c *Conn) defaultAnswer(req *waBinary.Node) *waBinary.Node {
	var resp waBinary.Node
	switch req.AttrGetter().OptionalString("xmlns") {
	case "encrypt":
		resp = c.srv.answerEncrypt(c, req)
	case "usync":
		resp = c.srv.answerUsync(c, req)
	case "w:g2":
		resp = c.srv.answerGroup(c, req)
	case "w:m":
		resp = c.srv.answerMediaConn(req)
	case "w:profile:picture":
		resp = c.srv.answerPicture(req)
	default:
		resp = ResultNode(req)
	}
	return &resp
}

// ErrorNode returns an <iq type="error"> answering req with <error code
// text/>, which whatsmeow turns into an IQError (404 is ErrIQNotFound).
func ErrorNode(req *waBinary.Node, code int, text string) waBinary.Node {
	return waBinary.Node{
		Tag: "iq",
		Attrs: waBinary.Attrs{
			"id":   req.Attrs["id"],
			"type": "error",
			"from": types.ServerJID,
		},
		Content: []waBinary.Node{{Tag: "error", Attrs: waBinary.Attrs{"code": code, "text": text}}},
	}
}
