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
		cur.Status, cur.Attempt, cur.Step, cur.Reconnect = storage.StatusConnecting, 0, 0, nil
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
	err = e.cfg.Store.InTx(ctx, func(tx storage.Tx) error {
		cur, err := tx.Instance(ctx, instanceID)
		if err != nil {
			return err
		}
		cur.Status, cur.Attempt, cur.Step, cur.QRCount, cur.Reconnect = storage.StatusClose, 0, 0, 0, nil
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
		return CleanupReport{}, fmt.Errorf("reset of %s: %w", inst.Name, err)
	}
	// Only once the reset is recorded are keys, cache and files removed.
	rep := e.endSession(ctx, inst, 0, abi.ScopeAll)
	e.cfg.Webhooks.Nudge()
	e.cfg.Metrics.manual("reset")
	return rep, nil
}

// EventRemoveInstance announces an instance's removal.
const EventRemoveInstance = "remove.instance"

// Remove ends the instance's session, cleans everything (keys, cache,
// files), then deletes the instance and queues remove.instance in one unit
// of work. Call it once the session layer has forgotten the instance.
func (e *Executor) Remove(ctx context.Context, instanceID string) (CleanupReport, error) {
	if e.isEnding(instanceID) {
		return CleanupReport{}, fmt.Errorf("removal of %s: %w", instanceID, ErrEnding)
	}
	inst, err := e.cfg.Store.Instance(ctx, instanceID)
	if err != nil {
		return CleanupReport{}, fmt.Errorf("removal of %s: %w", instanceID, err)
	}
	rep := e.endSession(ctx, inst, 0, abi.ScopeAll)
	err = e.cfg.Store.InTx(ctx, func(tx storage.Tx) error {
		if err := tx.DeleteInstance(ctx, instanceID); err != nil {
			return err
		}
		return e.cfg.Webhooks.Enqueue(ctx, tx, inst, EventRemoveInstance, removed{Instance: inst.Name, CleanupReport: rep})
	})
	if err != nil {
		return rep, fmt.Errorf("removal of %s: %w", inst.Name, err)
	}
	e.cfg.Webhooks.Nudge()
	e.mu.Lock()
	delete(e.known, instanceID)
	e.mu.Unlock()
	e.cfg.Metrics.manual("remove")
	return rep, nil
}

// removed is remove.instance: the instance is gone, with what its
// cleanup removed.
type removed struct {
	Instance string `json:"instance"`
	CleanupReport
}

// LoggedOutByAPI carries out a logout the API asked for, once the session
// layer has unlinked the device: the same decision, history row (its raw
// reason says the API asked), webhooks and cleanup as a logout WhatsApp
// sends.
func (e *Executor) LoggedOutByAPI(ctx context.Context, instanceID string) (Result, error) {
	return e.HandleDisconnect(ctx, instanceID, Report{
		Event: abi.Event{Kind: abi.KindLoggedOut, Code: abi.CodeLoggedOut, Cause: abi.CauseNone,
			Raw: "api logout", Message: "logged out through the API (POST /v1/instances/{name}/logout)"},
		Phase: abi.PhaseOpen,
	})
}
