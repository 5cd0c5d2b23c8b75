// Package replay decides recorded disconnects again with another policy
// and summarises what would have changed: by code, by action, by delay
// bucket, and case by case. It is how an operator checks a new policy
// against last week's real disconnects before rolling it out.
//
// A record carries the input the policy decided on, without its history;
// Run rebuilds each input's history from the records of the same instance
// before it (the 24 hours the host sends), so the candidate sees what the
// recorded policy saw.
package replay

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/wahost/wahost/abi"
	defaultpolicy "github.com/wahost/wahost/policies/default"
)

// HistoryWindow is how far back the history of a rebuilt input goes, as
// the host sends it.
const HistoryWindow = 24 * time.Hour

// Record is one recorded disconnect and the decision taken.
type Record struct {
	ID         int64     `json:"id"`
	InstanceID string    `json:"instance_id"`
	At         time.Time `json:"at"`
	Kind       string    `json:"kind"`
	Code       int       `json:"code"`
	// Decision is the decision carried out; Input the input without its
	// history (nil for records made before inputs were kept: skipped).
	Decision json.RawMessage `json:"decision"`
	Input    json.RawMessage `json:"input"`
}

// Decide runs one input document through the policy under test.
type Decide func(ctx context.Context, input []byte) ([]byte, error)

// Count is a total and how many of it changed.
type Count struct {
	Total   int `json:"total"`
	Changed int `json:"changed"`
}

// Case is one record whose decision changed, or on which the policy
// failed.
type Case struct {
	ID         int64           `json:"id"`
	InstanceID string          `json:"instance_id"`
	At         time.Time       `json:"at"`
	Kind       string          `json:"kind"`
	Code       int             `json:"code"`
	Recorded   json.RawMessage `json:"recorded"`
	Replayed   json.RawMessage `json:"replayed,omitempty"`
	Differs    []string        `json:"differs,omitempty"`
	Fault      string          `json:"fault,omitempty"`
}

// Summary is what a replay found.
type Summary struct {
	// Records is every record read; Skipped those without an input.
	Records, Skipped int
	// Replayed = Same + Changed + Faults.
	Replayed, Same, Changed, Faults int
	// ByCode counts replayed records by status code.
	ByCode map[int]*Count `json:"by_code"`
	// ByAction counts action transitions, "reconnect→logout"; unchanged
	// actions count as "reconnect→reconnect".
	ByAction map[string]int `json:"by_action"`
	// ByDelay counts delay-bucket transitions of reconnects that stayed
	// reconnects, "<1s→1s-10s".
	ByDelay map[string]int `json:"by_delay"`
	// Cases are the changed and failed records, oldest first.
	Cases []Case `json:"cases"`
}

// Run replays recs with decide. Records may come in any order.
func Run(ctx context.Context, recs []Record, decide Decide, limits abi.Limits) (*Summary, error) {
	s := &Summary{Records: len(recs), ByCode: map[int]*Count{}, ByAction: map[string]int{}, ByDelay: map[string]int{}}
	sorted := slices.Clone(recs)
	slices.SortStableFunc(sorted, func(a, b Record) int {
		return cmp.Or(cmp.Compare(a.InstanceID, b.InstanceID), a.At.Compare(b.At), cmp.Compare(a.ID, b.ID))
	})
	var buf []byte
	for i, r := range sorted {
		if err := ctx.Err(); err != nil {
			return s, err
		}
		if len(r.Input) == 0 {
			s.Skipped++
			continue
		}
		var in abi.Input
		if err := abi.DecodeInput(r.Input, &in); err != nil {
			return s, fmt.Errorf("record %d of %s: input: %w", r.ID, r.InstanceID, err)
		}
		in.History = history(sorted[:i], r)
		recorded, err := abi.DecodeDecision(r.Decision)
		if err != nil {
			return s, fmt.Errorf("record %d of %s: recorded decision: %w", r.ID, r.InstanceID, err)
		}
		s.Replayed++
		c := s.ByCode[r.Code]
		if c == nil {
			c = &Count{}
			s.ByCode[r.Code] = c
		}
		c.Total++
		buf = in.AppendJSON(buf[:0])
		cs := Case{ID: r.ID, InstanceID: r.InstanceID, At: r.At, Kind: r.Kind, Code: r.Code, Recorded: r.Decision}
		out, err := decide(ctx, buf)
		var replayed abi.Decision
		if err == nil {
			replayed, err = abi.ParseDecision(out, limits)
		}
		if err == nil {
			err = replayed.CheckFor(in.Event.Kind)
		}
		if err != nil {
			s.Faults++
			c.Changed++
			cs.Fault = err.Error()
			s.Cases = append(s.Cases, cs)
			continue
		}
		s.ByAction[string(recorded.Action)+"→"+string(replayed.Action)]++
		if recorded.Action == abi.ActionReconnect && replayed.Action == abi.ActionReconnect {
			s.ByDelay[DelayBucket(recorded.DelayMS)+"→"+DelayBucket(replayed.DelayMS)]++
		}
		cs.Differs = recorded.Differences(&replayed)
		if len(cs.Differs) == 0 {
			s.Same++
			continue
		}
		s.Changed++
		c.Changed++
		cs.Replayed = replayed.AppendJSON(nil)
		s.Cases = append(s.Cases, cs)
	}
	slices.SortStableFunc(s.Cases, func(a, b Case) int { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID)) })
	return s, nil
}

