package executor

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/disconnect"
)

// DefaultShadowBudget bounds how long a candidate policy may take on one
// disconnect before its decision is recorded as timed out.
const DefaultShadowBudget = 50 * time.Millisecond

// Shadow is a candidate policy's decision on one disconnect, recorded next
// to the active one.
type Shadow struct {
	// Decision is the candidate's decision; nil when it faulted.
	Decision json.RawMessage `json:"decision,omitempty"`
	// Differs lists the fields where it differs from the active decision
	// (action, delay_ms, step, cleanup, end); empty when they agree.
	Differs []string `json:"differs,omitempty"`
	// Fault is why the candidate gave no decision.
	Fault     string `json:"fault,omitempty"`
	LatencyUS int64  `json:"latency_us"`
}

// ShadowDiff is a disconnect where the candidate disagreed with or failed
// beside the active policy, for the API.
type ShadowDiff struct {
	At           time.Time       `json:"at"`
	InstanceID   string          `json:"instance_id"`
	Instance     string          `json:"instance"`
	Kind         abi.Kind        `json:"kind"`
	Code         int             `json:"code"`
	Active       json.RawMessage `json:"active"`
	ActiveSHA256 string          `json:"active_sha256"`
	Shadow
	ShadowSHA256 string `json:"shadow_sha256"`
}

// shadowLog keeps the latest diffs.
type shadowLog struct {
	mu     sync.Mutex   // guards diffs and totals
	diffs  []ShadowDiff // ring, oldest first
	totals ShadowTotals
}

const maxShadowDiffs = 200

// ShadowTotals counts the candidate's decisions since the host started,
// by result.
type ShadowTotals struct {
	Same      uint64 `json:"same"`
	Different uint64 `json:"different"`
	Fault     uint64 `json:"fault"`
}

func (l *shadowLog) count(result string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch result {
	case "same":
		l.totals.Same++
	case "different":
		l.totals.Different++
	default:
		l.totals.Fault++
	}
}

// ShadowTotals returns how often the candidate agreed with the active
// policy, disagreed or faulted, since the host started.
func (e *Executor) ShadowTotals() ShadowTotals {
	e.shadows.mu.Lock()
	defer e.shadows.mu.Unlock()
	return e.shadows.totals
}

func (l *shadowLog) add(d ShadowDiff) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.diffs) == maxShadowDiffs {
		l.diffs = slices.Delete(l.diffs, 0, 1)
	}
	l.diffs = append(l.diffs, d)
}

// ShadowDiffs returns the latest disconnects (up to 200) where the
// candidate policy differed from the active one or faulted, newest first.
func (e *Executor) ShadowDiffs() []ShadowDiff {
	e.shadows.mu.Lock()
	defer e.shadows.mu.Unlock()
	out := slices.Clone(e.shadows.diffs)
	slices.Reverse(out)
	return out
}

// shadow runs the candidate on the input the active policy decided. It
// runs after the active decision, so it never competes with it for the
// engine, and within the shadow budget, so a slow or looping candidate
// delays the unit of work by at most that much. Nothing it does changes
// the active decision.
func (e *Executor) shadow(ctx context.Context, p disconnect.Policy, in *abi.Input, active *disconnect.Outcome) (doc []byte, sha string, s Shadow) {
	budget := e.cfg.ShadowBudget
	if budget <= 0 {
		budget = DefaultShadowBudget
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	defer cancel()
	start := time.Now()
	ans, err := p.Decide(sctx, in.AppendJSON(nil))
	s.LatencyUS = time.Since(start).Microseconds()
	sha = ans.SHA256
	var d abi.Decision
	if err == nil {
		d, err = abi.ParseDecision(ans.Out, e.cfg.Decider.Limits())
	}
	result := "same"
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || sctx.Err() != nil {
			s.Fault = "shadow budget exceeded: " + err.Error()
		} else {
			s.Fault = err.Error()
		}
		result = "fault"
	} else {
		s.Decision = d.AppendJSON(nil)
		s.Differs = active.Decision.Differences(&d)
		if len(s.Differs) > 0 {
			result = "different"
		}
	}
	e.cfg.Metrics.shadowed(result)
	e.shadows.count(result)
	doc, _ = json.Marshal(s)
	return doc, sha, s
}

func newShadowCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wahost_shadow_decisions_total",
		Help: "Candidate policy decisions made in shadow, by result: same, different or fault.",
	}, []string{"result"})
}
