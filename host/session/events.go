package session

import (
	"context"
	"fmt"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/executor"
)

// onEvent is the whatsmeow event handler of client cl. It runs on
// whatsmeow's goroutines, so it only reads what the event needs from the
// client and queues a job.
func (s *session) onEvent(cl *client, evt any) {
	var run func(ctx context.Context)
	droppable := false
	switch e := evt.(type) {
	case *events.Connected:
		jid, push := cl.wa.Store.GetJID(), cl.wa.Store.PushName
		run = func(ctx context.Context) { s.connected(ctx, cl, jid, push) }
	case *events.PairSuccess:
		run = func(ctx context.Context) { s.paired(ctx, cl, e) }
	case *events.QR:
		run = func(ctx context.Context) { s.qrCodes(ctx, cl, e.Codes) }
	case *events.Disconnected:
		run = func(ctx context.Context) { s.disconnected(ctx, cl) }
	case *events.KeepAliveTimeout:
		droppable = true
		run = func(ctx context.Context) { s.keepAliveTimeout(ctx, cl, e) }
	case *events.KeepAliveRestored:
		s.log.Info("keepalive answered again")
		return
	default:
		if _, ok := classify(evt); !ok {
			return
		}
		run = func(ctx context.Context) { s.drop(ctx, cl, evt) }
	}
	s.enqueue(job{run: run, droppable: droppable})
}

// currentLocked returns the connection an event of cl is about, nil when
// the event is stale: cl was replaced, or the host ended the connection.
func (s *session) currentLocked(cl *client) *conn {
	if s.cli != cl {
		return nil
	}
	return s.conn
}

func (s *session) connected(ctx context.Context, cl *client, jid types.JID, push string) {
	if !s.m.owns(s.id) {
		// The lease went while the login ran: another host drives the
		// instance now, and two connections of a device would be
		// replaced by WhatsApp.
		s.log.InfoContext(ctx, "closing a login that finished after the instance moved to another host", "jid", jid)
		s.stop()
		return
	}
	s.mu.Lock()
	c := s.currentLocked(cl)
	if c == nil || c.reported {
		s.mu.Unlock()
		return
	}
	c.phase, c.openedAt = abi.PhaseOpen, s.m.cfg.Clock.Now()
	s.stopQRLocked()
	s.inactivity.cancel()
	s.inactivity, s.qrCount = nil, 0
	if !jid.IsEmpty() {
		s.jid = jid
	}
	s.state.JID, s.state.PushName = s.jid.String(), push
	s.setPhaseLocked(abi.PhaseOpen)
	ep := c.proxy
	s.mu.Unlock()
	if !ep.IsZero() {
		s.proxyOutcome(ep, nil)
	}

	inst, err := s.m.handler.HandleConnected(ctx, s.id, executor.Opened{JID: jid.String(), PushName: push, Proxy: ep.ID()})
	if err != nil {
		s.log.ErrorContext(ctx, "recording a login failed", "jid", jid, "error", err)
		return
	}
	s.log.InfoContext(ctx, "session open", "instance", inst.Name, "jid", jid, "proxy", ep.ID())
}

func (s *session) paired(ctx context.Context, cl *client, e *events.PairSuccess) {
	s.mu.Lock()
	if s.cli != cl {
		s.mu.Unlock()
		return
	}
	// whatsmeow has saved the device: whatever happens to the connection,
	// the instance is now paired with it.
	s.jid, s.fresh = e.ID, false
	s.state.JID = e.ID.String()
	s.stopQRLocked()
	s.inactivity.cancel()
	s.inactivity, s.qrCount = nil, 0
	if c := s.conn; c != nil && !c.reported {
		c.phase = abi.PhaseConnecting
		s.setPhaseLocked(abi.PhaseConnecting)
	}
	s.mu.Unlock()

	if err := s.m.handler.HandlePaired(ctx, s.id, e.ID.String()); err != nil {
		s.log.ErrorContext(ctx, "recording a pairing failed", "jid", e.ID, "error", err)
		return
	}
	s.log.InfoContext(ctx, "paired", "jid", e.ID, "platform", e.Platform, "business", e.BusinessName)
}

