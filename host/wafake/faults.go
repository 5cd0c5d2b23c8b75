package wafake

import (
	"bytes"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// ReplaceGrace is how long a new connection of a device waits for the
// device's older connection to end by itself (a client that left and came
// straight back) before the older one is replaced as a conflict.
const ReplaceGrace = 500 * time.Millisecond

// faults are the failures the relay plays for one device.
type faults struct {
	dropAcks bool // never ack the device's messages
	ackError int  // ack the device's messages with this error code, relaying nothing
	corrupt  int  // garble the next this many messages written to the device
	paused   bool // queue everything for the device, even when online
}

func (d *directory) faultsLocked(dev types.JID) *faults {
	f := d.faults[dev]
	if f == nil {
		f = &faults{}
		d.faults[dev] = f
	}
	return f
}

// DropAcks makes the server relay dev's messages without acknowledging
// them (on) or acknowledge them again (off): whatsmeow's SendMessage then
// waits for SendRequestExtra.Timeout and fails with ErrMessageTimedOut.
func (s *Server) DropAcks(dev types.JID, on bool) {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	s.dir.faultsLocked(dev).dropAcks = on
}

// AckError makes the server answer dev's messages with an ack carrying
// the error code, relaying nothing (whatsmeow's SendMessage fails with
// ErrServerReturnedError); 0 restores normal acks.
func (s *Server) AckError(dev types.JID, code int) {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	s.dir.faultsLocked(dev).ackError = code
}

// CorruptNext garbles the ciphertext of the next n messages written to
// dev: whatsmeow emits events.UndecryptableMessage and sends a retry
// receipt, which the relay takes to the sender, who encrypts again.
func (s *Server) CorruptNext(dev types.JID, n int) {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	s.dir.faultsLocked(dev).corrupt = n
}

// PauseRelay stops writing anything to dev (on): messages, receipts and
// notifications for it are queued silently while its connection stays
// up. Off writes the queue, in order, and relays normally again.
func (s *Server) PauseRelay(dev types.JID, on bool) {
	s.dir.mu.Lock()
	s.dir.faultsLocked(dev).paused = on
	c := s.dir.online[dev]
	s.dir.mu.Unlock()
	if on || c == nil {
		return
	}
	c.relayMu.Lock()
	defer c.relayMu.Unlock()
	s.dir.mu.Lock()
	backlog := s.dir.pending[dev]
	delete(s.dir.pending, dev)
	s.dir.mu.Unlock()
	if err := s.flushLocked(c, dev, backlog); err != nil {
		s.cfg.Logger.Debug("resuming relay failed", "to", dev, "err", err)
	}
}

// corrupt returns a copy of a message whose every <enc> has one byte of
// its authenticated payload flipped, so that decryption fails.
func corrupt(n waBinary.Node) waBinary.Node {
	children := n.GetChildren()
	out := make([]waBinary.Node, len(children))
	for i, child := range children {
		out[i] = child
		if b, ok := child.Content.([]byte); ok && child.Tag == "enc" && len(b) > 0 {
			garbled := bytes.Clone(b)
			garbled[max(0, len(garbled)-12)] ^= 0xff
			out[i].Content = garbled
		}
	}
	n.Content = out
	return n
}

// Connections returns how many connections device dev has opened (whose
// handshake completed).
func (s *Server) Connections(dev types.JID) int {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	return s.dir.conns[dev]
}

// Conflicts returns how many connections were replaced because the same
// device (JID and noise key) connected again while they were open, as WhatsApp does with
// <stream:error><conflict type="replaced"/></stream:error> (code 440 to
// Baileys-based systems). A fleet that never runs a device twice keeps it
// at zero.
func (s *Server) Conflicts() int {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	return s.dir.conflicts
}

// replaceOlder counts c's connection for its device and replaces the
// device's older connection (same JID and same noise key: the same
// credentials) if it is still open after ReplaceGrace: that one gets <stream:error><conflict type="replaced"/></stream:error>
// (events.StreamReplaced) and is closed.
func (s *Server) replaceOlder(c *Conn) {
	dev := c.DeviceJID()
	if dev.IsEmpty() {
		return
	}
	s.dir.mu.Lock()
	s.dir.conns[dev]++
	old := s.dir.live[dev]
	s.dir.live[dev] = c
	s.dir.mu.Unlock()
	if old == nil || old.ending.Load() || old.clientStatic != c.clientStatic {
		// Another store claiming the same JID (a test linking a new
		// Phone for the same number) is not the same device.
		return
	}
	timer := time.NewTimer(ReplaceGrace)
	defer timer.Stop()
	select {
	case <-old.Done():
		return
	case <-c.Done():
		return
	case <-timer.C:
	}
	if old.ending.Load() || !s.track() {
		return
	}
	s.dir.mu.Lock()
	s.dir.conflicts++
	s.dir.mu.Unlock()
	go func() {
		defer s.wg.Done()
		if err := StreamReplaced()(old.ctx, old); err != nil {
			s.cfg.Logger.Debug("replacing an older connection", "device", dev, "err", err)
		}
	}()
}