// history is what the host sent with r: the same instance's records in
// the window before it, oldest first, with the decisions recorded then.
func history(before []Record, r Record) []abi.HistoryEntry {
	var h []abi.HistoryEntry
	for i := len(before) - 1; i >= 0 && len(h) < abi.MaxHistory; i-- {
		p := before[i]
		if p.InstanceID != r.InstanceID || r.At.Sub(p.At) > HistoryWindow {
			break
		}
		d, err := abi.DecodeDecision(p.Decision)
		if err != nil {
			continue
		}
		h = append(h, abi.HistoryEntry{
			AtMS: p.At.UnixMilli(), Kind: abi.Kind(p.Kind), Code: p.Code, Action: d.Action, Step: max(d.Step, 0),
		})
	}
	slices.Reverse(h)
	return h
}

// DelayBucket names the range a reconnect delay falls in.
func DelayBucket(ms int64) string {
	switch {
	case ms < 1_000:
		return "<1s"
	case ms < 10_000:
		return "1s-10s"
	case ms < 60_000:
		return "10s-1m"
	case ms < 600_000:
		return "1m-10m"
	case ms < 3_600_000:
		return "10m-1h"
	}
	return ">=1h"
}

// WriteText prints the summary for a terminal, with at most maxCases
// cases.
func (s *Summary) WriteText(w io.Writer, maxCases int) {
	fmt.Fprintf(w, "%d records, %d replayed (%d without a recorded input skipped)\n", s.Records, s.Replayed, s.Skipped)
	fmt.Fprintf(w, "  same %d, changed %d, policy faults %d\n", s.Same, s.Changed, s.Faults)
	if len(s.ByCode) > 0 {
		fmt.Fprintln(w, "\nBy code (changed/total):")
		for _, code := range slices.Sorted(maps.Keys(s.ByCode)) {
			c := s.ByCode[code]
			fmt.Fprintf(w, "  %-5s %d/%d\n", strconv.Itoa(code), c.Changed, c.Total)
		}
	}
	printCounts(w, "By action (recorded→replayed):", s.ByAction)
	printCounts(w, "By reconnect delay (recorded→replayed):", s.ByDelay)
	if len(s.Cases) == 0 {
		return
	}
	fmt.Fprintf(w, "\nCases that differ (%d):\n", len(s.Cases))
	for i, c := range s.Cases {
		if i == maxCases {
			fmt.Fprintf(w, "  … %d more (--cases to show more, --json for all)\n", len(s.Cases)-maxCases)
			break
		}
		fmt.Fprintf(w, "  #%d %s %s %s %d\n", c.ID, c.At.UTC().Format(time.RFC3339), c.InstanceID, c.Kind, c.Code)
		fmt.Fprintf(w, "      recorded %s\n", c.Recorded)
		if c.Fault != "" {
			fmt.Fprintf(w, "      FAULT    %s\n", c.Fault)
		} else {
			fmt.Fprintf(w, "      replayed %s  (%v)\n", c.Replayed, c.Differs)
		}
	}
}

func printCounts(w io.Writer, title string, m map[string]int) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintln(w, "\n"+title)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(w, "  %-24s %d\n", k, m[k])
	}
}

// ForMinor wraps decide, the decisions of a module of ABI minor version
// minor, as the host asks it: an event the module's version does not know
// (a degraded event before ABI 1.2) is decided by the default policy's
// native rules instead, with a reason that says so, and a switch_proxy
// from a module older than ABI 1.3 is dropped, as the host ignores it.
func ForMinor(minor uint16, decide Decide) Decide {
	if minor >= abi.ProxyMinor {
		return decide
	}
	if minor >= abi.DegradedMinor {
		return func(ctx context.Context, input []byte) ([]byte, error) {
			return withoutSwitch(decide(ctx, input))
		}
	}
	var native defaultpolicy.Policy
	return func(ctx context.Context, input []byte) ([]byte, error) {
		var in abi.Input
		if err := abi.DecodeInput(input, &in); err != nil || in.Event.Kind != abi.KindDegraded {
			return withoutSwitch(decide(ctx, input))
		}
		d := native.Fallback(&in)
		d.Reason = "the module implements ABI 1." + strconv.Itoa(int(minor)) + ", which has no degraded event: the native rules decided: " + d.Reason
		if len(d.Reason) > abi.MaxReason {
			d.Reason = d.Reason[:abi.MaxReason]
		}
		return d.AppendJSON(nil), nil
	}
}

// withoutSwitch drops the switch_proxy of a decision document, which a
// module older than ABI 1.3 may not ask for; any other output is
// returned as it is.
func withoutSwitch(out []byte, err error) ([]byte, error) {
	if err != nil || !bytes.Contains(out, []byte(`"switch_proxy"`)) {
		return out, err
	}
	d, derr := abi.DecodeDecision(out)
	if derr != nil || d.SwitchProxy == "" {
		return out, err
	}
	d.SwitchProxy = ""
	return d.AppendJSON(nil), nil
}
