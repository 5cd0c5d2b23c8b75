package host_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/host"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/internal/tcpproxy"
	"github.com/wahost/wahost/storage/testenv"
)

// signalling is a slog handler that reports the messages it sees.
type signalling struct {
	slog.Handler
	msgs chan string
}

func (s signalling) Enabled(context.Context, slog.Level) bool { return true }

func (s signalling) Handle(ctx context.Context, r slog.Record) error {
	select {
	case s.msgs <- r.Message:
	default:
	}
	return nil
}
func (s signalling) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s signalling) WithGroup(string) slog.Handler      { return s }

func newHost(t *testing.T, flags map[string]any, log *slog.Logger) *host.Host {
	t.Helper()
	return newHostWith(t, "", flags, log)
}

// newHostConfig is newHost with the config file at path.
func newHostConfig(t *testing.T, path string) *host.Host {
	t.Helper()
	return newHostWith(t, path, nil, nil)
}

func newHostWith(t *testing.T, path string, flags map[string]any, log *slog.Logger) *host.Host {
	t.Helper()
	all := map[string]any{
		"data_dir": t.TempDir(), "http.addr": "127.0.0.1:0", "http.api_key": apiKey,
		"policy.cache_dir": testenv.CompileCacheDir(),
	}
	for k, v := range flags {
		all[k] = v
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := wafaketest.NewServer(t, wafake.Config{})
	h, err := host.New(context.Background(), host.Options{ConfigPath: path, Flags: all, Stdout: io.Discard, Logger: log,
		WhatsAppClient: srv.HTTPClient(), ProbeAddr: srv.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestRunWaitsOutAStoreBlip: PostgreSQL unreachable between New and Run
// delays the start instead of ending the process.
func TestRunWaitsOutAStoreBlip(t *testing.T) {
	u := testenv.PostgresURL(t)
	proxy, err := tcpproxy.New(strings.Split(strings.TrimPrefix(u, "postgres://postgres@"), "/")[0])
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	dsn := "postgres://postgres@" + proxy.Addr() + "/" + strings.SplitN(strings.TrimPrefix(u, "postgres://postgres@"), "/", 2)[1]
	msgs := make(chan string, 64)
	h := newHost(t, map[string]any{"database.url": dsn, "database.schema": testenv.Name("wahost_test_")},
		slog.New(signalling{Handler: slog.DiscardHandler, msgs: msgs}))
	proxy.Cut()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	for waiting := false; !waiting; {
		select {
		case m := <-msgs:
			waiting = strings.Contains(m, "store unreachable")
		case err := <-done:
			t.Fatalf("Run ended on a store blip: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("Run neither waited nor ended")
		}
	}
	proxy.Restore()
	resp, err := http.Get("http://" + h.Addr() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz = %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestStopIsBounded: a webhook receiver that never answers cannot hold
// the stop past http.shutdown_timeout, though webhook.timeout is longer.
func TestStopIsBounded(t *testing.T) {
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hanging.Close()
	defer close(release)
	got := make(chan struct{}, 1)
	hanging.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateActive {
			select {
			case got <- struct{}{}:
			default:
			}
		}
	}
	h := newHost(t, map[string]any{"webhook.url": hanging.URL, "webhook.timeout": "5m", "webhook.lease": "10m",
		"http.shutdown_timeout": "1s"}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	th := &testHost{Host: h, t: t, base: "http://" + h.Addr()}
	if code, body := th.call("POST", "/v1/instances", map[string]any{"name": "stuck"}); code != http.StatusCreated {
		t.Fatalf("create = %d %v", code, body)
	}
	th.call("POST", "/v1/instances/stuck/connect", nil) // a QR code: a webhook to deliver
	select {
	case <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook delivery started")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the stop waited for the hanging receiver")
	}
}
