package session

// SocketGone returns a channel that is closed once whatsmeow has handled
// the close of the instance's latest connection, as far as the session
// knows (see hints); nil when the instance has no connection.
func SocketGone(m *Manager, instanceID string) <-chan struct{} {
	s := m.lookup(instanceID)
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.conn
	switch {
	case c == nil:
		return nil
	case c.closed:
		done := make(chan struct{})
		close(done)
		return done
	}
	return c.sockGone
}
