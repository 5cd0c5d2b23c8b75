package wafake

import (
	"slices"
	"strconv"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// RateLimit makes the server refuse a device's login that comes too soon
// after the device's previous connection ended, as WhatsApp does with a
// client that reconnects in a tight loop: a client's reconnect delay then
// decides whether it comes back or is turned away again.
type RateLimit struct {
	// Cooldown is how long after a connection of a device ends a login of
	// the device is refused; zero turns the limit off.
	Cooldown time.Duration
	// After lists the codes whose ends start a cool-down: the <failure>
	// reason or <stream:error> code the server ended the connection with,
	// "" for a drop or a close without one. Empty means every end.
	After []string
	// Code is the <failure> reason a refused login gets; zero means 503,
	// which whatsmeow reports as a bare events.Disconnected. A refusal
	// ends the connection with that code, so a client retrying too soon
	// again starts a new cool-down when After holds the code (or is
	// empty).
	Code int
}

// refusalCode is the reason a refused login gets.
func (r RateLimit) refusalCode() int {
	if r.Code == 0 {
		return 503
	}
	return r.Code
}

// connEnd is when and how a device's latest connection ended.
type connEnd struct {
	at   time.Time
	code string
}

// SetRateLimit replaces the server's rate limit (Config.RateLimit); the
// zero RateLimit turns it off. It applies to the logins that follow.
func (s *Server) SetRateLimit(r RateLimit) {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	s.dir.rateLimit = r
}

// Refusals returns how many logins the rate limit refused.
func (s *Server) Refusals() int {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	return s.dir.refusals
}

// refusal returns the failure reason a login of dev gets under the rate
// limit, or 0 when the login may proceed.
func (s *Server) refusal(dev types.JID) int {
	if dev.IsEmpty() {
		return 0
	}
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	r := s.dir.rateLimit
	end, ok := s.dir.ended[dev]
	if r.Cooldown <= 0 || !ok || (len(r.After) > 0 && !slices.Contains(r.After, end.code)) {
		return 0
	}
	if s.cfg.Now().Sub(end.at) >= r.Cooldown {
		return 0
	}
	s.dir.refusals++
	return r.refusalCode()
}

// recordEndLocked notes the end of c for its device's cool-down.
func (s *Server) recordEndLocked(c *Conn) {
	dev := c.DeviceJID()
	if dev.IsEmpty() {
		return
	}
	c.mu.Lock()
	end := c.end
	c.mu.Unlock()
	if end.at.IsZero() { // the client left
		end.at = s.cfg.Now()
	}
	s.dir.ended[dev] = end
}

// markEnd records, once, that the server ends c with code ("" for none),
// at the server's time now rather than when the connection is finally
// torn down.
func (c *Conn) markEnd(code string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.end.at.IsZero() {
		c.end = connEnd{at: c.srv.cfg.Now(), code: code}
	}
}

// endCode is the code an ending node carries: a <failure>'s reason or a
// <stream:error>'s code.
func endCode(n waBinary.Node) string {
	for _, k := range []string{"reason", "code"} {
		switch v := n.Attrs[k].(type) {
		case string:
			return v
		case int:
			return strconv.Itoa(v)
		}
	}
	return ""
}
