// Package conformance checks that a policy behaves on any input the host
// may send: every event kind and phase, unknown kinds and codes, empty and
// maximal histories, extreme counters and hostile strings. Each must yield
// a valid decision, and the same input twice the same bytes (a policy is a
// pure function). `wahost policy check` runs it after the load-time checks
// of the runtime (exports, ABI version, _initialize, self-test).
package conformance

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/wahost/wahost/abi"
)

// Decider is a policy behind the byte interface: a loaded module, or a
// native policy.
type Decider interface {
	Decide(ctx context.Context, input []byte) ([]byte, error)
}

// Case is one input of the suite.
type Case struct {
	Name  string
	Input *abi.Input
}

// Violation is a case a policy failed.
type Violation struct {
	Case   string
	Reason string
}

func (v Violation) String() string { return v.Case + ": " + v.Reason }

// Report is the outcome of a run.
type Report struct {
	Cases      int
	Violations []Violation
}

// OK reports whether every case passed.
func (r *Report) OK() bool { return len(r.Violations) == 0 }

// Run decides every case of Cases(settings) twice and reports each case
// whose decision is missing, invalid under limits, or differs between the
// two runs.
func Run(ctx context.Context, d Decider, settings abi.Settings, limits abi.Limits) Report {
	return RunMinor(ctx, d, abi.Minor, settings, limits)
}

// RunMinor is Run for a module of ABI minor version minor: it gets only
// the events its version knows, as the host sends them (CasesFor).
func RunMinor(ctx context.Context, d Decider, minor uint16, settings abi.Settings, limits abi.Limits) Report {
	cases := CasesFor(minor, settings)
	rep := Report{Cases: len(cases)}
	buf := make([]byte, 0, 4096)
	for _, c := range cases {
		buf = c.Input.AppendJSON(buf[:0])
		first, err := d.Decide(ctx, buf)
		if err != nil {
			rep.Violations = append(rep.Violations, Violation{c.Name, "no decision: " + err.Error()})
			continue
		}
		first = bytes.Clone(first)
		dec, err := abi.ParseDecision(first, limits)
		if err == nil {
			err = dec.CheckFor(c.Input.Event.Kind)
		}
		if err != nil {
			rep.Violations = append(rep.Violations, Violation{c.Name, fmt.Sprintf("invalid decision %s: %v", clip(first), err)})
			continue
		}
		second, err := d.Decide(ctx, buf)
		if err != nil || !bytes.Equal(first, second) {
			rep.Violations = append(rep.Violations, Violation{c.Name,
				fmt.Sprintf("not deterministic: %s, then %s (err %v)", clip(first), clip(second), err)})
		}
	}
	return rep
}

