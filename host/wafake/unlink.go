package wafake

import (
	"go.mau.fi/whatsmeow/types"
)

// RemoveDevice unlinks dev as the phone would: its keys and queue are
// dropped, its live connection gets <stream:error code="401"><conflict
// type="device_removed"/></stream:error> (events.LoggedOut, and whatsmeow
// deletes its store), its later logins get <failure reason="401"/>, and
// every other device is told the device list changed.
func (s *Server) RemoveDevice(dev types.JID) {
	s.dir.mu.Lock()
	s.dir.removed[dev] = true
	delete(s.dir.keys, dev)
	delete(s.dir.pending, dev)
	c := s.dir.online[dev]
	delete(s.dir.online, dev)
	s.dir.mu.Unlock()
	if c != nil && s.track() {
		go func() {
			defer s.wg.Done()
			if err := DeviceRemoved()(c.ctx, c); err != nil {
				s.cfg.Logger.Debug("unlinking a connected device", "device", dev, "err", err)
			}
		}()
	}
	s.notifyDevicesChanged(dev)
}

// Removed reports whether dev was unlinked with RemoveDevice.
func (s *Server) Removed(dev types.JID) bool {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	return s.dir.removed[dev]
}
