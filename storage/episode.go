package storage

import (
	"context"
	"time"
)

// Episode outcomes: how an episode ended, or "" while it is open.
const (
	EpisodeRecovered = "recovered" // the session opened again
	EpisodeEnded     = "ended"     // the session ended for good
	EpisodeCut       = "cut"       // still out at the horizon
)

// Episode is one outage of an instance: it starts when an open session
// first drops and ends when the session is open again, when it ends for
// good, or when it is cut at the outcomes horizon. The disconnect history
// holds its drops; the episode holds their outcome, for comparing
// policies.
type Episode struct {
	ID         int64 // assigned by the store
	InstanceID string
	StartedAt  time.Time
	EndedAt    *time.Time // nil while open
	// Outcome is one of the Episode constants, "" while open.
	Outcome string
	// EndKind and EndRule say which end and which policy rule ended it for
	// good (logged_out, banned, given_up, qr_limit, …).
	EndKind, EndRule string
	Attempts         int  // reconnect decisions taken
	MaxStep          int  // highest escalation step decided
	NeededQR         bool // a new QR code or pairing was needed
	Fallbacks        int  // decisions made by the host's fallback
	Loops440         int  // drops because another client replaced the session
	// PolicySHA256 is the module that decided the first drop, Policy the
	// digest of that module with its settings, Generation its slot's
	// generation and Arm the rollout arm ("stable", "canary", or "" when
	// no rollout ran).
	PolicySHA256 string
	Policy       string
	Generation   uint64
	Arm          string
	// Mixed marks an episode decided by two policies (a swap, or a
	// rollout's share moving, in the middle); comparisons leave it out.
	Mixed bool
}

// Open reports whether the episode has not ended yet.
func (e Episode) Open() bool { return e.Outcome == "" }

// RolloutState is the durable state of a policy rollout: a restart
// resumes it at the same step.
type RolloutState struct {
	// ID names the rollout (its module digest and start).
	ID           string
	Module       string
	SHA256       string // the canary module's digest
	Policy       string // the canary's policy digest (module and settings)
	StablePolicy string // the stable policy's digest when it started
	Step         int    // index into the configured steps
	Status       string
	Reason       string
	StartedAt    time.Time
	StepStarted  time.Time
	// CanaryEpisodes and StableEpisodes are the episodes the latest
	// judgement counted on each side.
	CanaryEpisodes, StableEpisodes int
	// Detail is the latest judgement as JSON, or nil.
	Detail    []byte
	UpdatedAt time.Time
}

// Outcomes stores episodes and the rollout's state; the writes that join
// a unit of work (OpenEpisode, PutEpisode, PutRollout) are on Tx.
type Outcomes interface {
	// Episodes returns the episodes started at or after since, oldest
	// first.
	Episodes(ctx context.Context, since time.Time) ([]Episode, error)
	// CutEpisodes ends, as EpisodeCut at at, the open episodes started
	// before startedBefore, and returns how many.
	CutEpisodes(ctx context.Context, startedBefore, at time.Time) (int64, error)
	// Rollout returns the rollout state; ErrNotFound when none was
	// stored.
	Rollout(ctx context.Context) (RolloutState, error)
}
