package host

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// component is the lifecycle every long-running part of the host shares:
// Start returns once the part runs in the background; Stop is synchronous,
// idempotent and safe before Start, and gives up when its context ends.
// The host starts its parts in order and stops them in reverse under one
// deadline (http.shutdown_timeout), so the bounded stop is one loop.
type component interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// part is a started component and its name in errors.
type part struct {
	name string
	c    component
}

// loop runs one of the host's own loops (the reload loop, the
// maintenance, the Redis watch) as a component; a loop that fails reports
// to errc, which stops the host.
type loop struct {
	name string
	run  func(ctx context.Context) error
	errc chan<- error

	mu     sync.Mutex // guards cancel, done
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs the loop in the background.
func (l *loop) Start(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done != nil {
		return fmt.Errorf("%s: already started", l.name)
	}
	ctx, l.cancel = context.WithCancel(ctx)
	l.done = make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		if err := l.run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			select {
			case l.errc <- fmt.Errorf("%s: %w", l.name, err):
			default:
			}
		}
	}(l.done)
	return nil
}

// Stop ends the loop and waits for it until ctx ends.
func (l *loop) Stop(ctx context.Context) error {
	l.mu.Lock()
	cancel, done := l.cancel, l.done
	l.mu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stopOnly is a component that runs on its callers' goroutines and only
// needs stopping (the executor).
type stopOnly func(ctx context.Context) error

func (stopOnly) Start(context.Context) error      { return nil }
func (s stopOnly) Stop(ctx context.Context) error { return s(ctx) }

// starting is a component whose Start waits out a store blip (the store
// may be unreachable between New and Run).
type starting struct {
	component
	start func(ctx context.Context) error
}

func (s starting) Start(ctx context.Context) error { return s.start(ctx) }
