package webhook

import "github.com/wahost/wahost/storage"

// WakeOn makes every commit of outbox rows that w sees in this process,
// whoever wrote them, wake the dispatcher (Nudge) and the event stream's
// readers at once; the poll (Config.PollInterval) remains for rows other
// hosts commit and for leases that end.
func (d *Dispatcher) WakeOn(w storage.OutboxWatcher) { w.NotifyOutbox(d.Nudge) }
