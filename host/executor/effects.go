package executor

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/reconnect"
	"github.com/wahost/wahost/storage"
)

// CleanupReport says what a logout removed, scope by scope.
type CleanupReport struct {
	// Session is the number of session rows deleted (ScopeSession).
	Session int64 `json:"session_rows"`
	// CacheKeys is the number of cache keys removed (ScopeCache).
	CacheKeys int64 `json:"cache_keys"`
	// Files is whether the instance's directory was removed (ScopeFiles).
	Files bool `json:"files_removed"`
	// Errors lists the scopes that failed, with why. A cache purge that
	// failed is retried in the background.
	Errors map[string]string `json:"errors,omitempty"`
}

// endSession closes a session for good and cleans the scopes the decision
// named, reporting each.
func (e *Executor) endSession(ctx context.Context, inst storage.Instance, code int, scope abi.Scope) CleanupReport {
	e.setEnding(inst.ID, true)
	defer e.setEnding(inst.ID, false)
	e.cfg.Scheduler.Cancel(inst.ID)
	e.forgetReopen(inst.ID)
	if err := e.cfg.Sessions.Disconnect(inst.ID); err != nil {
		e.cfg.Logger.WarnContext(ctx, "closing session", "instance", inst.Name, "error", err)
	}
	if e.cfg.Notifier != nil {
		e.cfg.Notifier.InstanceClosed(ctx, inst, code)
	}
	rep := e.cleanup(ctx, inst, scope)
	e.announceCleanup(ctx, inst, scope, rep)
	e.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "session ended",
		slog.String("instance", inst.Name), slog.String("cleanup", scope.String()),
		slog.Int64("session_rows", rep.Session), slog.Int64("cache_keys", rep.CacheKeys),
		slog.Bool("files_removed", rep.Files), slog.Any("errors", rep.Errors))
	return rep
}

// announceCleanup sends instance.cleanup with what the cleanup removed,
// once it is done: the decision's webhooks went out before it ran.
func (e *Executor) announceCleanup(ctx context.Context, inst storage.Instance, scope abi.Scope, rep CleanupReport) {
	err := e.cfg.Store.InTx(context.WithoutCancel(ctx), func(tx storage.Tx) error {
		return e.cfg.Webhooks.Enqueue(ctx, tx, inst, EventInstanceCleanup, cleanupDone{
			Instance: inst.Name, Scope: scope.String(), CleanupReport: rep,
		})
	})
	if err != nil {
		e.cfg.Logger.WarnContext(ctx, "queueing the cleanup webhook", "instance", inst.Name, "error", err)
		return
	}
	e.cfg.Webhooks.Nudge()
}

func (e *Executor) cleanup(ctx context.Context, inst storage.Instance, scope abi.Scope) CleanupReport {
	var rep CleanupReport
	fail := func(scope string, err error) {
		if rep.Errors == nil {
			rep.Errors = make(map[string]string)
		}
		rep.Errors[scope] = err.Error()
		e.cfg.Metrics.cleanupFailed(scope)
	}
	if scope&abi.ScopeSession != 0 {
		n, err := e.cfg.Sessions.ResetSession(ctx, inst.ID)
		rep.Session = n
		if err != nil {
			fail("session", err)
		}
	}
	if scope&abi.ScopeCache != 0 {
		r, err := e.cfg.Purger.Purge(ctx, inst.ID)
		rep.CacheKeys = r.Removed
		switch {
		case err != nil:
			fail("cache", err)
		case r.Pending:
			fail("cache", fmt.Errorf("cache unreachable, purge pending retry: %v", r.Cause))
		}
	}
	if scope&abi.ScopeFiles != 0 {
		removed, err := e.cfg.Files.RemoveInstance(inst.Name)
		rep.Files = removed
		if err != nil {
			fail("files", err)
		}
	}
	return rep
}

// RunReconnect carries out a reconnect: the escalation step, then the
// connect. A connect that fails comes back from the session layer as a new
// disconnect, decided like any other.
func (e *Executor) RunReconnect(ctx context.Context, job reconnect.Job) {
	log := e.cfg.Logger.With("instance_id", job.InstanceID, "step", job.Step)
	if e.isEnding(job.InstanceID) {
		return
	}
	var err error
	switch job.Step {
	case abi.StepPurge:
		_, err = e.cfg.Purger.Purge(ctx, job.InstanceID)
	case abi.StepReset:
		_, err = e.cfg.Sessions.ResetSession(ctx, job.InstanceID)
	case abi.StepRecreate:
		err = e.cfg.Sessions.Recreate(ctx, job.InstanceID)
	}
	if err != nil {
		log.WarnContext(ctx, "escalation step failed; reconnecting anyway", "error", err)
	}
	e.cfg.Metrics.reconnect(job.Step)
	if err := e.cfg.Sessions.Connect(ctx, job.InstanceID); err != nil {
		log.InfoContext(ctx, "reconnect did not start", "error", err)
	}
}

func (e *Executor) isEnding(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ending[id]
}

func (e *Executor) setEnding(id string, on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if on {
		e.ending[id] = true
	} else {
		delete(e.ending, id)
	}
}

func (e *Executor) noteReopen(id string, code int, at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.opening[id]; !ok {
		e.opening[id] = reopen{code: code, at: at}
	}
}

func (e *Executor) forgetReopen(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.opening, id)
}

func (e *Executor) takeReopen(id string) (reopen, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.opening[id]
	delete(e.opening, id)
	return r, ok
}

func randomSeed() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint32(b[:])
}