func clip(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// codes lists every code a policy may see, and a few it may not expect.
var codes = []int{428, 408, 440, 401, 403, 402, 406, 500, 515, 411, 503, 405, 413, 414, 400, 409, 415, 418, 501, 0, 999, -1}

// CasesFor is Cases as a module of ABI minor version minor gets them:
// without the events it is never asked about (degraded, before 1.2), and
// without the proxy object and the proxy_auth cause before 1.3.
func CasesFor(minor uint16, settings abi.Settings) []Case {
	all := Cases(settings)
	if minor >= abi.ProxyMinor {
		return all
	}
	out := all[:0]
	for _, c := range all {
		if c.Input.Event.Kind == abi.KindDegraded && minor < abi.DegradedMinor {
			continue
		}
		c.Input.Proxy, c.Input.HasProxy = abi.Proxy{}, false
		if c.Input.Event.Cause == abi.CauseProxyAuth {
			c.Input.Event.Cause = abi.CauseNone
		}
		out = append(out, c)
	}
	return out
}

// Cases builds the suite for the given settings.
func Cases(settings abi.Settings) []Case {
	var out []Case
	add := func(name string, mutate func(in *abi.Input)) {
		in := abi.SelfTestInput(settings)
		in.History = append([]abi.HistoryEntry(nil), in.History...)
		mutate(in)
		out = append(out, Case{Name: name, Input: in})
	}
	phases := []abi.Phase{abi.PhaseQR, abi.PhasePairing, abi.PhaseConnecting, abi.PhaseOpen, "unknown_phase"}
	kinds := append(append([]abi.Kind(nil), abi.Kinds...), "kind_from_a_future_minor", "")
	for _, k := range kinds {
		for _, p := range phases {
			add(fmt.Sprintf("kind %q in phase %q", k, p), func(in *abi.Input) {
				in.Event.Kind, in.Instance.Phase = k, p
			})
		}
	}
	for _, code := range codes {
		for _, attempt := range []int{0, 1, 2, 5, 6, 100, 1 << 30} {
			add(fmt.Sprintf("code %d attempt %d", code, attempt), func(in *abi.Input) {
				in.Event.Code, in.Attempt = code, attempt
			})
		}
	}
	for _, cause := range []abi.Cause{abi.CauseDNS, abi.CauseRefused, abi.CauseTimeout, abi.CauseHTTPStatus, abi.CauseHandshake,
		abi.CauseProxyAuth, "cause_from_the_future"} {
		add("connect error cause "+string(cause), func(in *abi.Input) {
			in.Event.Kind, in.Event.Code, in.Event.Cause = abi.KindConnectError, 408, cause
		})
	}
	for _, signal := range []string{abi.SignalUndecryptable, abi.SignalUnackedSends, abi.SignalSendErrors,
		abi.SignalReceiptSilence, "signal_from_the_future", ""} {
		for _, n := range []int{0, 1, 3, 1 << 30} {
			add(fmt.Sprintf("degraded %q, counters at %d", signal, n), func(in *abi.Input) {
				in.Event = abi.Event{Kind: abi.KindDegraded, Cause: abi.CauseNone, Signal: signal}
				c := abi.Counts{n, n}
				in.Traffic = abi.Traffic{Undecryptable: c, UndecryptableSenders: c, Unavailable: c, Hidden: c, Sends: c,
					UnackedSends: c, SendErrors: c, RetryReceiptsSent: c, RetryReceiptsReceived: c,
					LastIncomingMS: in.NowMS - int64(n), LastReceiptMS: in.NowMS - int64(n), LastKeepAliveMS: in.NowMS, LastSendError: n}
				in.History = append(in.History, abi.HistoryEntry{AtMS: in.NowMS - 60_000, Kind: abi.KindDegraded, Action: abi.ActionReconnect, Step: 2})
			})
		}
	}
	proxies := []abi.Proxy{
		{ID: "http://10.0.0.7:3128", Pool: "main", PoolSize: 2, Healthy: 2, Failures: 2, PoolFailures: 2},
		{ID: "socks5://10.0.0.8:1080", Pool: "main", PoolSize: 2, Healthy: 1, Down: true, Failures: 9, PoolFailures: 9},
		{ID: "http://10.0.0.9:80", PoolSize: 1, Healthy: 0, Down: true},
		{ID: "\"}]},\x00", Pool: "\xff", PoolSize: 0, Healthy: 1 << 30, Failures: 1 << 30, PoolFailures: -1},
	}
	for i, p := range proxies {
		for _, k := range []abi.Kind{abi.KindConnectError, abi.KindKeepAliveTimeout, abi.KindDisconnected, abi.KindLoggedOut, abi.KindDegraded} {
			add(fmt.Sprintf("proxy %d, kind %q", i, k), func(in *abi.Input) {
				in.Event.Kind, in.Proxy, in.HasProxy = k, p, true
				if k == abi.KindLoggedOut {
					in.Event.Code = 401
				}
				if k == abi.KindDegraded {
					in.Event.Signal = abi.SignalUnackedSends
				}
			})
		}
	}
	add("empty history", func(in *abi.Input) { in.History = nil })
	add("maximal history of one code", func(in *abi.Input) {
		in.History = history(abi.MaxHistory, in.NowMS, func(int) int { return 428 })
	})
	add("maximal history of every code", func(in *abi.Input) {
		in.History = history(abi.MaxHistory, in.NowMS, func(i int) int { return codes[i%len(codes)] })
	})
	add("history in the future", func(in *abi.Input) {
		in.History = []abi.HistoryEntry{{AtMS: in.NowMS + 3_600_000, Kind: abi.KindDisconnected, Code: 428, Action: abi.ActionReconnect}}
	})
	add("history with unknown kinds and actions", func(in *abi.Input) {
		in.History = []abi.HistoryEntry{{AtMS: in.NowMS - 1, Kind: "x", Code: 1, Action: "y", Step: 99}}
	})
	add("QR count past the limit", func(in *abi.Input) {
		in.Instance.Phase, in.Instance.QRCount, in.Instance.QRLimit = abi.PhaseQR, 1000, 30
	})
	add("no QR limit", func(in *abi.Input) {
		in.Instance.Phase, in.Instance.QRCount, in.Instance.QRLimit = abi.PhaseQR, 1<<20, 0
	})
	add("temporary ban with a week to go", func(in *abi.Input) {
		in.Event.Kind, in.Event.Code, in.Event.ExpireMS, in.Event.BanCode = abi.KindTemporaryBan, 402, 7*24*3_600_000, 103
	})
	add("escalation step already at the top", func(in *abi.Input) { in.Step = abi.StepRecreate })
	add("zero clock", func(in *abi.Input) { in.NowMS = 0 })
	add("jitter seed extremes", func(in *abi.Input) { in.JitterSeed = 1<<32 - 1 })
	add("hostile strings", func(in *abi.Input) {
		in.Instance.Name = "\"}]},{\\u0000\x00'; DROP TABLE"
		in.Event.Raw = strings.Repeat("\U0001F600\\\"\n", 2000)
		in.Event.Message = "\xff\xfe invalid UTF-8"
	})
	return out
}

func history(n int, now int64, code func(int) int) []abi.HistoryEntry {
	h := make([]abi.HistoryEntry, n)
	for i := range h {
		h[i] = abi.HistoryEntry{
			AtMS: now - int64(n-i)*60_000, Kind: abi.KindDisconnected, Code: code(i),
			Action: abi.ActionReconnect, Step: abi.StepReconnect,
		}
	}
	return h
}
