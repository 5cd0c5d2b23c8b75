package defaultpolicy

import "github.com/wahost/wahost/abi"

// withProxy adds a proxy switch to a reconnect decision (ABI 1.3), keeping
// its delay and step: the escalation goes on through the next proxy. It
// switches when the instance's pool has a healthy proxy besides its own and
//
//   - its proxy is marked down (proxy_down), or
//   - the event is a network failure (a failed connect or a keepalive
//     timeout) and the instance's connects through its proxy failed
//     ProxySwitchFailures times within the host's breaker window, this one
//     included (proxy_switch).
//
// A code of ProxyKeepCodes (401, 403: WhatsApp's own verdict) never
// switches, and neither does an input without a proxy.
func withProxy(in *abi.Input, c *Config, d abi.Decision) abi.Decision {
	p := &in.Proxy
	if !in.HasProxy || d.Action != abi.ActionReconnect || c.ProxySwitchFailures <= 0 ||
		contains(c.ProxyKeepCodes, in.Event.Code) {
		return d
	}
	others := p.Healthy
	if !p.Down {
		others-- // its own proxy is one of the healthy
	}
	if others < 1 {
		return d
	}
	var rule, why string
	switch {
	case p.Down:
		rule, why = "proxy_down", "proxy "+p.ID+" is marked down"
	case networkFailure(&in.Event) && int64(p.Failures) >= c.ProxySwitchFailures:
		rule, why = "proxy_switch", itoa(int64(p.Failures))+" failed connects through proxy "+p.ID
	default:
		return d
	}
	d.SwitchProxy, d.Rule = abi.SwitchNext, rule
	d.Reason = why + ": reconnecting through the next healthy proxy (" + itoa(int64(others)) +
		" of " + itoa(int64(p.PoolSize)) + "); " + d.Reason
	if len(d.Reason) > abi.MaxReason {
		d.Reason = d.Reason[:abi.MaxReason]
	}
	return d
}

// networkFailure reports whether ev is a failure of the network path: a
// connect that failed before login, or keepalives that went unanswered.
func networkFailure(ev *abi.Event) bool {
	return ev.Kind == abi.KindConnectError || ev.Kind == abi.KindKeepAliveTimeout
}
