package wafake

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// maxRelayed bounds the records kept for AwaitRelayed; the oldest half is
// dropped when it is reached.
const maxRelayed = 8192

// Relayed records one stanza the relay wrote to a device's connection.
type Relayed struct {
	// Tag is "message", "receipt" or "notification".
	Tag string
	// ID is the stanza id: the message id for messages and receipts.
	ID string
	// Type is the stanza's type attribute ("text", "read", "retry",
	// "devices", …); empty for a delivery receipt.
	Type string
	// From is the device that sent it (the changed device for a devices
	// notification).
	From types.JID
	// To is the device it was written to.
	To types.JID
	// Chat is the group for group stanzas, else empty.
	Chat types.JID
	// Queued is set when the device was offline or paused and the stanza
	// waited for it.
	Queued bool
	// Corrupted is set when CorruptNext garbled its ciphertext.
	Corrupted bool
	// Node is what was written.
	Node waBinary.Node
}

// relayLog keeps Relayed records for AwaitRelayed.
type relayLog struct {
	records []Relayed
	base    int           // absolute index of records[0]
	changed chan struct{} // closed and replaced when a record is added
}

// queued is a stanza waiting for a device, with its record.
type queued struct {
	node waBinary.Node
	rec  Relayed
}

// deliver writes n to dev's live connection, or queues it while dev is
// offline or paused. rec describes it for AwaitRelayed.
func (s *Server) deliver(dev types.JID, n waBinary.Node, rec Relayed) {
	rec.To = dev
	s.dir.mu.Lock()
	c := s.dir.online[dev]
	if c == nil || s.dir.faultsLocked(dev).paused {
		rec.Queued = true
		s.dir.pending[dev] = append(s.dir.pending[dev], queued{n, rec})
		s.dir.mu.Unlock()
		return
	}
	s.dir.mu.Unlock()
	c.relayMu.Lock()
	defer c.relayMu.Unlock()
	if err := s.writeRelayed(c, n, rec); err != nil {
		s.cfg.Logger.Debug("relay write failed; queueing", "to", dev, "err", err)
		rec.Queued = true
		s.dir.mu.Lock()
		s.dir.pending[dev] = append(s.dir.pending[dev], queued{n, rec})
		s.dir.mu.Unlock()
	}
}

// writeRelayed applies the device's corruption fault and writes n to c;
// the caller holds c.relayMu.
func (s *Server) writeRelayed(c *Conn, n waBinary.Node, rec Relayed) error {
	if n.Tag == "message" {
		s.dir.mu.Lock()
		f := s.dir.faultsLocked(rec.To)
		if f.corrupt > 0 {
			f.corrupt--
			n, rec.Corrupted = corrupt(n), true
		}
		s.dir.mu.Unlock()
	}
	if err := c.Send(c.ctx, n); err != nil {
		return err
	}
	rec.Node = n
	s.dir.mu.Lock()
	s.dir.relayed.addLocked(rec)
	s.dir.mu.Unlock()
	return nil
}

// login makes c the live connection of its device once <success> is out:
// it writes what waited for the device, in order, then
// <ib><offline count=N/></ib>, before anything relayed later.
func (s *Server) login(ctx context.Context, c *Conn) error {
	dev := c.DeviceJID()
	if dev.IsEmpty() {
		return nil
	}
	c.relayMu.Lock()
	defer c.relayMu.Unlock()
	s.dir.mu.Lock()
	s.dir.userLocked(dev, true)
	s.dir.online[dev] = c
	var backlog []queued
	if !s.dir.faultsLocked(dev).paused {
		backlog = s.dir.pending[dev]
		delete(s.dir.pending, dev)
	}
	s.dir.mu.Unlock()
	if err := s.flushLocked(c, dev, backlog); err != nil {
		return err
	}
	ib := waBinary.Node{Tag: "ib", Attrs: waBinary.Attrs{"from": types.ServerJID},
		Content: []waBinary.Node{{Tag: "offline", Attrs: waBinary.Attrs{"count": strconv.Itoa(len(backlog))}}}}
	if err := c.Send(ctx, ib); err != nil {
		return fmt.Errorf("sending offline marker: %w", err)
	}
	return nil
}

