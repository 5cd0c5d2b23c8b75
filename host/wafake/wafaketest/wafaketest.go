// Package wafaketest holds testing conveniences around package wafake: a
// server that logs to the test and closes at cleanup, SQLite-backed
// whatsmeow stores in t.TempDir(), whatsmeow clients configured so that
// only the test decides when to reconnect, and an event recorder to wait
// on with a deadline.
package wafaketest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/wahost/wahost/host/wafake"
)

// Timeout is how long the Wait helpers wait for an event.
const Timeout = 10 * time.Second

// NewServer starts a wafake.Server that logs warnings and errors to t and
// is closed when the test ends. A nil cfg.Logger is replaced.
func NewServer(t testing.TB, cfg wafake.Config) *wafake.Server {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	srv, err := wafake.NewServer(cfg)
	if err != nil {
		t.Fatalf("starting fake whatsapp server: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("closing fake whatsapp server: %v", err)
		}
	})
	return srv
}

// settleAndClose lets the logged-in clients finish what the relay sent
// them (Server.Settle) and closes srv.
func settleAndClose(t testing.TB, srv *wafake.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := srv.Settle(ctx); err != nil {
		t.Logf("settling clients before closing: %v", err)
	}
	_ = srv.Close()
}

// testWriter sends log lines to t. Servers are closed in cleanup before
// the test completes, so no line arrives after it.
type testWriter struct{ t testing.TB }

var _ io.Writer = testWriter{}

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// NewContainer opens a whatsmeow SQL store on a fresh SQLite file in
// t.TempDir() (modernc driver, foreign keys on) and closes it at cleanup.
// The file is not synced: these devices are the other side of a test, the
// phones of the people wahost's sessions talk to, and a device's store
// outlives no crash of the test.
func NewContainer(t testing.TB) *sqlstore.Container {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "whatsmeow.db") +
		"?_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)"
	c, err := sqlstore.New(context.Background(), "sqlite", dsn, nil)
	if err != nil {
		t.Fatalf("opening whatsmeow store: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("closing whatsmeow store: %v", err)
		}
	})
	return c
}

// NewDevice returns an unpaired device from a fresh container: its client
// registers and is shown QR codes.
func NewDevice(t testing.TB) *store.Device {
	t.Helper()
	return NewContainer(t).NewDevice()
}

// LinkedDevice returns a device from a fresh container that phone has
// linked (wafake.Phone.Link): its client logs in.
func LinkedDevice(t testing.TB, phone *wafake.Phone) *store.Device {
	t.Helper()
	dev := NewDevice(t)
	if _, err := phone.Link(context.Background(), dev); err != nil {
		t.Fatalf("linking device: %v", err)
	}
	return dev
}

// NewClient returns a whatsmeow client for dev that connects to srv, with
// every internal reconnect off (EnableAutoReconnect false,
// DisableLoginAutoReconnect true) and a RefreshCAT that fails, plus a
// Recorder of its events.
//
// At cleanup the logged-in clients are settled (Server.Settle) and srv is
// closed, which ends the client's connection from the server side; the
// client is deliberately not disconnected locally.
// whatsmeow's frame socket reads its connection fields without a lock in
// its read loop and when sending, so a local Disconnect while whatsmeow
// still handles a server close, or still answers the server, is a data
// race inside whatsmeow. When a script ends the stream, call WaitScript
// before the test returns for the same reason.
func NewClient(t testing.TB, dev *store.Device, srv *wafake.Server) (*whatsmeow.Client, *Recorder) {
	t.Helper()
	cli, rec := newClient(dev, srv.HTTPClient())
	t.Cleanup(func() { settleAndClose(t, srv) })
	return cli, rec
}

// NewClientVia is NewClient for any endpoint: the client's websockets go
// through h (see wafake.HTTPClientTo, wafake.DNSFailureHTTPClient). The
// client is disconnected at cleanup, which is only race-free when it never
// connected or is idle.
func NewClientVia(t testing.TB, dev *store.Device, h *http.Client) (*whatsmeow.Client, *Recorder) {
	t.Helper()
	cli, rec := newClient(dev, h)
	t.Cleanup(cli.Disconnect)
	return cli, rec
}

