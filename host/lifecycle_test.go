package host

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/wahost/wahost/storage/testenv"
)

// TestPartsShareOneLifecycle: every long-running part of the host —
// webhook dispatcher, reload loop, maintenance, rollout, Redis watch, purger,
// executor, reconnect scheduler, message queue, proxy prober, sessions —
// can be stopped before it starts, starts and returns, stops
// synchronously, and stops again as a no-op.
func TestPartsShareOneLifecycle(t *testing.T) {
	ctx := context.Background()
	h, err := New(ctx, Options{
		Flags: map[string]any{
			"data_dir": t.TempDir(), "http.addr": "127.0.0.1:0", "http.api_key": "test-key-0123456789",
			"policy.cache_dir": testenv.CompileCacheDir(), "cache.redis_addr": testenv.RedisAddr(t),
			"cache.prefix": testenv.Name("wahost_life_"),
		},
		Stdout: io.Discard, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = h.Close(ctx) }()
	h.sessions.SetHandler(openTap{tap: tap{exec: h.exec, qr: h.qr}, messages: h.messages})
	errc := make(chan error, 8)
	parts := h.components(errc)
	if len(parts) != 11 {
		t.Fatalf("%d parts, want 11", len(parts))
	}
	bounded := func() context.Context {
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		t.Cleanup(cancel)
		return c
	}
	for _, p := range parts {
		if err := p.c.Stop(bounded()); err != nil {
			t.Errorf("%s: Stop before Start: %v", p.name, err)
		}
	}
	// A fresh set: Stop before Start may end a part for good (sessions).
	parts = h.components(errc)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, p := range parts {
		if err := p.c.Start(runCtx); err != nil {
			t.Fatalf("%s: Start: %v", p.name, err)
		}
	}
	for i := len(parts) - 1; i >= 0; i-- {
		p := parts[i]
		if err := p.c.Stop(bounded()); err != nil {
			t.Errorf("%s: Stop: %v", p.name, err)
		}
		if err := p.c.Stop(bounded()); err != nil {
			t.Errorf("%s: second Stop: %v", p.name, err)
		}
	}
	select {
	case err := <-errc:
		t.Fatalf("a loop failed: %v", err)
	default:
	}
}
