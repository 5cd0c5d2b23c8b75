package executor

import (
	"github.com/wahost/wahost/host/reconnect"
	"github.com/wahost/wahost/storage"
)

// Adopt starts driving an instance another host drove until now (it died,
// was cut off or handed the instance off): a decided reconnect is
// scheduled at its time, as Resume does at start; an instance that was
// open or connecting is reconnected now, through the scheduler's rate
// limit, and, when takeover says another host drove it until now, its next
// open reports reconnection.success measured from the adoption. Other
// instances are only remembered.
func (e *Executor) Adopt(inst storage.Instance, takeover bool) {
	e.remember(inst)
	if inst.Status != storage.StatusOpen && inst.Status != storage.StatusConnecting {
		return
	}
	e.warmPolicy()
	job := reconnect.Job{InstanceID: inst.ID, Due: e.cfg.Clock.Now()}
	at := job.Due
	if r := inst.Reconnect; r != nil && inst.Status == storage.StatusConnecting {
		job.Step, job.Due = r.Step, r.Due
		if inst.DisconnectionAt != nil {
			at = *inst.DisconnectionAt
		}
	}
	if takeover || inst.Reconnect != nil {
		e.noteReopen(inst.ID, inst.DisconnectionReasonCode, at)
	}
	e.cfg.Scheduler.Schedule(job)
}
