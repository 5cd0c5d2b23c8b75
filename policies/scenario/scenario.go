// Package scenario runs policy scenario files: inputs with the decision
// fields a policy must return for them. `wahost policy test` is its command
// line; the default policy's scenarios live in policies/default/scenarios.
//
// A scenario file is JSON:
//
//	{
//	  "name": "seed code table",
//	  "settings": {"jitter_pct": 0},
//	  "base": {"instance": {"phase": "open"}},
//	  "cases": [
//	    {"name": "428 reconnects after 2 s",
//	     "input": {"event": {"kind": "disconnected", "code": 428}},
//	     "expect": {"action": "reconnect", "delay_ms": 2000, "step": 1}}
//	  ]
//	}
//
// Each case's input is the base input (see Base) overlaid with the file's
// "base" and then the case's "input": objects merge key by key, anything
// else replaces. History entries may give "ago_ms" instead of "at_ms".
package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/wahost/wahost/abi"
)

// Decider is what a scenario runs against: a loaded module or a native
// policy. It returns the decision document, or an error for a fault or a
// policy error.
type Decider interface {
	Decide(ctx context.Context, input []byte) ([]byte, error)
}

// File is one scenario file.
type File struct {
	Name     string          `json:"name"`
	Settings json.RawMessage `json:"settings"`
	Base     json.RawMessage `json:"base"`
	Cases    []Case          `json:"cases"`
}

// Case is one input and what the decision must hold.
type Case struct {
	Name   string          `json:"name"`
	Input  json.RawMessage `json:"input"`
	Expect Expect          `json:"expect"`
}

// Expect lists decision fields to check; fields left out are not checked.
type Expect struct {
	Action     *string   `json:"action"`
	DelayMS    *int64    `json:"delay_ms"`
	DelayMinMS *int64    `json:"delay_min_ms"`
	DelayMaxMS *int64    `json:"delay_max_ms"`
	Step       *int      `json:"step"`
	Cleanup    *[]string `json:"cleanup"`
	End        *string   `json:"end"`
	QRCount    *int      `json:"qr_count"`
	NoQRCount  bool      `json:"no_qr_count"`
	// SwitchProxy is the decision's switch_proxy: "next" for true, a
	// proxy id, or "" for none.
	SwitchProxy    *string `json:"switch_proxy"`
	Rule           *string `json:"rule"`
	ReasonContains *string `json:"reason_contains"`
	// Error expects the policy to refuse the input with an error message
	// containing this text.
	Error *string `json:"error"`
}

// Load reads and parses a scenario file.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parsing scenario file %s: %w", path, err)
	}
	if f.Name == "" {
		f.Name = path
	}
	for i, c := range f.Cases {
		if c.Name == "" {
			return nil, fmt.Errorf("scenario file %s: case %d has no name", path, i+1)
		}
	}
	return &f, nil
}

// Failure is one case that did not hold.
type Failure struct {
	File, Case string
	Problems   []string
}

func (f Failure) String() string {
	return fmt.Sprintf("FAIL %s: %s: %s", f.File, f.Case, strings.Join(f.Problems, "; "))
}

// Result counts a run.
type Result struct {
	Passed   int
	Failures []Failure
}

// Run runs every case of f against d.
func Run(ctx context.Context, d Decider, f *File, limits abi.Limits) (Result, error) {
	var res Result
	for _, c := range f.Cases {
		input, err := BuildInput(f.Settings, f.Base, c.Input)
		if err != nil {
			return res, fmt.Errorf("scenario %s: case %q: %w", f.Name, c.Name, err)
		}
		out, derr := d.Decide(ctx, input)
		problems := check(c.Expect, out, derr, limits)
		if len(problems) == 0 {
			res.Passed++
			continue
		}
		res.Failures = append(res.Failures, Failure{File: f.Name, Case: c.Name, Problems: problems})
	}
	return res, nil
}

func check(e Expect, out []byte, derr error, limits abi.Limits) []string {
	if e.Error != nil {
		switch {
		case derr == nil:
			return []string{fmt.Sprintf("want an error containing %q, got decision %s", *e.Error, out)}
		case !strings.Contains(derr.Error(), *e.Error):
			return []string{fmt.Sprintf("error %q does not contain %q", derr, *e.Error)}
		}
		return nil
	}
	if derr != nil {
		return []string{"policy failed: " + derr.Error()}
	}
	d, err := abi.ParseDecision(out, limits)
	if err != nil {
		return []string{fmt.Sprintf("invalid decision %s: %v", out, err)}
	}
	var p []string
	mismatch := func(field string, got, want any) {
		p = append(p, fmt.Sprintf("%s: got %v, want %v", field, got, want))
	}
	if e.Action != nil && string(d.Action) != *e.Action {
		mismatch("action", d.Action, *e.Action)
	}
	if e.DelayMS != nil && d.DelayMS != *e.DelayMS {
		mismatch("delay_ms", d.DelayMS, *e.DelayMS)
	}
	if e.DelayMinMS != nil && d.DelayMS < *e.DelayMinMS {
		mismatch("delay_ms", d.DelayMS, fmt.Sprintf(">= %d", *e.DelayMinMS))
	}
	if e.DelayMaxMS != nil && d.DelayMS > *e.DelayMaxMS {
		mismatch("delay_ms", d.DelayMS, fmt.Sprintf("<= %d", *e.DelayMaxMS))
	}
	if e.Step != nil && d.Step != *e.Step {
		mismatch("step", d.Step, *e.Step)
	}
	if e.SwitchProxy != nil && d.SwitchProxy != *e.SwitchProxy {
		mismatch("switch_proxy", strconv.Quote(d.SwitchProxy), strconv.Quote(*e.SwitchProxy))
	}
	if e.Cleanup != nil {
		want := slices.Clone(*e.Cleanup)
		slices.Sort(want)
		got := d.Cleanup.Names()
		slices.Sort(got)
		if !slices.Equal(got, want) {
			mismatch("cleanup", got, want)
		}
	}
	if e.End != nil && string(d.End) != *e.End {
		mismatch("end", d.End, *e.End)
	}
	switch {
	case e.QRCount != nil && (d.QRCount == nil || *d.QRCount != *e.QRCount):
		mismatch("qr_count", fmtQR(d.QRCount), *e.QRCount)
	case e.NoQRCount && d.QRCount != nil:
		mismatch("qr_count", *d.QRCount, "unset")
	}
	if e.Rule != nil && d.Rule != *e.Rule {
		mismatch("rule", d.Rule, *e.Rule)
	}
	if e.ReasonContains != nil && !strings.Contains(d.Reason, *e.ReasonContains) {
		mismatch("reason", fmt.Sprintf("%q", d.Reason), fmt.Sprintf("text containing %q", *e.ReasonContains))
	}
	return p
}

func fmtQR(n *int) any {
	if n == nil {
		return "unset"
	}
	return *n
}
