package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"

	"github.com/wahost/wahost/abi"
)

// State is where an instance's session is.
type State struct {
	// Phase is the phase of the connection open or being opened; empty
	// when there is none.
	Phase abi.Phase
	// Connected reports a logged-in session (Phase open).
	Connected bool
	// JID is the device JID the instance is paired with
	// ("5511…:7@s.whatsapp.net"), empty while unpaired or not yet loaded.
	JID string
	// PushName is the account's profile name, as of the last login.
	PushName string
	// Since is when Phase last changed; zero if it never did.
	Since time.Time
	// Proxy is the ID (no credentials) of the proxy the last connection
	// went through; empty for a direct one.
	Proxy string
}

// State returns the instance's state; the zero State for an instance the
// Manager has not run.
func (m *Manager) State(instanceID string) State {
	s := m.lookup(instanceID)
	if s == nil {
		return State{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// QR returns the QR code the instance shows now; false when it shows none.
func (m *Manager) QR(instanceID string) (QR, bool) {
	s := m.lookup(instanceID)
	if s == nil {
		return QR{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastQR, s.lastQR.Code != ""
}

// Disconnect closes the instance's connection, or aborts its dial. It is
// the host's doing, so it is not reported as a drop. Disconnecting an
// instance without a connection does nothing.
func (m *Manager) Disconnect(instanceID string) error {
	if s := m.lookup(instanceID); s != nil {
		s.stop()
	}
	return nil
}

// ResetSession disconnects the instance and deletes its device keys and
// session rows (sessionstore.DeleteSession), including what whatsmeow's
// own delete leaves after a LoggedOut; the next Connect shows QR codes.
// It reports how many rows it removed.
func (m *Manager) ResetSession(ctx context.Context, instanceID string) (int64, error) {
	s, err := m.session(instanceID)
	if err != nil {
		return 0, fmt.Errorf("reset of %s: %w", instanceID, err)
	}
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.stop()

	s.mu.Lock()
	jids := []types.JID{s.jid, s.deleted}
	s.mu.Unlock()
	if jids[0].IsEmpty() && jids[1].IsEmpty() {
		// Not loaded yet: the instance's stored device, if any.
		inst, err := m.cfg.Store.Instance(ctx, instanceID)
		if err != nil {
			return 0, fmt.Errorf("reset of %s: %w", instanceID, err)
		}
		dev, err := m.findDevice(ctx, inst)
		if err != nil {
			return 0, fmt.Errorf("reset of %s: %w", inst.Name, err)
		}
		if dev != nil {
			jids[0] = *dev.ID
		}
	}
	var rows int64
	var errs []error
	for i, jid := range jids {
		if jid.IsEmpty() || (i == 1 && jid == jids[0]) {
			continue
		}
		d, err := m.cfg.Devices.DeleteSession(ctx, jid)
		rows += d.Device + d.PrivacyTokens
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return rows, fmt.Errorf("reset of %s: %w", instanceID, err)
	}
	s.mu.Lock()
	s.cli, s.jid, s.deleted, s.fresh = nil, types.EmptyJID, types.EmptyJID, true
	s.state.JID = ""
	s.mu.Unlock()
	s.log.InfoContext(ctx, "session reset", "rows", rows)
	return rows, nil
}

// Recreate disconnects the instance and replaces its client with a new
// one on the same device, reloaded from the store. It does not connect.
func (m *Manager) Recreate(ctx context.Context, instanceID string) error {
	s, err := m.session(instanceID)
	if err != nil {
		return fmt.Errorf("recreate of %s: %w", instanceID, err)
	}
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.stop()
	if _, err := s.clientFor(ctx, true); err != nil {
		return fmt.Errorf("recreate of %s: %w", instanceID, err)
	}
	return nil
}

// Logout unlinks the instance's device from the phone (whatsmeow's
// Logout), disconnects, and removes the device's rows. It needs an open
// session: offline, the phone cannot be told, and the error says so
// (ResetSession still deletes the keys locally). When the phone cannot be
// told the session stays paired but disconnected.
func (m *Manager) Logout(ctx context.Context, instanceID string) error {
	s := m.lookup(instanceID)
	if s == nil {
		return fmt.Errorf("logout of %s: %w", instanceID, ErrNotConnected)
	}
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	c, cl, jid := s.conn, s.cli, s.jid
	if c == nil || c.reported || c.phase != abi.PhaseOpen || cl == nil {
		s.mu.Unlock()
		return fmt.Errorf("logout of %s: %w", instanceID, ErrNotConnected)
	}
	s.stopLocked()
	s.mu.Unlock()

	if err := cl.wa.Logout(ctx); err != nil {
		cl.wa.Disconnect()
		return fmt.Errorf("logout of %s: %w", instanceID, err)
	}
	s.mu.Lock()
	s.cli, s.jid, s.fresh = nil, types.EmptyJID, true
	s.state.JID = ""
	s.mu.Unlock()
	// whatsmeow deleted the device; its privacy tokens remain.
	if _, err := m.cfg.Devices.DeleteSession(ctx, jid); err != nil {
		return fmt.Errorf("logout of %s: unlinked, but removing the leftovers: %w", instanceID, err)
	}
	s.log.InfoContext(ctx, "logged out", "jid", jid)
	return nil
}

// PairClientName is how a phone-code pairing names this client on the
// phone; WhatsApp wants "Browser (OS)".
const PairClientName = "Chrome (Linux)"

// PairPhone starts pairing by phone number: it connects the instance if
// needed, waits for the server's pairing refs and returns the 8-character
// code ("ABCD-EFGH") to type on the phone with that number. QR codes keep
// being shown meanwhile; the pairing ends as a QR login does
// (HandlePaired, then HandleConnected after the reconnect).
func (m *Manager) PairPhone(ctx context.Context, instanceID, phone string) (string, error) {
	s, err := m.session(instanceID)
	if err != nil {
		return "", fmt.Errorf("phone pairing of %s: %w", instanceID, err)
	}
	s.opMu.Lock()
	_, err = s.clientFor(ctx, false) // loads the device: is it paired?
	s.opMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("phone pairing of %s: %w", instanceID, err)
	}
	s.mu.Lock()
	c, paired := s.conn, !s.jid.IsEmpty()
	s.mu.Unlock()
	if paired {
		return "", fmt.Errorf("phone pairing of %s: %w", instanceID, ErrPaired)
	}
	if c == nil || c.reported {
		if err := m.Connect(ctx, instanceID); err != nil && !errors.Is(err, ErrAlreadyConnected) {
			return "", fmt.Errorf("phone pairing of %s: %w", instanceID, err)
		}
	}
	s.mu.Lock()
	c, cl := s.conn, s.cli
	switch {
	case c == nil || c.reported || cl == nil:
		err = ErrNotConnected
	case c.phase != abi.PhaseQR && c.phase != abi.PhasePairing:
		err = ErrPaired
	}
	s.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("phone pairing of %s: %w", instanceID, err)
	}
	select {
	case <-c.qrReady:
	case <-ctx.Done():
		return "", fmt.Errorf("phone pairing of %s: waiting for the pairing refs: %w", instanceID, ctx.Err())
	}
	s.mu.Lock()
	if s.conn != c || c.reported {
		s.mu.Unlock()
		return "", fmt.Errorf("phone pairing of %s: %w", instanceID, ErrInterrupted)
	}
	c.phase = abi.PhasePairing
	s.setPhaseLocked(abi.PhasePairing)
	s.mu.Unlock()
	code, err := cl.wa.PairPhone(ctx, phone, true, whatsmeow.PairClientChrome, PairClientName)
	if err != nil {
		return "", fmt.Errorf("phone pairing of %s: %w", instanceID, err)
	}
	return code, nil
}

// Remove stops the instance's session and forgets it; queued events are
// dropped, and the proxy picker forgets it. Its device rows stay (see
// ResetSession).
func (m *Manager) Remove(ctx context.Context, instanceID string) error {
	if pk := m.cfg.Proxies; pk != nil {
		defer pk.Forget(instanceID)
	}
	s := m.lookup(instanceID)
	if s == nil {
		return nil
	}
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.shutdown()
	m.forget(s)
	s.log.DebugContext(ctx, "session removed")
	return nil
}
