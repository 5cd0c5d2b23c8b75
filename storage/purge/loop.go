package purge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wahost/wahost/storage"
)

// Start runs the retry loop in the background until Stop or until ctx
// ends. It returns an error if the loop is already running.
func (p *Purger) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		return errors.New("purge: already started")
	}
	ctx, cancel := context.WithCancel(ctx)
	p.cancel, p.done = cancel, make(chan struct{})
	go p.loop(ctx, p.done)
	return nil
}

// Stop ends the loop and waits for the run in progress, or for ctx.
func (p *Purger) Stop(ctx context.Context) error {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.cancel, p.done = nil, nil
	p.mu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("purge: stop: %w", ctx.Err())
	}
}

func (p *Purger) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.wake:
		}
		n, err := p.runOnce(ctx)
		if err != nil && ctx.Err() == nil {
			p.cfg.Logger.Warn("cache purge retry", "done", n, "err", err)
		}
		if p.cfg.AfterRun != nil {
			p.cfg.AfterRun(n, err)
		}
		t.Reset(p.cfg.Interval)
	}
}

// runOnce retries the due purges, oldest first, and returns how many
// completed. It stops at the first one the cache cannot reach: the others
// would fail the same way.
func (p *Purger) runOnce(ctx context.Context) (int, error) {
	now := p.cfg.Now()
	due, err := p.cfg.Queue.DuePurges(ctx, now, p.cfg.Batch)
	if err != nil {
		return 0, fmt.Errorf("purge: list due: %w", err)
	}
	done := 0
	for _, pp := range due {
		_, err := p.cfg.Cache.Purge(ctx, pp.Instance)
		if err != nil {
			next := now.Add(p.cfg.Backoff(pp.Attempts))
			if qerr := p.cfg.Queue.PurgeRetry(ctx, pp.Instance, next, clip(err.Error())); qerr != nil {
				return done, fmt.Errorf("purge %s: %w; rescheduling: %w", pp.Instance, err, qerr)
			}
			if errors.Is(err, storage.ErrUnavailable) || ctx.Err() != nil {
				return done, fmt.Errorf("purge %s: %w", pp.Instance, err)
			}
			continue
		}
		if err := p.cfg.Queue.PurgeDone(ctx, pp.Instance, pp.Generation); err != nil {
			return done, fmt.Errorf("purge %s: mark done: %w", pp.Instance, err)
		}
		done++
	}
	return done, nil
}

// clip shortens a diagnostic to fit storage.MaxTextBytes, cutting at a
// character boundary and marking the cut.
func clip(msg string) string {
	if len(msg) <= storage.MaxTextBytes {
		return strings.ToValidUTF8(msg, "?")
	}
	cut := storage.MaxTextBytes - len("…")
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return strings.ToValidUTF8(msg[:cut], "?") + "…"
}
