package host_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/wahost/wahost/host"
	"github.com/wahost/wahost/storage/testenv"
)

// TestNewFailsWithoutPanicking: a start that fails returns its error (it
// used to panic on a nil host) and closes what it opened, so the same
// data directory opens again at once, and no goroutine is left behind.
func TestNewFailsWithoutPanicking(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()

	cases := []struct {
		name  string
		flags map[string]any
		want  string
	}{
		{"port in use", map[string]any{"http.addr": busy.Addr().String()}, "http.addr"},
		{"policy module missing", map[string]any{"policy.module": "/nonexistent.wasm"}, "nonexistent.wasm"},
		{"postgres refuses", map[string]any{"database.url": "postgres://postgres@" + refusedAddr + "/test?sslmode=disable&connect_timeout=5"}, refusedAddr},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dataDir := t.TempDir()
			flags := map[string]any{
				"data_dir": dataDir, "http.addr": "127.0.0.1:0", "http.api_key": apiKey,
				"policy.cache_dir": testenv.CompileCacheDir(),
			}
			for k, v := range c.flags {
				flags[k] = v
			}
			opts := host.Options{Flags: flags, Stdout: io.Discard, Logger: slog.New(slog.DiscardHandler)}
			before := map[string]bool{}
			for _, g := range goroutines() {
				before[g.id] = true
			}
			h, err := host.New(context.Background(), opts)
			if err == nil {
				t.Fatal("New succeeded")
			}
			if h != nil {
				t.Fatalf("New returned a host with error %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not name %q", err, c.want)
			}
			checkNoLeaks(t, before)
			// Everything New opened was closed: the same data directory
			// and address open again.
			opts.Flags = map[string]any{"data_dir": dataDir, "http.addr": "127.0.0.1:0", "http.api_key": apiKey,
				"policy.cache_dir": testenv.CompileCacheDir()}
			h, err = host.New(context.Background(), opts)
			if err != nil {
				t.Fatalf("second New on the same data directory: %v", err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- h.Run(ctx) }()
			resp, err := http.Get("http://" + h.Addr() + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSecondHostOnOneDataDir: SQLite serves one host, so a second one on
// the same data directory fails at start with one line naming the key, a
// configuration error (exit code 2); once the first stops, it starts.
func TestSecondHostOnOneDataDir(t *testing.T) {
	flags := map[string]any{
		"data_dir": t.TempDir(), "http.addr": "127.0.0.1:0", "http.api_key": apiKey,
		"policy.cache_dir": testenv.CompileCacheDir(),
	}
	opts := host.Options{Flags: flags, Stdout: io.Discard, Logger: slog.New(slog.DiscardHandler)}
	first, err := host.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	second, err := host.New(context.Background(), opts)
	if err == nil {
		_ = second.Close(context.Background())
		t.Fatal("a second host on the same data directory started")
	}
	if !host.IsConfigError(err) || !strings.Contains(err.Error(), "data_dir") ||
		!strings.Contains(err.Error(), "in use by another wahost process") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("second start: %v; want one line naming data_dir, a configuration error", err)
	}
	if err := first.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	again, err := host.New(context.Background(), opts)
	if err != nil {
		t.Fatalf("start after the first host stopped: %v", err)
	}
	_ = again.Close(context.Background())
}
