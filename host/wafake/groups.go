package wafake

import (
	"fmt"
	"slices"
	"strconv"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// group is a group chat made with CreateGroup.
type group struct {
	jid          types.JID
	subject      string
	creator      types.JID
	created      int64
	participants []types.JID // user JIDs; the first is the creator
}

// CreateGroup makes a phone-number-addressed group of the given users
// (the first is its creator and super admin; each is registered) and
// returns its JID. whatsmeow clients of the members learn about it from
// its w:g2 info query when they send, and from messages when they receive.
func (s *Server) CreateGroup(subject string, participants ...types.JID) (types.JID, error) {
	if len(participants) == 0 {
		return types.EmptyJID, fmt.Errorf("creating group %q: no participants", subject)
	}
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	g := &group{subject: subject, created: s.cfg.Now().Unix()}
	g.jid = types.NewJID(fmt.Sprintf("120363%012d", s.dir.nextIDLocked()), types.GroupServer)
	for _, p := range participants {
		p = p.ToNonAD()
		if p.Server != types.DefaultUserServer {
			return types.EmptyJID, fmt.Errorf("creating group %q: %s is not a phone-number user", subject, p)
		}
		if !slices.Contains(g.participants, p) {
			g.participants = append(g.participants, p)
			s.dir.userLocked(p, true)
		}
	}
	g.creator = g.participants[0]
	s.dir.groups[g.jid] = g
	return g.jid, nil
}

// answerGroup answers a w:g2 group info query (<query request=…/>) with
// the group's subject and participants; 404 for an unknown group and 403
// for one the asking user is not in.
func (s *Server) answerGroup(c *Conn, req *waBinary.Node) waBinary.Node {
	gid, _ := req.Attrs["to"].(types.JID)
	if _, ok := req.GetOptionalChildByTag("query"); !ok || gid.Server != types.GroupServer {
		return ResultNode(req)
	}
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	g := s.dir.groups[gid]
	if g == nil {
		return ErrorNode(req, 404, "item-not-found")
	}
	if !slices.Contains(g.participants, c.DeviceJID().ToNonAD()) {
		return ErrorNode(req, 403, "forbidden")
	}
	var parts []waBinary.Node
	for _, p := range g.participants {
		attrs := waBinary.Attrs{"jid": p}
		if p == g.creator {
			attrs["type"] = "superadmin"
		}
		parts = append(parts, waBinary.Node{Tag: "participant", Attrs: attrs})
	}
	resp := ResultNode(req, waBinary.Node{Tag: "group", Attrs: waBinary.Attrs{
		"id":       gid.User,
		"creator":  g.creator,
		"creation": strconv.FormatInt(g.created, 10),
		"subject":  g.subject,
		"s_t":      strconv.FormatInt(g.created, 10),
		"s_o":      g.creator,
		"size":     strconv.Itoa(len(g.participants)),
	}, Content: parts})
	resp.Attrs["from"] = gid
	return resp
}

// relayGroupMessage relays a group message to every device of every
// member except the sending one: <message from=GID participant=SENDER>
// with that device's pairwise <enc> (the sender key distribution) if the
// sender made one, the <enc type=skmsg>, then the other children. A
// resend carrying participant goes to that device only. It returns an ack
// error code for a group that does not exist or a sender not in it.
func (s *Server) relayGroupMessage(from, gid types.JID, n *waBinary.Node) int {
	s.dir.mu.Lock()
	g := s.dir.groups[gid]
	var members []types.JID
	if g != nil {
		members = slices.Clone(g.participants)
	}
	s.dir.mu.Unlock()
	switch {
	case g == nil:
		return 404
	case !slices.Contains(members, from.ToNonAD()):
		return 403
	}
	if target, ok := n.Attrs["participant"].(types.JID); ok {
		out := s.groupOutgoing(from, gid, n, n.GetChildren())
		s.deliver(target, out, s.messageRecord(from, out))
		return 0
	}
	pairwise := map[types.JID][]waBinary.Node{}
	participants, _ := n.GetOptionalChildByTag("participants")
	for _, to := range participants.GetChildren() {
		if dev, ok := to.Attrs["jid"].(types.JID); ok && to.Tag == "to" {
			pairwise[dev] = to.GetChildren()
		}
	}
	var shared []waBinary.Node
	for _, child := range n.GetChildren() {
		if child.Tag == "enc" {
			shared = append(shared, child)
		}
	}
	shared = append(shared, extraChildren(n)...)
	for _, member := range members {
		for _, dev := range s.Devices(member) {
			if dev == from {
				continue
			}
			out := s.groupOutgoing(from, gid, n, slices.Concat(pairwise[dev], shared))
			s.deliver(dev, out, s.messageRecord(from, out))
		}
	}
	return 0
}

// groupOutgoing builds the <message from=GID participant=SENDER> a member
// device gets.
func (s *Server) groupOutgoing(from, gid types.JID, n *waBinary.Node, content []waBinary.Node) waBinary.Node {
	out := s.outgoing(from, n, content)
	out.Attrs["from"] = gid
	out.Attrs["participant"] = from
	return out
}