// drop reports an event that ends the connection or stands for its end.
func (s *session) drop(ctx context.Context, cl *client, evt any) {
	ev, _ := classify(evt)
	s.mu.Lock()
	c := s.currentLocked(cl)
	if c == nil || c.reported {
		s.mu.Unlock()
		s.log.DebugContext(ctx, "event after the drop was reported", "event", ev.Raw)
		return
	}
	closeClient := false
	switch evt.(type) {
	case *events.LoggedOut:
		// whatsmeow deletes the device itself, concurrently with this
		// event: never touch it again, and keep its JID for ResetSession.
		if !s.jid.IsEmpty() {
			s.deleted = s.jid
		}
		s.stale, s.fresh = true, true
		s.state.JID = ""
	case *events.ManualLoginReconnect:
		// whatsmeow leaves the socket open, but the server closes it
		// after its <stream:error code="515">: closing it here too would
		// race with whatsmeow's own close (see conn.closing). The next
		// Connect, or the stop, waits for that close, and closes the
		// socket itself only if the server kept it open.
	case *events.QRScannedWithoutMultidevice:
		// whatsmeow leaves the socket open and the server keeps it; the
		// policy reconnects or ends the session, either way on a closed
		// socket.
		closeClient, c.closed = true, true
	case *events.PairError:
		c.closed = true // whatsmeow disconnected before dispatching it
	}
	rep := s.reportLocked(c, ev)
	s.mu.Unlock()
	if closeClient {
		cl.wa.Disconnect()
	}
	s.deliver(ctx, rep)
}

// disconnected handles events.Disconnected: the socket closed without
// whatsmeow expecting it. When whatsmeow's log explained it, the
// explanation is reported at once; otherwise the close waits for the
// grace, in case its explanation is still on its way.
func (s *session) disconnected(ctx context.Context, cl *client) {
	readErr, failure, stream503 := cl.hints.take()
	s.mu.Lock()
	c := s.currentLocked(cl)
	if c != nil {
		c.closed = true // whatsmeow forgot the socket before dispatching
	}
	if c == nil || c.reported || c.pending != nil {
		s.mu.Unlock()
		return
	}
	if ev, ok := silentClose(failure, stream503); ok {
		rep := s.reportLocked(c, withReadError(ev, readErr))
		s.mu.Unlock()
		s.deliver(ctx, rep)
		return
	}
	ev, _ := classify(&events.Disconnected{})
	ev = withReadError(ev, readErr)
	c.pending = &ev
	c.grace = s.afterLocked(s.m.cfg.DisconnectGrace, func(ctx context.Context, t *timer) {
		s.mu.Lock()
		if s.conn != c || c.grace != t || c.reported || c.pending == nil {
			s.mu.Unlock()
			return
		}
		rep := s.reportLocked(c, *c.pending)
		s.mu.Unlock()
		s.deliver(ctx, rep)
	})
	s.mu.Unlock()
}

// keepAliveTimeout drops the connection once pings have gone unanswered
// for longer than Config.KeepAliveLimit; whatsmeow, with its reconnects
// off, would only keep reporting them.
func (s *session) keepAliveTimeout(ctx context.Context, cl *client, e *events.KeepAliveTimeout) {
	limit := s.m.cfg.KeepAliveLimit
	silent := time.Since(e.LastSuccess) // whatsmeow's own clock
	if limit < 0 || silent < limit {
		s.log.WarnContext(ctx, "keepalive unanswered", "errors", e.ErrorCount, "silent_for", silent.Round(time.Millisecond))
		return
	}
	s.mu.Lock()
	c := s.currentLocked(cl)
	if c == nil || c.reported {
		s.mu.Unlock()
		return
	}
	ev, _ := classify(e)
	rep := s.reportLocked(c, ev)
	c.closed = true
	s.mu.Unlock()
	cl.wa.Disconnect()
	s.deliver(ctx, rep)
}

// inactive fires InactivityTimeout: the login did not pair in time. The
// login is over even when its latest connection already dropped and a
// reconnect is pending, so it is reported either way.
func (s *session) inactive(ctx context.Context, t *timer) {
	s.mu.Lock()
	if s.inactivity != t {
		s.mu.Unlock()
		return
	}
	s.inactivity = nil
	c, cl := s.conn, s.cli
	if c == nil {
		s.mu.Unlock()
		return
	}
	open := !c.reported
	if open {
		c.closed = true
	}
	d := s.m.cfg.InactivityTimeout
	rep := s.reportLocked(c, abi.Event{
		Kind: abi.KindQRLimit, Code: abi.CodeConnectionClosed, Cause: abi.CauseNone,
		Raw: "inactivity timeout", Message: fmt.Sprintf("not paired within %s of the login's start", d),
	})
	s.mu.Unlock()
	if open && cl != nil {
		cl.wa.Disconnect()
	}
	s.deliver(ctx, rep)
}

