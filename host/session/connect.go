package session

import (
	"context"
	"errors"
	"fmt"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/storage"
)

// Connect starts a login: QR codes for an unpaired instance, a login for
// a paired one. It runs on the instance's queue, after the events already
// queued, and returns once the websocket and the Noise handshake are done;
// the login's outcome arrives later, as a HandleConnected, HandleQR or
// HandleDisconnect. A failed dial or handshake is reported to the Handler
// as abi.KindConnectError and returned. It fails with ErrAlreadyConnected
// while a connection is open or being opened.
func (m *Manager) Connect(ctx context.Context, instanceID string) error {
	if m.handler == nil {
		return ErrNoHandler
	}
	if !m.owns(instanceID) {
		return fmt.Errorf("connect of %s: %w", instanceID, ErrNotOwner)
	}
	s, err := m.session(instanceID)
	if err != nil {
		return fmt.Errorf("connect of %s: %w", instanceID, err)
	}
	done := make(chan error, 1)
	s.enqueue(job{
		run: func(jctx context.Context) {
			if err := ctx.Err(); err != nil {
				done <- err
				return
			}
			done <- s.connect(jctx)
		},
		discard: func() { done <- ErrClosed },
	})
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("connect of %s: %w", instanceID, err)
	}
	return nil
}

// connect opens a connection; it runs on the queue.
func (s *session) connect(ctx context.Context) error {
	if !s.m.owns(s.id) {
		return ErrNotOwner // the lease went while the connect waited its turn
	}
	s.opMu.Lock()
	cli, err := s.clientFor(ctx, false)
	if err != nil {
		s.opMu.Unlock()
		return err
	}
	s.mu.Lock()
	switch {
	case s.gone:
		err = ErrClosed
	case s.cli != cli:
		err = ErrInterrupted // reset or recreated meanwhile
	case s.conn != nil && !s.conn.reported:
		err = ErrAlreadyConnected
	}
	if err != nil {
		s.mu.Unlock()
		s.opMu.Unlock()
		return err
	}
	var wait <-chan struct{}
	if prev := s.conn; prev != nil {
		prev.grace.cancel()
		wait = prev.closing()
	}
	paired := !s.jid.IsEmpty()
	// The dial's context becomes the parent of the connection's
	// goroutines in whatsmeow, so it must outlive the dial: it is only
	// cancelled to abort a dial in progress.
	dialCtx, cancelDial := context.WithCancel(context.Background())
	c := &conn{phase: abi.PhaseConnecting, cancelDial: cancelDial, qrReady: make(chan struct{})}
	if !paired {
		c.phase = abi.PhaseQR
		if d := s.m.cfg.InactivityTimeout; d > 0 && s.inactivity == nil {
			s.inactivity = s.afterLocked(d, s.inactive)
		}
	}
	s.conn = c
	s.stopQRLocked()
	s.setPhaseLocked(c.phase)
	s.mu.Unlock()
	s.opMu.Unlock()

	// Let whatsmeow finish closing the previous socket first, if the
	// server is closing it: its close and a new dial must not overlap.
	disconnect(nil, wait)
	// The proxy is chosen now, while no socket is open, and stays the
	// connection's until it ends.
	ep, err := s.applyProxy(ctx, cli)
	s.mu.Lock()
	if s.conn != c {
		s.mu.Unlock()
		cancelDial()
		return ErrInterrupted
	}
	c.proxy = ep
	s.state.Proxy = ep.ID()
	c.sockGone = cli.hints.arm()
	s.mu.Unlock()
	if err == nil {
		err = cli.wa.ConnectContext(dialCtx)
		if errors.Is(err, whatsmeow.ErrAlreadyConnected) {
			// A drop was reported before the server closed the old socket
			// (a stream error, a refused login): close it and dial again.
			cli.wa.Disconnect()
			err = cli.wa.ConnectContext(dialCtx)
		}
		if err != nil && !ep.IsZero() {
			s.proxyOutcome(ep, err)
		}
	}

	s.mu.Lock()
	c.cancelDial = nil
	current := s.conn == c
	var rep executor.Report
	if current && err != nil {
		rep = s.reportLocked(c, connectError(err))
		c.closed = true
	}
	s.mu.Unlock()
	if !current {
		cancelDial()
		if err == nil {
			cli.wa.Disconnect()
		}
		return ErrInterrupted
	}
	if err != nil {
		cancelDial()
		s.deliver(ctx, rep)
		return fmt.Errorf("connecting to WhatsApp: %w", err)
	}
	s.log.DebugContext(ctx, "connected; waiting for the login", "phase", c.phase)
	return nil
}

