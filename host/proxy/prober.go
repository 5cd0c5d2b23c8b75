package proxy

import (
	"context"
	"log/slog"
	"sync"
)

// Prober probes the down proxies of a Health every Breaker.ProbeInterval
// in the background (Health.Probe is one round); while no proxy is down
// it waits without a timer.
type Prober struct {
	health *Health
	log    *slog.Logger

	mu     sync.Mutex // guards cancel and done
	cancel context.CancelFunc
	done   chan struct{}
}

// NewProber returns a Prober for h; log nil means slog.Default().
func NewProber(h *Health, log *slog.Logger) *Prober {
	if log == nil {
		log = slog.Default()
	}
	return &Prober{health: h, log: log}
}

// Start runs the probes until Stop.
func (p *Prober) Start(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancel != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go p.run(ctx, p.done)
	return nil
}

func (p *Prober) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	for {
		// No timer while every proxy is up: an idle host has nothing
		// to probe.
		if !p.health.anyDown() {
			select {
			case <-ctx.Done():
				return
			case <-p.health.downs:
			}
		}
		t := p.health.clock.NewTimer(p.health.cfg.ProbeInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		for _, id := range p.health.Probe(ctx) {
			p.log.InfoContext(ctx, "proxy answers again", "proxy", id)
		}
	}
}

// Stop ends the probes and waits for the round in progress; it is
// idempotent and safe before Start.
func (p *Prober) Stop(context.Context) error {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.cancel, p.done = nil, nil
	p.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done
	return nil
}