// flushLocked writes backlog to c (its relayMu held); what cannot be
// written goes back to the front of the queue.
func (s *Server) flushLocked(c *Conn, dev types.JID, backlog []queued) error {
	for i, q := range backlog {
		if err := s.writeRelayed(c, q.node, q.rec); err != nil {
			s.dir.mu.Lock()
			s.dir.pending[dev] = append(backlog[i:len(backlog):len(backlog)], s.dir.pending[dev]...)
			s.dir.mu.Unlock()
			return fmt.Errorf("writing queued <%s> to %s: %w", q.node.Tag, dev, err)
		}
	}
	return nil
}

// logout forgets c as its device's live connection once it has ended.
func (s *Server) logout(c *Conn) {
	dev := c.DeviceJID()
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	s.recordEndLocked(c)
	if s.dir.online[dev] == c {
		delete(s.dir.online, dev)
	}
	if s.dir.live[dev] == c {
		delete(s.dir.live, dev)
	}
}

// Queued returns how many stanzas wait for dev (offline or paused).
func (s *Server) Queued(dev types.JID) int {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	return len(s.dir.pending[dev])
}

// LoggedIn returns dev's logged-in connection, nil when it has none.
func (s *Server) LoggedIn(dev types.JID) *Conn {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	return s.dir.online[dev]
}

// Online reports whether dev is logged in on a connection the relay
// writes to.
func (s *Server) Online(dev types.JID) bool {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	return s.dir.online[dev] != nil
}

func (l *relayLog) addLocked(r Relayed) {
	if len(l.records) >= maxRelayed {
		drop := len(l.records) / 2
		l.records = append([]Relayed(nil), l.records[drop:]...)
		l.base += drop
	}
	l.records = append(l.records, r)
	close(l.changed)
	l.changed = make(chan struct{})
}

// AwaitRelayed returns the first stanza relayed since the server started
// (of the last few thousand) that match accepts, waiting until ctx ends.
func (s *Server) AwaitRelayed(ctx context.Context, match func(Relayed) bool) (Relayed, error) {
	next := 0
	for {
		s.dir.mu.Lock()
		l := &s.dir.relayed
		next = max(next, l.base)
		batch := l.records[next-l.base:]
		changed := l.changed
		s.dir.mu.Unlock()
		for _, r := range batch {
			next++
			if match(r) {
				return r, nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return Relayed{}, fmt.Errorf("awaiting a relayed stanza: %w", ctx.Err())
		}
	}
}

// RelayedMessage matches the message id written to device to.
func RelayedMessage(id string, to types.JID) func(Relayed) bool {
	return func(r Relayed) bool { return r.Tag == "message" && r.ID == id && r.To == to }
}

// RelayedReceipt matches a receipt of type typ ("" for delivery) for
// message id written to device to.
func RelayedReceipt(id, typ string, to types.JID) func(Relayed) bool {
	return func(r Relayed) bool { return r.Tag == "receipt" && r.ID == id && r.Type == typ && r.To == to }
}

// Settle returns once every logged-in client has handled what was
// relayed to it before the call, and what that made the others send: it
// flushes (Conn.Flush) every live connection, twice. With whatsmeow's
// SynchronousAck set, the clients' receipts and acks are then sent, so
// the server can close without cutting a client in the middle of a write.
func (s *Server) Settle(ctx context.Context) error {
	for range 2 {
		s.dir.mu.Lock()
		conns := make([]*Conn, 0, len(s.dir.online))
		for _, c := range s.dir.online {
			conns = append(conns, c)
		}
		s.dir.mu.Unlock()
		for _, c := range conns {
			if err := c.Flush(ctx); err != nil && !errors.Is(err, ErrConnClosed) && c.ctx.Err() == nil {
				return fmt.Errorf("settling %s: %w", c.DeviceJID(), err)
			}
		}
	}
	return nil
}

// LiveConn returns dev's logged-in connection, or nil when it is offline.
func (s *Server) LiveConn(dev types.JID) *Conn {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	return s.dir.online[dev]
}