// reportLocked marks c as dropped with ev and returns the report to
// deliver once s.mu is released.
func (s *session) reportLocked(c *conn, ev abi.Event) executor.Report {
	c.reported, c.pending = true, nil
	c.grace.cancel()
	c.grace = nil
	rep := executor.Report{Event: ev, Phase: c.phase, Proxy: c.proxy.ID()}
	if !c.openedAt.IsZero() {
		rep.ConnectedFor = s.m.cfg.Clock.Now().Sub(c.openedAt)
	}
	s.stopQRLocked()
	s.setPhaseLocked("")
	return rep
}

// deliver hands a drop to the Handler.
func (s *session) deliver(ctx context.Context, rep executor.Report) {
	ev := &rep.Event
	s.log.InfoContext(ctx, "session dropped", "kind", ev.Kind, "code", ev.Code, "cause", ev.Cause,
		"phase", rep.Phase, "proxy", rep.Proxy, "connected_for", rep.ConnectedFor, "message", ev.Message)
	if _, err := s.m.handler.HandleDisconnect(ctx, s.id, rep); err != nil {
		s.log.ErrorContext(ctx, "handling a drop failed", "kind", ev.Kind, "code", ev.Code, "error", err)
	}
}

// qrCodes starts showing the codes of a pair-device request.
func (s *session) qrCodes(ctx context.Context, cl *client, codes []string) {
	s.mu.Lock()
	c := s.currentLocked(cl)
	if c == nil || c.reported || (c.phase != abi.PhaseQR && c.phase != abi.PhasePairing) || len(codes) == 0 {
		s.mu.Unlock()
		return
	}
	if !c.qrSeen {
		c.qrSeen = true
		close(c.qrReady)
	}
	s.qr.timer.cancel()
	s.qr = qrFlow{codes: codes}
	flow := s.qr.codes
	s.mu.Unlock()
	s.showQR(ctx, cl, c, flow)
}

// showQR shows the flow's next code and arms the timer of the one after.
func (s *session) showQR(ctx context.Context, cl *client, c *conn, flow []string) {
	s.mu.Lock()
	if s.currentLocked(cl) != c || c.reported || !sameFlow(s.qr.codes, flow) {
		s.mu.Unlock()
		return
	}
	i := s.qr.next
	code := flow[i]
	s.mu.Unlock()

	ok, err := s.m.handler.HandleQR(ctx, s.id, executor.QRCode{Code: code, PNG: dataURL(code)})
	if err != nil {
		// The code was not recorded; showing it anyway keeps the login
		// going, and the QR limit still holds on the stored count.
		s.log.ErrorContext(ctx, "recording a QR code failed", "error", err)
		ok = true
	}

	s.mu.Lock()
	if s.currentLocked(cl) != c || c.reported || !sameFlow(s.qr.codes, flow) || s.qr.next != i {
		s.mu.Unlock()
		return
	}
	if !ok {
		s.log.InfoContext(ctx, "QR code limit reached; login stopped", "shown", s.qrCount)
		stopped, wait := s.stopLocked()
		s.mu.Unlock()
		disconnect(stopped, wait)
		return
	}
	s.qrCount++
	s.lastQR = QR{Code: code, Count: s.qrCount, At: s.m.cfg.Clock.Now()}
	s.qr.timer = s.afterLocked(qrTimeout(i, len(flow)), func(ctx context.Context, t *timer) {
		s.nextQR(ctx, cl, c, flow, t)
	})
	s.mu.Unlock()
}

// nextQR moves to the next code when the shown one expires; after the
// last one the login attempt is over (abi.KindQRTimeout).
func (s *session) nextQR(ctx context.Context, cl *client, c *conn, flow []string, t *timer) {
	s.mu.Lock()
	if s.currentLocked(cl) != c || c.reported || s.qr.timer != t {
		s.mu.Unlock()
		return
	}
	s.qr.timer = nil
	s.qr.next++
	if s.qr.next < len(flow) {
		s.mu.Unlock()
		s.showQR(ctx, cl, c, flow)
		return
	}
	rep := s.reportLocked(c, abi.Event{
		Kind: abi.KindQRTimeout, Code: abi.CodeTimedOut, Cause: abi.CauseNone,
		Raw:     "qr codes exhausted",
		Message: fmt.Sprintf("none of the %d QR codes of this login attempt was scanned", len(flow)),
	})
	c.closed = true
	s.mu.Unlock()
	cl.wa.Disconnect()
	s.deliver(ctx, rep)
}

// sameFlow reports whether a and b are the same pair-device request.
func sameFlow(a, b []string) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}
