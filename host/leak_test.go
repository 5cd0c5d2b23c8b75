package host_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/host"
	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/storage/testenv"
)

// goroutine is one entry of a full stack dump.
type goroutine struct {
	id    string
	stack string
}

// goroutines returns every goroutine but the caller's.
func goroutines() []goroutine {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []goroutine
	for i, block := range bytes.Split(buf, []byte("\n\n")) {
		if i == 0 {
			continue // the caller
		}
		s := string(block)
		id, _, _ := strings.Cut(strings.TrimPrefix(s, "goroutine "), " ")
		out = append(out, goroutine{id: id, stack: s})
	}
	return out
}

// asyncEnd reports whether g ends on its own shortly after what started
// it was closed: whatsmeow's websocket pumps (they are not joined by
// Disconnect), net/http's per-connection loops, client and server side,
// which see the close when their read returns, and pgxpool's health
// check, its first idle connections and puddle's connection attempts,
// which Pool.Close signals but does not wait for; database/sql's
// connection opener, which DB.Close cancels but does not wait for either;
// and any goroutine that has returned and is exiting (runtime.goexit1),
// such as the test's own, which ran Run.
func asyncEnd(g goroutine) bool {
	for _, f := range []string{"runtime.goexit1(", "go.mau.fi/whatsmeow/socket.", "github.com/coder/websocket.",
		"net/http.(*persistConn).", "net/http.(*conn).serve",
		"github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck",
		"github.com/jackc/pgx/v5/pgxpool.(*Pool).createIdleResources", "github.com/jackc/puddle/v2.",
		"database/sql.(*DB).connectionOpener("} {
		if strings.Contains(g.stack, f) {
			return true
		}
	}
	return false
}

// processWide reports whether g is one the runtime starts once for the
// process and keeps (signal delivery).
func processWide(g goroutine) bool {
	return strings.Contains(g.stack, "os/signal.loop")
}

// leaked returns the goroutines started since before that still run.
func leaked(before map[string]bool) (now, later []goroutine) {
	for _, g := range goroutines() {
		switch {
		case before[g.id], processWide(g):
		case asyncEnd(g):
			later = append(later, g)
		default:
			now = append(now, g)
		}
	}
	return now, later
}

// checkNoLeaks fails t if a goroutine started since before still runs:
// at once for the host's own, within a deadline for whatsmeow's sockets.
func checkNoLeaks(t *testing.T, before map[string]bool) {
	t.Helper()
	now, later := leaked(before)
	for _, g := range now {
		t.Errorf("goroutine left running after the stop:\n%s", g.stack)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(later) > 0 && time.Now().Before(deadline) {
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond) // polling the socket pumps only: they end asynchronously
		_, later = leaked(before)
	}
	for _, g := range later {
		t.Errorf("connection goroutine still running 10s after the stop:\n%s", g.stack)
	}
}

// TestStopLeavesNoGoroutines: a host that paired an instance, delivered
// webhooks and served the API leaves no goroutine behind once Run has
// returned.
func TestStopLeavesNoGoroutines(t *testing.T) {
	srv, err := wafake.NewServer(wafake.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	w := &world{srv: srv, clk: clock.NewFake(time.Now()), hooks: newReceiver(t, "")}
	// The test's servers stay up: connections the host left open to them
	// would show.
	before := map[string]bool{}
	for _, g := range goroutines() {
		before[g.id] = true
	}
	h, err := host.New(context.Background(), host.Options{
		Flags: map[string]any{
			"data_dir": t.TempDir(), "http.addr": "127.0.0.1:0", "http.api_key": apiKey, "log.level": "error",
			"policy.cache_dir": testenv.CompileCacheDir(), "webhook.url": w.hooks.URL,
		},
		Stdout: io.Discard, Logger: slog.New(slog.DiscardHandler), Clock: w.clk,
		WhatsAppClient: srv.HTTPClient(), ProbeAddr: srv.Addr(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	w.testHost = &testHost{Host: h, t: t, base: "http://" + h.Addr()}
	w.waitReady()
	w.pair("leaks")
	if code, _ := w.call("GET", "/v1/instances/leaks", nil); code != http.StatusOK {
		t.Fatalf("get = %d", code)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	http.DefaultClient.CloseIdleConnections() // the test's own API calls
	checkNoLeaks(t, before)
}
