package wafake

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// deviceKeys is what one device uploaded with its "encrypt" set iq: the
// material of the prekey bundles others fetch to open a Signal session.
type deviceKeys struct {
	registration []byte          // 4 bytes, big-endian registration id
	identity     []byte          // 32-byte identity public key
	signed       waBinary.Node   // <skey><id/><value/><signature/></skey>
	oneTime      []waBinary.Node // <key><id/><value/></key>, consumed first to last
}

// parseKeyUpload reads <iq xmlns=encrypt type=set> with <registration>,
// <type>, <identity>, <list> of <key> and <skey>.
func parseKeyUpload(req *waBinary.Node) (*deviceKeys, error) {
	reg, _ := req.GetChildByTag("registration").Content.([]byte)
	ident, _ := req.GetChildByTag("identity").Content.([]byte)
	if len(reg) != 4 || len(ident) != 32 {
		return nil, errors.New("prekey upload: bad registration or identity")
	}
	skey, ok := req.GetOptionalChildByTag("skey")
	if !ok || !validKeyNode(skey, true) {
		return nil, errors.New("prekey upload: bad signed prekey")
	}
	k := &deviceKeys{registration: bytes.Clone(reg), identity: bytes.Clone(ident), signed: cloneKeyNode(skey)}
	list := req.GetChildByTag("list")
	for _, key := range list.GetChildren() {
		if key.Tag != "key" || !validKeyNode(key, false) {
			return nil, fmt.Errorf("prekey upload: bad one-time key <%s>", key.Tag)
		}
		k.oneTime = append(k.oneTime, cloneKeyNode(key))
	}
	return k, nil
}

func validKeyNode(n waBinary.Node, signed bool) bool {
	id, _ := n.GetChildByTag("id").Content.([]byte)
	val, _ := n.GetChildByTag("value").Content.([]byte)
	if len(id) != 3 || len(val) != 32 {
		return false
	}
	sig, _ := n.GetChildByTag("signature").Content.([]byte)
	return !signed || len(sig) == 64
}

func cloneKeyNode(n waBinary.Node) waBinary.Node {
	children := make([]waBinary.Node, 0, 3)
	for _, tag := range []string{"id", "value", "signature"} {
		if c, ok := n.GetOptionalChildByTag(tag); ok {
			b, _ := c.Content.([]byte)
			children = append(children, waBinary.Node{Tag: tag, Content: bytes.Clone(b)})
		}
	}
	return waBinary.Node{Tag: n.Tag, Content: children}
}

// merge adds a later upload: new identity material replaces the old, new
// one-time keys join the unconsumed ones (by id, without duplicates).
func (k *deviceKeys) merge(up *deviceKeys) {
	k.registration, k.identity, k.signed = up.registration, up.identity, up.signed
	for _, key := range up.oneTime {
		id := key.GetChildByTag("id").Content.([]byte)
		if !slices.ContainsFunc(k.oneTime, func(o waBinary.Node) bool {
			return bytes.Equal(o.GetChildByTag("id").Content.([]byte), id)
		}) {
			k.oneTime = append(k.oneTime, key)
		}
	}
}

// bundleLocked returns the <user> bundle of dev for a key fetch, consuming
// one one-time key; with none left the bundle has the signed prekey only.
func (k *deviceKeys) bundleLocked(dev types.JID) waBinary.Node {
	children := []waBinary.Node{
		{Tag: "registration", Content: k.registration},
		{Tag: "type", Content: []byte{5}}, // ecc.DjbType
		{Tag: "identity", Content: k.identity},
	}
	if len(k.oneTime) > 0 {
		children = append(children, k.oneTime[0])
		k.oneTime = k.oneTime[1:]
	}
	children = append(children, k.signed)
	return waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": dev}, Content: children}
}

// answerEncrypt answers the "encrypt" iqs: a key upload (set), the count
// of one-time keys stored for the asking device (see
// Config.FullInitialUpload for a device that has stored none), and bundle
// fetches.
func (s *Server) answerEncrypt(c *Conn, req *waBinary.Node) waBinary.Node {
	dev := c.DeviceJID()
	if req.AttrGetter().OptionalString("type") == "set" {
		up, err := parseKeyUpload(req)
		if err != nil || dev.IsEmpty() {
			return ErrorNode(req, 400, "bad-request")
		}
		s.storeKeys(dev, up)
		return ResultNode(req)
	}
	if _, ok := req.GetOptionalChildByTag("count"); ok {
		s.dir.mu.Lock()
		n := 0
		if k := s.dir.keys[dev]; k != nil {
			n = len(k.oneTime)
		} else if !s.cfg.FullInitialUpload {
			// Nothing stored yet: "almost out" makes whatsmeow upload a
			// normal batch of 50, where 0 would make a fresh device
			// generate and upload 812 (about a second per login).
			n = whatsmeow.MinPreKeyCount - 1
		}
		s.dir.mu.Unlock()
		return ResultNode(req, waBinary.Node{Tag: "count", Attrs: waBinary.Attrs{"value": n}})
	}
	keyNode, ok := req.GetOptionalChildByTag("key")
	if !ok {
		return ResultNode(req)
	}
	var users []waBinary.Node
	s.dir.mu.Lock()
	for _, u := range keyNode.GetChildren() {
		jid, ok := u.Attrs["jid"].(types.JID)
		if u.Tag != "user" || !ok {
			continue
		}
		if k := s.dir.keys[jid]; k != nil {
			users = append(users, k.bundleLocked(jid))
			continue
		}
		users = append(users, waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid},
			Content: []waBinary.Node{{Tag: "error", Attrs: waBinary.Attrs{"code": 404, "text": "item-not-found"}}}})
	}
	s.dir.mu.Unlock()
	return ResultNode(req, waBinary.Node{Tag: "list", Content: users})
}

// storeKeys records a device's key upload; the first one makes the device
// visible to usync, and every other device is told its list changed.
func (s *Server) storeKeys(dev types.JID, up *deviceKeys) {
	s.dir.mu.Lock()
	s.dir.userLocked(dev, true)
	k, had := s.dir.keys[dev]
	if had {
		k.merge(up)
	} else {
		s.dir.keys[dev] = up
	}
	s.dir.mu.Unlock()
	if !had {
		s.notifyDevicesChanged(dev)
	}
}

// PreKeyCount returns how many one-time prekeys of dev the server holds
// (each bundle fetched by another device consumes one); -1 when dev has
// uploaded no keys.
func (s *Server) PreKeyCount(dev types.JID) int {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	if k := s.dir.keys[dev]; k != nil {
		return len(k.oneTime)
	}
	return -1
}
