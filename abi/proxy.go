package abi

import (
	"bytes"
	"strconv"
)

// ProxyMinor is the first ABI minor version whose input carries the
// instance's proxy (Input.Proxy) and whose reconnect decisions may ask to
// switch it (Decision.SwitchProxy). A module of an older minor receives
// neither the proxy object nor the proxy_auth cause, and the host ignores
// a switch_proxy it returns.
const ProxyMinor = 3

// Proxy is what a policy sees of the proxy an instance's connections go
// through (ABI 1.3): identifiers and counts, never an address with
// credentials. The host sends it only for an instance behind a proxy.
type Proxy struct {
	// ID names the proxy as scheme://host:port, without user or password.
	ID string
	// Pool is the name of its pool; empty for a proxy URL set alone.
	Pool string
	// PoolSize counts the pool's proxies (1 for a proxy URL set alone),
	// Healthy those of them not marked down.
	PoolSize int
	Healthy  int
	// Down reports that the host's breaker marked this proxy down.
	Down bool
	// Failures counts the failed connects of this instance through this
	// proxy within the host's breaker window, the one being decided
	// included; PoolFailures those of every instance through every proxy
	// of the pool.
	Failures     int
	PoolFailures int
}

// SwitchNext is the Decision.SwitchProxy that moves the instance to the
// next healthy proxy of its pool, `"switch_proxy": true` in the decision
// document.
const SwitchNext = "next"

// MaxProxyID is the longest proxy id a decision may name, in bytes.
const MaxProxyID = 256

// appendProxy appends the proxy member of the input document.
func appendProxy(b []byte, p *Proxy) []byte {
	b = append(appendKey(b, "proxy"), '{')
	b = appendStringField(b, "id", p.ID)
	if p.Pool != "" {
		b = appendStringField(b, "pool", p.Pool)
	}
	b = appendIntField(b, "pool_size", int64(p.PoolSize))
	b = appendIntField(b, "healthy", int64(p.Healthy))
	b = appendBoolField(b, "down", p.Down)
	b = appendIntField(b, "failures", int64(p.Failures))
	b = appendIntField(b, "pool_failures", int64(p.PoolFailures))
	return append(b, '}')
}

// decodeProxy decodes a proxy object; unknown members are skipped.
func decodeProxy(r *reader, p *Proxy) error {
	err := r.openObject()
	for first := true; err == nil; first = false {
		var key []byte
		var ok bool
		if key, ok, err = r.member(first); err != nil || !ok {
			break
		}
		switch string(key) {
		case "id":
			p.ID, err = r.str()
		case "pool":
			p.Pool, err = r.str()
		case "pool_size":
			p.PoolSize, err = small(r.int())
		case "healthy":
			p.Healthy, err = small(r.int())
		case "down":
			p.Down, err = r.bool()
		case "failures":
			p.Failures, err = small(r.int())
		case "pool_failures":
			p.PoolFailures, err = small(r.int())
		default:
			err = r.skip(0)
		}
		if err != nil {
			err = fieldError(string(key), err)
		}
	}
	return err
}

// appendSwitchProxy appends a decision's switch_proxy member: true for
// SwitchNext, the proxy id otherwise.
func appendSwitchProxy(b []byte, s string) []byte {
	if s == SwitchNext {
		return appendBoolField(b, "switch_proxy", true)
	}
	return appendStringField(b, "switch_proxy", s)
}

// decodeSwitchProxy reads switch_proxy: true (SwitchNext), false (none)
// or a proxy id.
func decodeSwitchProxy(r *reader) (string, error) {
	switch r.peek() {
	case 't', 'f':
		v, err := r.bool()
		if v {
			return SwitchNext, err
		}
		return "", err
	case '"':
		return r.str()
	}
	return "", r.fail("expected true, false or a proxy id")
}

var (
	proxyMember   = []byte(`"proxy":{`)
	proxyAuthCode = []byte(`"cause":"proxy_auth"`)
)

// withoutProxy returns doc as a module older than ProxyMinor receives it:
// without the proxy member, and with the proxy_auth cause, which it does
// not know, as "none". It reads the members before the history only, as
// InputForMinor does, and returns doc itself when there is nothing to
// change; otherwise a copy.
func withoutProxy(doc []byte) []byte {
	hasProxy, hasAuth := bytes.Contains(doc, proxyMember), bytes.Contains(doc, proxyAuthCode)
	if !hasProxy && !hasAuth {
		return doc
	}
	type span struct{ from, to int }
	var cuts []span
	var cause span
	r := reader{b: doc}
	err := r.openObject()
	for first := true; err == nil; first = false {
		memberStart := r.pos
		var key []byte
		var ok bool
		if key, ok, err = r.member(first); err != nil || !ok {
			break
		}
		valueStart := r.pos
		switch string(key) {
		case "history":
			err = errStop
		case "proxy":
			if err = r.skip(0); err == nil {
				from := memberStart
				if first {
					// The first member: take the comma after it instead.
					for i := r.pos; i < len(doc); i++ {
						if doc[i] == ',' {
							r.pos = i + 1
							break
						}
						if doc[i] != ' ' && doc[i] != '\n' && doc[i] != '\t' && doc[i] != '\r' {
							break
						}
					}
				}
				cuts = append(cuts, span{from, r.pos})
			}
		case "event":
			if err = r.skip(0); err == nil && hasAuth {
				if i := bytes.Index(doc[valueStart:r.pos], proxyAuthCode); i >= 0 {
					at := valueStart + i + len(`"cause":`)
					cause = span{at, at + len(`"proxy_auth"`)}
				}
			}
		default:
			err = r.skip(0)
		}
	}
	if len(cuts) == 0 && cause.to == 0 {
		return doc
	}
	out := make([]byte, 0, len(doc))
	at := 0
	for _, c := range cuts {
		if cause.to > 0 && cause.from < c.from && cause.from >= at {
			out = append(append(out, doc[at:cause.from]...), `"none"`...)
			at = cause.to
		}
		out = append(out, doc[at:c.from]...)
		at = c.to
	}
	if cause.to > 0 && cause.from >= at {
		out = append(append(out, doc[at:cause.from]...), `"none"`...)
		at = cause.to
	}
	return append(out, doc[at:]...)
}

// errStop ends a scan of the members early.
var errStop = plainError("stop")

// quoteProxyID renders an id for an error message.
func quoteProxyID(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(s)
}
