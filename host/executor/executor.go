// Package executor carries decisions out. For every disconnect it builds
// the policy's input from the instance's state and history, asks the
// decider, and then, in this order: one unit of work that writes the
// instance's state, the disconnect with its decision and the webhooks
// announcing it (so a rolled-back change never emits a webhook and a
// committed one never loses it), committed in a group with the units of
// other instances arriving at the same time (group.go); then the side
// effects — the reconnect scheduled with its escalation step, or the
// session closed and cleaned up.
//
// It also turns the session's other reports (QR codes, pairing, opening)
// into state and webhooks, and offers the manual recovery operations the
// API calls.
package executor

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/disconnect"
	"github.com/wahost/wahost/host/reconnect"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/purge"
)

// Sessions are the session operations the executor needs.
type Sessions interface {
	// Connect starts a login: QR codes for an unpaired instance, a login
	// for a paired one.
	Connect(ctx context.Context, instanceID string) error
	// Disconnect closes the instance's connection, if any.
	Disconnect(instanceID string) error
	// ResetSession deletes the instance's device keys and session rows; a
	// new QR scan is needed afterwards. It reports how many rows it
	// removed.
	ResetSession(ctx context.Context, instanceID string) (int64, error)
	// Recreate closes the instance's client and builds a fresh one on the
	// same device.
	Recreate(ctx context.Context, instanceID string) error
}

// Webhooks writes webhook rows inside a unit of work and wakes the
// dispatcher after commit.
type Webhooks interface {
	Enqueue(ctx context.Context, tx storage.Tx, inst storage.Instance, event string, payload any) error
	Nudge()
}

// Purger purges an instance's cache, recording a pending purge when the
// cache is unreachable (storage/purge).
type Purger interface {
	Purge(ctx context.Context, instance string) (purge.Result, error)
}

// Files removes an instance's directory under the data directory.
type Files interface {
	RemoveInstance(name string) (bool, error)
}

// Notifier is told about permanent disconnections (a Chatwoot integration,
// say). It must not block.
type Notifier interface {
	InstanceClosed(ctx context.Context, inst storage.Instance, code int)
}

// Config configures an Executor.
type Config struct {
	Store     storage.Store
	Decider   *disconnect.Decider
	Scheduler *reconnect.Scheduler
	Sessions  Sessions
	Webhooks  Webhooks
	Purger    Purger
	Files     Files
	// Notifier is optional.
	Notifier Notifier
	// Settings returns the policy settings for an instance (the host's,
	// or its override).
	Settings func(inst storage.Instance) abi.Settings
	// QRLimit is the default QR limit; an instance's settings override it.
	QRLimit int
	Clock   clock.Clock
	Logger  *slog.Logger
	Metrics *Metrics
	// Random draws jitter seeds. Default a process-wide source.
	Random func() uint32
	// Override, if set, returns the named per-instance policy and its
	// settings (an instance's settings name it); ok is false for a name
	// the config does not have, and the host's policy decides.
	Override func(name string) (p disconnect.Policy, settings abi.Settings, ok bool)
	// Candidate, if set, returns the policy to evaluate in shadow beside
	// the active one (nil when there is none).
	Candidate func() disconnect.Policy
	// Rollout, if set, routes the instances in a rollout's canary share
	// to the canary policy; instances with an override are left out.
	Rollout Rollout
	// ShadowBudget bounds a candidate's decision; default
	// DefaultShadowBudget.
	ShadowBudget time.Duration
	// OnEnd, if set, runs inside the unit of work that ends an instance's
	// session for good (a decision that does not reconnect, or a reset):
	// the messaging service fails the queued messages there, so the
	// failure commits with the end. An error rolls the unit back.
	OnEnd func(ctx context.Context, tx storage.Tx, inst storage.Instance) error
	// Traffic, if set, gives every input its traffic counters
	// (host/traffic's Monitor).
	Traffic Traffic
	// Proxies, if set, gives the input of an instance behind a proxy its
	// proxy (ABI 1.3) and carries out switch_proxy.
	Proxies Proxies
}

// Traffic gives an instance's traffic counters.
type Traffic interface {
	Snapshot(instanceID string) abi.Traffic
}

// Executor carries out decisions. It is safe for concurrent use; the
// session layer calls it on each instance's own ordered worker.
type Executor struct {
	cfg Config

	mu      sync.Mutex // guards opening, ending, known, backlog, fired, runners, reads, reading, stopped and wg.Add
	opening map[string]reopen
	ending  map[string]bool
	known   map[string]storage.Instance // last state read or written, to decide while the store is away
	backlog map[string][]unit           // units of work waiting for the store, per instance in order
	fired   []reconnect.Job             // due reconnects waiting for a runner
	runners int
	reads   []*readPending // decision inputs waiting to be read in a group
	reading int            // goroutines reading groups
	stopped bool

	commits *storage.Committer // the group commit of decisions' units of work
	warming atomic.Bool        // a warmPolicy under way

	ctx     context.Context // parent of the executor's goroutines; cancelled by Stop
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	drained chan struct{} // signalled when the backlog empties
	shadows shadowLog
}

// reopen remembers a disconnect that a reconnect is meant to repair, for
// reconnection.success.
type reopen struct {
	code int
	at   time.Time
}

// New returns an executor.
func New(cfg Config) *Executor {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Settings == nil {
		cfg.Settings = func(storage.Instance) abi.Settings { return abi.Settings("{}") }
	}
	if cfg.Random == nil {
		cfg.Random = randomSeed
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Executor{
		cfg: cfg, opening: make(map[string]reopen), ending: make(map[string]bool),
		known: make(map[string]storage.Instance), backlog: make(map[string][]unit),
		ctx: ctx, cancel: cancel, drained: make(chan struct{}, 1),
		commits: &storage.Committer{Store: cfg.Store, Max: maxGroup, Leaders: maxGroups},
	}
}
