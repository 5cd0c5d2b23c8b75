package webhook

import (
	"context"
	"sync"
)

// lifecycle is the Start/Stop state of a dispatcher run by Start.
type lifecycle struct {
	mu     sync.Mutex // guards cancel, done
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs the dispatcher (Run) in the background and returns at once.
// Starting a running dispatcher is an error.
func (d *Dispatcher) Start(ctx context.Context) error {
	d.life.mu.Lock()
	defer d.life.mu.Unlock()
	if d.life.done != nil {
		return errAlreadyRunning
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	d.life.cancel, d.life.done = cancel, done
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	return nil
}

// Stop ends a dispatcher Start started: deliveries under way may finish
// until ctx ends, then they are cut short (Abort) and go out again after
// their lease. It waits for the dispatcher and returns ctx's error if it
// had to cut. Stop is idempotent and safe before Start.
func (d *Dispatcher) Stop(ctx context.Context) error {
	d.life.mu.Lock()
	cancel, done := d.life.cancel, d.life.done
	d.life.mu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		d.Abort()
		<-done
		return ctx.Err()
	}
}
