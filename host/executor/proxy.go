package executor

import (
	"context"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/storage"
)

// Proxies is what the executor needs of the proxy pools (host/proxy's
// Pools): what the policy sees of an instance's proxy, and a move to
// another one before the next connect. setting is the instance's proxy
// setting, empty for the host's default.
type Proxies interface {
	// Proxy returns the instance's proxy as the policy sees it; ok is
	// false for a direct connection.
	Proxy(instanceID, setting string) (p abi.Proxy, ok bool)
	// Switch moves the instance to another proxy of its pool, to the one
	// whose id is to, or the next healthy one (see abi.SwitchNext). It
	// returns the ids before and after, equal when it stayed.
	Switch(instanceID, setting, to string) (from, next string, err error)
}

// switchProxy carries out a reconnect decision's switch_proxy for an
// instance whose input had a proxy, and returns the id of the proxy its
// next connect goes through ("" when it did not move).
func (e *Executor) switchProxy(ctx context.Context, inst storage.Instance, in *abi.Input, d *abi.Decision) string {
	if d.Action != abi.ActionReconnect || d.SwitchProxy == "" || !in.HasProxy || e.cfg.Proxies == nil {
		return ""
	}
	set, err := e.instanceSettings(ctx, inst)
	if err != nil {
		e.cfg.Logger.WarnContext(ctx, "the proxy setting could not be read; the default proxy's pool is used for the switch",
			"instance", inst.Name, "error", err)
	}
	to := d.SwitchProxy
	if to == abi.SwitchNext {
		to = ""
	}
	from, next, err := e.cfg.Proxies.Switch(inst.ID, set.Proxy, to)
	switch {
	case err != nil:
		e.cfg.Logger.WarnContext(ctx, "switching the proxy failed", "instance", inst.Name, "error", err)
		return ""
	case next == from:
		e.cfg.Logger.InfoContext(ctx, "the policy asked for another proxy; the pool has no other healthy one",
			"instance", inst.Name, "proxy", from)
		return ""
	}
	e.cfg.Logger.InfoContext(ctx, "proxy switched", "instance", inst.Name, "from", from, "to", next, "rule", d.Rule)
	return next
}
