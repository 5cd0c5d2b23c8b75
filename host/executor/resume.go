package executor

import (
	"context"
	"fmt"

	"github.com/wahost/wahost/host/reconnect"
	"github.com/wahost/wahost/storage"
)

// Resume schedules, at start, every reconnect a decision recorded and a
// restart interrupted: at its decided time (at once when that has
// passed) with its escalation step. The session layer resumes the other
// open instances itself. It returns how many it scheduled.
func (e *Executor) Resume(ctx context.Context) (int, error) {
	insts, err := e.cfg.Store.ListInstances(ctx)
	if err != nil {
		return 0, fmt.Errorf("resuming reconnects: %w", err)
	}
	n := 0
	for _, inst := range insts {
		e.remember(inst)
		if inst.Status == storage.StatusOpen || inst.Status == storage.StatusConnecting {
			e.warmPolicy() // sessions to lose: see warmPolicy
		}
		r := inst.Reconnect
		if r == nil || inst.Status != storage.StatusConnecting {
			continue
		}
		at := r.Due
		if inst.DisconnectionAt != nil {
			at = *inst.DisconnectionAt
		}
		e.noteReopen(inst.ID, inst.DisconnectionReasonCode, at)
		e.cfg.Scheduler.Schedule(reconnect.Job{InstanceID: inst.ID, Step: r.Step, Due: r.Due})
		n++
	}
	if n > 0 {
		e.cfg.Logger.InfoContext(ctx, "decided reconnects resumed", "count", n)
	}
	return n, nil
}
