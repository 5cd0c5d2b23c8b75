package executor

import (
	"context"
	"errors"
	"fmt"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/storage"
)

// Opened describes a session that logged in.
type Opened struct {
	// JID is the account's JID, PushName its profile name.
	JID, PushName string
	// Proxy is the ID of the proxy the session goes through; empty for
	// a direct connection.
	Proxy string
}

// HandleConnected records that a session is open: status open, the
// account's JID and name, attempts and escalation reset, and the webhooks
// connection.update (open) and, after a reconnect, reconnection.success
// with the time it took.
func (e *Executor) HandleConnected(ctx context.Context, instanceID string, o Opened) (storage.Instance, error) {
	now := e.cfg.Clock.Now()
	prev, reopened := e.takeReopen(instanceID)
	change := func(cur *storage.Instance) {
		cur.Status, cur.Attempt, cur.Step, cur.QRCount, cur.Reconnect = storage.StatusOpen, 0, 0, 0, nil
		if o.JID != "" {
			cur.OwnerJID = o.JID
		}
		if o.PushName != "" {
			cur.ProfileName = o.PushName
		}
	}
	var committed storage.Instance // written by the unit of work; read only when it ran here
	var recovered *storage.Episode
	deferred, err := e.commit(ctx, instanceID, "connected", func(ctx context.Context, tx storage.Tx) error {
		cur, err := tx.Instance(ctx, instanceID)
		if err != nil {
			return err
		}
		change(&cur)
		if cur, err = tx.UpdateInstance(ctx, cur); err != nil {
			return err
		}
		committed = cur
		e.remember(cur)
		if recovered, err = e.trackOpen(ctx, tx, instanceID); err != nil {
			return err
		}
		if err := e.cfg.Webhooks.Enqueue(ctx, tx, cur, EventConnectionUpdate, connUpdate(cur, "open", 200)); err != nil {
			return err
		}
		if reopened {
			return e.cfg.Webhooks.Enqueue(ctx, tx, cur, EventReconnectionSuccess, reconnectionSuccess{
				Instance: cur.Name, PreviousDisconnectCode: prev.code, ReconnectionTime: now.Sub(prev.at).Milliseconds(),
				Proxy: o.Proxy,
			})
		}
		return nil
	}, e.cfg.Webhooks.Nudge)
	if err != nil {
		return storage.Instance{}, fmt.Errorf("recording that %s opened: %w", instanceID, err)
	}
	inst := committed
	if deferred {
		e.mu.Lock()
		known, ok := e.known[instanceID]
		if ok {
			change(&known)
			e.known[instanceID] = known
		}
		e.mu.Unlock()
		inst = known
		if !ok {
			inst = storage.Instance{ID: instanceID}
		}
	} else {
		e.cfg.Metrics.episodeEnded(recovered)
	}
	if reopened {
		e.cfg.Metrics.reopened(now.Sub(prev.at))
	}
	e.cfg.Logger.InfoContext(ctx, "session open", "instance", inst.Name, "jid", inst.OwnerJID, "reconnected", reopened)
	e.warmPolicy() // a session to lose: see warmPolicy
	return inst, nil
}

// QRCode is one QR code the session shows.
type QRCode struct {
	// Code is the text to encode; PNG is the image as base64 (may be
	// empty).
	Code, PNG string
	// PairingCode is the code a login by phone number showed, if any.
	PairingCode string
}

// HandleQR counts a QR code and announces it (qrcode.updated). When the
// instance has shown as many codes as its limit allows, the code is not
// shown: the policy decides a qr_limit event instead, and ok is false.
func (e *Executor) HandleQR(ctx context.Context, instanceID string, qr QRCode) (ok bool, err error) {
	inst, stale, err := e.instance(ctx, instanceID)
	if err != nil {
		return false, fmt.Errorf("qr code of %s: %w", instanceID, err)
	}
	limit := e.cfg.QRLimit
	if !stale {
		if limit, err = e.qrLimit(ctx, inst); err != nil && !errors.Is(err, storage.ErrUnavailable) {
			return false, err
		}
	}
	if limit > 0 && inst.QRCount >= limit {
		_, err := e.HandleDisconnect(ctx, instanceID, Report{
			Event: abi.Event{Kind: abi.KindQRLimit, Code: abi.CodeConnectionClosed, Cause: abi.CauseNone,
				Message: fmt.Sprintf("%d QR codes shown, the limit", inst.QRCount)},
			Phase: abi.PhaseQR,
		})
		return false, err
	}
	deferred, err := e.commit(ctx, instanceID, "qr", func(ctx context.Context, tx storage.Tx) error {
		cur, err := tx.Instance(ctx, instanceID)
		if err != nil {
			return err
		}
		cur.QRCount++
		cur.Status = storage.StatusConnecting
		if cur, err = tx.UpdateInstance(ctx, cur); err != nil {
			return err
		}
		e.remember(cur)
		if err := e.trackQR(ctx, tx, instanceID); err != nil {
			return err
		}
		q := qrPayload{Instance: cur.Name, Code: qr.Code, Base64: qr.PNG, Count: cur.QRCount}
		if qr.PairingCode != "" {
			q.PairingCode = &qr.PairingCode
		}
		return e.cfg.Webhooks.Enqueue(ctx, tx, cur, EventQRCodeUpdated, qrUpdated{QRCode: q})
	}, e.cfg.Webhooks.Nudge)
	if err != nil {
		return false, fmt.Errorf("recording qr code of %s: %w", inst.Name, err)
	}
	if deferred {
		inst.QRCount++
		inst.Status = storage.StatusConnecting
		e.remember(inst)
	}
	return true, nil
}

// HandlePaired records the account a QR or phone-code pairing linked.
func (e *Executor) HandlePaired(ctx context.Context, instanceID, jid string) error {
	_, err := e.commit(ctx, instanceID, "paired", func(ctx context.Context, tx storage.Tx) error {
		cur, err := tx.Instance(ctx, instanceID)
		if err != nil {
			return err
		}
		cur.OwnerJID = jid
		cur, err = tx.UpdateInstance(ctx, cur)
		if err == nil {
			e.remember(cur)
		}
		return err
	}, nil)
	if err != nil {
		return fmt.Errorf("recording pairing of %s: %w", instanceID, err)
	}
	return nil
}