func newClient(dev *store.Device, h *http.Client) (*whatsmeow.Client, *Recorder) {
	cli := whatsmeow.NewClient(dev, nil)
	cli.EnableAutoReconnect = false
	cli.DisableLoginAutoReconnect = true
	cli.RefreshCAT = func(context.Context) error { return errors.New("crypto auth token refresh unsupported") }
	wafake.Route(cli, h)
	rec := new(Recorder)
	cli.AddEventHandler(rec.Handle)
	return cli, rec
}

// FastKeepAlive shrinks whatsmeow's keepalive package variables so that
// pings go out every interval to 2×interval and time out after deadline.
// They are process-globals read by running clients: call it from TestMain
// before any client starts.
func FastKeepAlive(interval, deadline time.Duration) {
	whatsmeow.KeepAliveIntervalMin = interval
	whatsmeow.KeepAliveIntervalMax = 2 * interval
	whatsmeow.KeepAliveResponseDeadline = deadline
}

// Recorder keeps every event a whatsmeow client dispatches. Handle never
// blocks, so it is safe as an event handler. The zero value is ready.
type Recorder struct {
	mu      sync.Mutex // guards events and changed
	events  []any
	changed chan struct{} // closed and replaced when an event arrives
}

// Handle records evt; register it with Client.AddEventHandler.
func (r *Recorder) Handle(evt any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, evt)
	if r.changed != nil {
		close(r.changed)
	}
	r.changed = make(chan struct{})
}

// Events returns the events recorded so far, oldest first.
func (r *Recorder) Events() []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]any(nil), r.events...)
}

// String lists the recorded event types, for failure messages.
func (r *Recorder) String() string {
	var names []string
	for _, e := range r.Events() {
		names = append(names, fmt.Sprintf("%T", e))
	}
	return "[" + strings.Join(names, " ") + "]"
}

// Await returns the first recorded event, from the start, that match
// accepts, waiting for one until ctx ends.
func (r *Recorder) Await(ctx context.Context, match func(any) bool) (any, error) {
	return r.AwaitFrom(ctx, 0, match)
}

// Len returns how many events have been recorded; pass it to AwaitFrom or
// WaitFrom to wait only for later ones.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// AwaitFrom is Await over the events recorded from index from on.
func (r *Recorder) AwaitFrom(ctx context.Context, from int, match func(any) bool) (any, error) {
	next := from
	for {
		r.mu.Lock()
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		batch, changed := r.events[min(next, len(r.events)):], r.changed
		r.mu.Unlock()
		for _, e := range batch {
			next++
			if match(e) {
				return e, nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Wait returns the first event of type T (e.g. *events.Connected) the
// client has dispatched, waiting up to Timeout, and fails the test
// otherwise.
func Wait[T any](t testing.TB, r *Recorder) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	evt, err := r.Await(ctx, func(e any) bool { _, ok := e.(T); return ok })
	if err != nil {
		var zero T
		t.Fatalf("waiting for %T: %v; events so far: %s", zero, err, r)
	}
	return evt.(T)
}

// WaitFrom returns the first event of type T, recorded at index from or
// later, that match accepts, waiting up to Timeout, and fails the test
// otherwise.
func WaitFrom[T any](t testing.TB, r *Recorder, from int, match func(T) bool) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	evt, err := r.AwaitFrom(ctx, from, func(e any) bool { v, ok := e.(T); return ok && match(v) })
	if err != nil {
		var zero T
		t.Fatalf("waiting for %T: %v; events so far: %s", zero, err, r)
	}
	return evt.(T)
}

// Accept returns the server's next connection, waiting up to Timeout.
func Accept(t testing.TB, srv *wafake.Server) *wafake.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	c, err := srv.Accept(ctx)
	if err != nil {
		t.Fatalf("accepting a connection: %v", err)
	}
	return c
}

// WaitScript waits up to Timeout for c's script to return. Call it before
// a test whose script ends the stream returns: the cleanup's Server.Close
// would otherwise cut the connection while the client still answers the
// server (e.g. the acknowledgement Conn.Flush waits for), and whatsmeow
// reads its socket fields without a lock when it sends.
func WaitScript(t testing.TB, c *wafake.Conn) {
	t.Helper()
	select {
	case <-c.ScriptDone():
	case <-time.After(Timeout):
		t.Fatalf("connection %d: script still running after %v", c.Seq(), Timeout)
	}
}
