package executor

import (
	"context"
	"fmt"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/storage"
)

// ForceReconnect drops the instance's connection and connects again now,
// replacing any scheduled reconnect; with clean, the session's keys are
// deleted first, so a new QR scan is needed.
func (e *Executor) ForceReconnect(ctx context.Context, instanceID string, clean bool) error {
	if e.isEnding(instanceID) {
		return fmt.Errorf("force reconnect of %s: %w", instanceID, ErrEnding)
	}
	inst, err := e.cfg.Store.Instance(ctx, instanceID)
	if err != nil {
		return fmt.Errorf("force reconnect of %s: %w", instanceID, err)
	}
	e.cfg.Scheduler.Cancel(instanceID)
	if err := e.cfg.Sessions.Disconnect(instanceID); err != nil {
		return fmt.Errorf("force reconnect of %s: %w", inst.Name, err)
	}
	if clean {
		if _, err := e.cfg.Sessions.ResetSession(ctx, instanceID); err != nil {
			return fmt.Errorf("force reconnect of %s: cleaning the session: %w", inst.Name, err)
		}
	}
	err = e.cfg.Store.InTx(ctx, func(tx storage.Tx) error {
		cur, err := tx.Instance(ctx, instanceID)
		if err != nil {
			return err
		}
		cur.Status, cur.Attempt, cur.Step = storage.StatusConnecting, 0, 0
		if clean {
			cur.OwnerJID, cur.QRCount = "", 0
		}
		if cur, err = tx.UpdateInstance(ctx, cur); err != nil {
			return err
		}
		return e.cfg.Webhooks.Enqueue(ctx, tx, cur, EventConnectionUpdate, connUpdate(cur, "connecting", 0))
	})
	if err != nil {
		return fmt.Errorf("force reconnect of %s: %w", inst.Name, err)
	}
	e.cfg.Webhooks.Nudge()
	e.cfg.Metrics.manual("force_reconnect")
	return e.cfg.Sessions.Connect(ctx, instanceID)
}

// Reset logs the instance out and cleans everything — session keys, cache,
// files — and sets its counters to zero and its profile fields empty. The
// instance stays, closed, ready for a new login.
func (e *Executor) Reset(ctx context.Context, instanceID string) (CleanupReport, error) {
	if e.isEnding(instanceID) {
		return CleanupReport{}, fmt.Errorf("reset of %s: %w", instanceID, ErrEnding)
	}
	inst, err := e.cfg.Store.Instance(ctx, instanceID)
	if err != nil {
		return CleanupReport{}, fmt.Errorf("reset of %s: %w", instanceID, err)
	}
	rep := e.endSession(ctx, inst, 0, abi.ScopeAll)
	err = e.cfg.Store.InTx(ctx, func(tx storage.Tx) error {
		cur, err := tx.Instance(ctx, instanceID)
		if err != nil {
			return err
		}
		cur.Status, cur.Attempt, cur.Step, cur.QRCount = storage.StatusClose, 0, 0, 0
		cur.OwnerJID, cur.ProfileName, cur.ProfilePictureURL = "", "", ""
		if cur, err = tx.UpdateInstance(ctx, cur); err != nil {
			return err
		}
		if e.cfg.OnEnd != nil {
			if err := e.cfg.OnEnd(ctx, tx, cur); err != nil {
				return err
			}
		}
		if err := e.cfg.Webhooks.Enqueue(ctx, tx, cur, EventLogoutInstance, logoutInstance{
			Instance: cur.Name, Reason: "reset by the operator",
		}); err != nil {
			return err
		}
		return e.cfg.Webhooks.Enqueue(ctx, tx, cur, EventConnectionUpdate, connUpdate(cur, "close", 0))
	})
	if err != nil {
		return rep, fmt.Errorf("reset of %s: %w", inst.Name, err)
	}
	e.cfg.Webhooks.Nudge()
	e.cfg.Metrics.manual("reset")
	return rep, nil
}