// clientFor returns the client to connect with, building it when there is
// none, when its device is stale or when rebuild is set. The caller holds
// s.opMu.
func (s *session) clientFor(ctx context.Context, rebuild bool) (*client, error) {
	s.mu.Lock()
	cli, stale := s.cli, s.stale
	s.mu.Unlock()
	if cli != nil && !stale && !rebuild {
		return cli, nil
	}
	dev, jid, err := s.loadDevice(ctx)
	if err != nil {
		return nil, err
	}
	cli = s.newClient(dev)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return nil, ErrClosed
	}
	s.cli, s.jid, s.stale, s.fresh = cli, jid, false, false
	s.state.JID = ""
	if !jid.IsEmpty() {
		s.state.JID = jid.String()
	}
	return cli, nil
}

// loadDevice returns the device the instance logs in with: the one it was
// paired with, or a new one when it has none (or must start afresh).
func (s *session) loadDevice(ctx context.Context) (*store.Device, types.JID, error) {
	s.mu.Lock()
	fresh, jid := s.fresh, s.jid
	s.mu.Unlock()
	container := s.m.cfg.Devices.Container()
	if fresh {
		return container.NewDevice(), types.EmptyJID, nil
	}
	if !jid.IsEmpty() {
		dev, err := container.GetDevice(ctx, jid)
		if err != nil {
			return nil, types.EmptyJID, fmt.Errorf("loading device %s: %w", jid, err)
		}
		if dev != nil {
			return dev, jid, nil
		}
		return container.NewDevice(), types.EmptyJID, nil
	}
	inst, err := s.m.cfg.Store.Instance(ctx, s.id)
	if err != nil {
		return nil, types.EmptyJID, fmt.Errorf("reading instance: %w", err)
	}
	dev, err := s.m.findDevice(ctx, inst)
	if err != nil {
		return nil, types.EmptyJID, err
	}
	if dev == nil {
		return container.NewDevice(), types.EmptyJID, nil
	}
	return dev, *dev.ID, nil
}

// findDevice returns the paired device of inst, nil when it has none. The
// instance's OwnerJID names it: the device JID this package reports
// ("5511…:7@s.whatsapp.net"), or an account JID without a device part, in
// which case the one device of that account is used.
func (m *Manager) findDevice(ctx context.Context, inst storage.Instance) (*store.Device, error) {
	if inst.OwnerJID == "" {
		return nil, nil
	}
	jid, err := types.ParseJID(inst.OwnerJID)
	if err != nil {
		return nil, fmt.Errorf("instance %s: owner JID %q: %w", inst.Name, inst.OwnerJID, err)
	}
	container := m.cfg.Devices.Container()
	if jid.Device != 0 {
		dev, err := container.GetDevice(ctx, jid)
		if err != nil {
			return nil, fmt.Errorf("loading device %s: %w", jid, err)
		}
		return dev, nil
	}
	all, err := container.GetAllDevices(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing devices: %w", err)
	}
	var found *store.Device
	for _, dev := range all {
		if dev.ID == nil || dev.ID.User != jid.User || dev.ID.Server != jid.Server {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("instance %s: account %s has several devices (%s, %s); store the device JID as its owner",
				inst.Name, jid, found.ID, dev.ID)
		}
		found = dev
	}
	return found, nil
}

// newClient builds a whatsmeow client for dev with every reconnect of its
// own turned off: the policy decides.
func (s *session) newClient(dev *store.Device) *client {
	h := new(hints)
	wa := whatsmeow.NewClient(dev, newWALogger(s.log, "Client", h))
	wa.EnableAutoReconnect = false
	wa.DisableLoginAutoReconnect = true
	wa.InitialAutoReconnect = false
	wa.RefreshCAT = func(context.Context) error { return errCATUnsupported }
	wa.SetWebsocketHTTPClient(s.m.http)
	wa.SetPreLoginHTTPClient(s.m.http)
	if h := s.m.cfg.MediaHTTPClient; h != nil {
		wa.SetMediaHTTPClient(h)
	}
	// Traffic (incoming.go): acknowledge messages and receipts only once
	// handled, keep a decrypted message until then so a redelivery can be
	// read again, download the history only when asked to.
	wa.SynchronousAck = true
	wa.EnableDecryptedEventBuffer = true
	wa.ManualHistorySyncDownload = !s.m.cfg.HistorySync
	wa.GetMessageForRetry = s.messageForRetry
	c := &client{wa: wa, hints: h}
	wa.AddEventHandler(func(evt any) { s.onEvent(c, evt) })
	wa.AddEventHandlerWithSuccessStatus(func(evt any) bool { return s.onTraffic(c, evt) })
	return c
}
