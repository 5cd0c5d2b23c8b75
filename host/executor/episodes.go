package executor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/disconnect"
	"github.com/wahost/wahost/storage"
)

// Rollout routes the instances in a policy rollout's canary share to the
// canary module. host/rollout's Controller is the production one.
type Rollout interface {
	// Canary returns the canary policy and its settings when the instance
	// is in the canary share; arm is the instance's side ("canary",
	// "stable", or "" when no rollout runs).
	Canary(instanceID string) (p disconnect.Policy, settings abi.Settings, arm string)
	// Fault is told that the canary could not decide (the fallback did).
	Fault(ctx context.Context, err error)
}

// Arms of a rollout an episode is decided on.
const (
	ArmCanary = "canary"
	ArmStable = "stable"
)

// PolicyDigest identifies a policy as episodes record it: the module's
// sha256 with the settings it ran with, hashed.
func PolicyDigest(moduleSHA256 string, settings abi.Settings) string {
	h := sha256.New()
	h.Write([]byte(moduleSHA256))
	h.Write([]byte{0})
	h.Write(settings)
	return hex.EncodeToString(h.Sum(nil))
}

// drop is what trackDrop needs of one decided disconnect.
type drop struct {
	wasOpen  bool // the session was open before this drop
	event    *abi.Event
	outcome  *disconnect.Outcome
	settings abi.Settings
	arm      string
}

// trackDrop starts the instance's episode on the first drop of an open
// session, or adds this drop to the open one, inside the disconnect's
// unit of work; a decision that does not reconnect ends it for good, and
// the ended episode is returned.
func (e *Executor) trackDrop(ctx context.Context, tx storage.Tx, instanceID string, dr drop) (*storage.Episode, error) {
	o := dr.outcome
	d := &o.Decision
	if d.Action == abi.ActionKeep {
		return nil, nil // the session stays open: no outage
	}
	digest := PolicyDigest(o.SHA256, dr.settings)
	ep, err := tx.OpenEpisode(ctx, instanceID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		if !dr.wasOpen {
			return nil, nil // a login that never opened is no outage
		}
		ep = storage.Episode{
			InstanceID: instanceID, StartedAt: e.cfg.Clock.Now(), PolicySHA256: o.SHA256, Policy: digest,
			Generation: o.Generation, Arm: dr.arm,
		}
	case err != nil:
		return nil, err
	default:
		if ep.PolicySHA256 != o.SHA256 || ep.Policy != digest || ep.Generation != o.Generation || ep.Arm != dr.arm {
			ep.Mixed = true
		}
	}
	if d.Action == abi.ActionReconnect {
		ep.Attempts++
		ep.MaxStep = max(ep.MaxStep, d.Step)
		if d.Step >= abi.StepReset && d.Step != abi.StepRecreate {
			ep.NeededQR = true
		}
	}
	if o.Fallback {
		ep.Fallbacks++
	}
	if dr.event.Code == abi.CodeConnectionReplaced {
		ep.Loops440++
	}
	if d.Action != abi.ActionReconnect {
		now := storage.Timestamp(e.cfg.Clock.Now())
		ep.Outcome, ep.EndedAt, ep.EndRule = storage.EpisodeEnded, &now, d.Rule
		ep.EndKind = string(dr.event.Kind)
		if d.End != "" && d.End != abi.EndClosed {
			ep.EndKind = string(d.End)
		}
	}
	if ep, err = tx.PutEpisode(ctx, ep); err != nil || ep.Open() {
		return nil, err
	}
	return &ep, nil
}

// trackOpen ends the instance's open episode as recovered and returns it.
func (e *Executor) trackOpen(ctx context.Context, tx storage.Tx, instanceID string) (*storage.Episode, error) {
	ep, err := tx.OpenEpisode(ctx, instanceID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := storage.Timestamp(e.cfg.Clock.Now())
	ep.Outcome, ep.EndedAt = storage.EpisodeRecovered, &now
	if ep, err = tx.PutEpisode(ctx, ep); err != nil {
		return nil, err
	}
	return &ep, nil
}

// trackQR marks the instance's open episode as needing a new QR code.
func (e *Executor) trackQR(ctx context.Context, tx storage.Tx, instanceID string) error {
	ep, err := tx.OpenEpisode(ctx, instanceID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && ep.NeededQR) {
		return nil
	}
	if err != nil {
		return err
	}
	ep.NeededQR = true
	_, err = tx.PutEpisode(ctx, ep)
	return err
}
