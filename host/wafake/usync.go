package wafake

import (
	"slices"
	"strconv"
	"strings"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// answerUsync answers a usync query for each listed user: its devices
// (those with uploaded keys, never the asking device), whether a phone
// number is registered (<contact>, for IsOnWhatsApp) and its profile
// picture id. Other query parts are answered empty.
func (s *Server) answerUsync(c *Conn, req *waBinary.Node) waBinary.Node {
	usync := req.GetChildByTag("usync")
	want := map[string]bool{}
	query, list := usync.GetChildByTag("query"), usync.GetChildByTag("list")
	for _, q := range query.GetChildren() {
		want[q.Tag] = true
	}
	asker := c.DeviceJID()
	var out []waBinary.Node
	s.dir.mu.Lock()
	for _, u := range list.GetChildren() {
		if u.Tag != "user" {
			continue
		}
		if n, ok := s.usyncUserLocked(u, want, asker); ok {
			out = append(out, n)
		}
	}
	s.dir.mu.Unlock()
	return ResultNode(req, waBinary.Node{
		Tag:   "usync",
		Attrs: waBinary.Attrs{"sid": usync.Attrs["sid"], "mode": usync.Attrs["mode"], "last": "true", "index": "0"},
		Content: []waBinary.Node{
			{Tag: "result"},
			{Tag: "list", Content: out},
		},
	})
}

func (s *Server) usyncUserLocked(u waBinary.Node, want map[string]bool, asker types.JID) (waBinary.Node, bool) {
	jid, hasJID := u.Attrs["jid"].(types.JID)
	var children []waBinary.Node
	if contact, ok := u.GetOptionalChildByTag("contact"); ok {
		query := contentString(contact.Content)
		number := normalizePhone(strings.TrimSuffix(query, "@"+types.LegacyUserServer))
		if number == "" {
			return waBinary.Node{}, false
		}
		jid, hasJID = types.NewJID(number, types.DefaultUserServer), true
		typ := "out"
		if s.dir.users[number] != nil {
			typ = "in"
		}
		children = append(children, waBinary.Node{Tag: "contact", Attrs: waBinary.Attrs{"type": typ}, Content: []byte(query)})
	}
	if !hasJID || jid.Server != types.DefaultUserServer {
		return waBinary.Node{}, false
	}
	jid = jid.ToNonAD()
	usr := s.dir.users[jid.User]
	if want["devices"] {
		if !asker.IsEmpty() {
			if s.dir.watchers[jid.User] == nil {
				s.dir.watchers[jid.User] = make(map[types.JID]bool)
			}
			s.dir.watchers[jid.User][asker] = true
		}
		var list []waBinary.Node
		if usr != nil {
			for _, dev := range s.dir.devicesLocked(jid) {
				if dev != asker {
					list = append(list, waBinary.Node{Tag: "device", Attrs: waBinary.Attrs{"id": strconv.Itoa(int(dev.Device))}})
				}
			}
		}
		children = append(children, waBinary.Node{Tag: "devices", Content: []waBinary.Node{{Tag: "device-list", Content: list}}})
	}
	if want["picture"] && usr != nil && usr.pictureID != "" {
		children = append(children, waBinary.Node{Tag: "picture", Attrs: waBinary.Attrs{"id": usr.pictureID}})
	}
	if want["status"] && usr != nil {
		children = append(children, waBinary.Node{Tag: "status"})
	}
	return waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid}, Content: children}, true
}

// contentString reads node content that the client sent as a string.
func contentString(content any) string {
	switch v := content.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case types.JID:
		return v.String()
	}
	return ""
}

// notifyDevicesChanged tells the devices that may have cached the device
// list of changed's user (those that fetched it, and the user's other
// devices) that it changed, so whatsmeow drops its cached list and asks
// again (<notification type="devices"><update/></notification>). Like
// WhatsApp, which tells contacts only, it does not tell every device.
func (s *Server) notifyDevicesChanged(changed types.JID) {
	s.dir.mu.Lock()
	targets := s.dir.devicesLocked(changed.ToNonAD())
	for dev := range s.dir.watchers[changed.User] {
		if !slices.Contains(targets, dev) && s.dir.keys[dev] != nil {
			targets = append(targets, dev)
		}
	}
	targets = slices.DeleteFunc(targets, func(dev types.JID) bool { return dev == changed })
	s.dir.mu.Unlock()
	for _, dev := range targets {
		s.deliver(dev, s.notificationNode(changed.ToNonAD(), "devices", waBinary.Node{Tag: "update", Attrs: waBinary.Attrs{"hash": ""}}),
			Relayed{Tag: "notification", Type: "devices", From: changed, To: dev})
	}
}

// notificationNode returns <notification from type id t> with children.
func (s *Server) notificationNode(from types.JID, typ string, children ...waBinary.Node) waBinary.Node {
	s.dir.mu.Lock()
	id := s.dir.nextIDLocked()
	s.dir.mu.Unlock()
	return waBinary.Node{Tag: "notification", Attrs: waBinary.Attrs{
		"from": from, "type": typ, "id": "wafake-n" + strconv.Itoa(id), "t": s.now(),
	}, Content: children}
}

// now is the server's clock as a unix timestamp attribute.
func (s *Server) now() string { return strconv.FormatInt(s.cfg.Now().Unix(), 10) }
