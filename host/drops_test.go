package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/rediscache"
	"github.com/wahost/wahost/storage/testenv"
)

// world is a host on a fake clock, with its sessions routed to a fake
// WhatsApp server and its webhooks to a receiver.
type world struct {
	*testHost
	srv     *wafake.Server
	clk     *clock.Fake
	hooks   *receiver
	seen    int // webhooks consumed by next
	accepts int // connections the server had accepted before a drop
	timers  int // timers always pending on clk (a rollout's check)
}

func newWorld(t *testing.T, flags map[string]any) *world {
	t.Helper()
	w := &world{srv: wafaketest.NewServer(t, wafake.Config{}), clk: clock.NewFake(time.Now()), hooks: newReceiver(t, "")}
	all := map[string]any{"webhook.url": w.hooks.URL}
	for k, v := range flags {
		all[k] = v
	}
	w.testHost = startWith(t, w.srv, "", all, w.clk, nil)
	return w
}

// next waits for the next webhook of the given event after those already
// consumed.
func (w *world) next(event string, ok func(webhook.Envelope) bool) webhook.Envelope {
	w.t.Helper()
	i, env := w.hooks.awaitFrom(w.seen, event, func(e webhook.Envelope) bool {
		return e.Event == event && (ok == nil || ok(e))
	})
	w.seen = i + 1
	return env
}

func (w *world) accept() *wafake.Conn {
	w.t.Helper()
	return w.acceptWhere(func(*wafake.Conn) bool { return true })
}

// acceptWhere returns the next connection that matches, passing over
// earlier ones the test did not take (those of other instances).
func (w *world) acceptWhere(match func(*wafake.Conn) bool) *wafake.Conn {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		c, err := w.srv.Accept(ctx)
		if err != nil {
			w.t.Fatal(err)
		}
		if match(c) {
			return c
		}
	}
}

// reconnectDue moves the fake clock to the instance's pending reconnect:
// it fires then, and not before.
func (w *world) reconnectDue(name string) {
	w.t.Helper()
	select {
	case <-w.clk.WaitForTimers(1 + w.timers):
	case <-time.After(30 * time.Second):
		w.t.Fatal("no reconnect was scheduled")
	}
	_, diag := w.call("GET", "/v1/instances/"+name+"/diagnostics", nil)
	p, _ := diag["pending_reconnect"].(map[string]any)
	if p == nil {
		w.t.Fatalf("no pending reconnect: %v", diag)
	}
	due, err := time.Parse(time.RFC3339Nano, p["due"].(string))
	if err != nil {
		w.t.Fatal(err)
	}
	if d := due.Sub(w.clk.Now()); d > time.Millisecond {
		w.clk.Advance(d - time.Millisecond)
		if n := w.srv.Accepts(); n != w.accepts {
			w.t.Fatalf("reconnected before the decided time (%d connections, %d before the drop)", n, w.accepts)
		}
		w.clk.Advance(time.Millisecond)
	} else {
		w.clk.Advance(d)
	}
}

// pair logs an instance in by QR code and returns its open connection.
func (w *world) pair(name string) *wafake.Conn {
	w.t.Helper()
	if code, body := w.call("POST", "/v1/instances", map[string]any{"name": name}); code != http.StatusCreated {
		w.t.Fatalf("create = %d %v", code, body)
	}
	code, body := w.call("POST", "/v1/instances/"+name+"/connect", nil)
	qr, _ := body["qr"].(map[string]any)
	if code != http.StatusOK || qr == nil {
		w.t.Fatalf("connect = %d %v", code, body)
	}
	first := w.acceptWhere((*wafake.Conn).Registering)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	jid, err := first.Pair(ctx, wafake.NewPhone("5511977776666"), qr["code"].(string))
	if err != nil {
		w.t.Fatal(err)
	}
	if err := wafake.StreamError("515")(ctx, first); err != nil {
		w.t.Fatal(err)
	}
	w.next("disconnect.decided", func(e webhook.Envelope) bool { return e.Instance == name })
	w.accepts = w.srv.Accepts()
	w.reconnectDue(name)
	c := w.acceptWhere(func(c *wafake.Conn) bool { return c.DeviceJID() == jid })
	w.next("connection.update", func(e webhook.Envelope) bool { return e.Instance == name && state(e) == "open" })
	w.next("reconnection.success", func(e webhook.Envelope) bool { return e.Instance == name })
	return c
}

func decided(env webhook.Envelope) (kind string, code int, decision map[string]any) {
	var d struct {
		Kind     string         `json:"kind"`
		Code     int            `json:"code"`
		Decision map[string]any `json:"decision"`
	}
	_ = json.Unmarshal(env.Data, &d)
	return d.Kind, d.Code, d.Decision
}

// TestDropsEndToEnd: for each way WhatsApp ends a session, the fake server
// causes it, the real whatsmeow client sees it, the built-in WASM policy
// decides, and the host carries it out — the reconnect at the decided time
// on the fake clock, or the logout with its cleanup — with the webhooks
// an app consumes.
func TestDropsEndToEnd(t *testing.T) {
	redisPrefix := testenv.Name("wahost_e2e_")
	w := newWorld(t, map[string]any{"cache.redis_addr": testenv.RedisAddr(t), "cache.prefix": redisPrefix})
	conn := w.pair("sales")

	reconnects := []struct {
		name string
		drop wafake.Script
		kind string
		code int
	}{
		{"restart required", wafake.StreamError("515"), "restart_required", 515},
		{"connection lost", wafake.Drop(), "disconnected", 428},
		{"stream error 503", wafake.StreamError("503"), "stream_error", 503},
		{"replaced by another client", wafake.StreamReplaced(), "stream_replaced", 440},
	}
	for _, r := range reconnects {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		w.accepts = w.srv.Accepts()
		<-conn.ScriptDone() // the login's own script has finished
		if err := r.drop(ctx, conn); err != nil {
			// The client may close first when it reads the stream
			// error; the drop happened, and the decision below tells.
			t.Logf("%s: %v", r.name, err)
		}
		kind, code, d := decided(w.next("disconnect.decided", nil))
		if kind != r.kind || code != r.code || d["action"] != "reconnect" {
			t.Fatalf("%s: decided %s %d %v", r.name, kind, code, d)
		}
		w.next("connection.update", func(e webhook.Envelope) bool { return state(e) == "connecting" })
		w.reconnectDue("sales")
		conn = w.accept()
		w.next("connection.update", func(e webhook.Envelope) bool { return state(e) == "open" })
		env := w.next("reconnection.success", nil)
		var rs map[string]any
		_ = json.Unmarshal(env.Data, &rs)
		if rs["previousDisconnectCode"] != float64(r.code) || rs["reconnectionTime"] != float64(d["delay_ms"].(float64)) {
			t.Fatalf("%s: reconnection.success %v after a %v ms delay", r.name, rs, d["delay_ms"])
		}
		cancel()
	}

	// The phone removes the device: a logout that cleans everything.
	_, inst := w.call("GET", "/v1/instances/sales", nil)
	id := inst["id"].(string)
	cache, err := rediscache.New(rediscache.Config{Addr: testenv.RedisAddr(t), Prefix: redisPrefix})
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	ctx := context.Background()
	if err := cache.Set(ctx, id, "chats", []byte("cached"), time.Hour); err != nil {
		t.Fatal(err)
	}
	files := filepath.Join(w.dataDir, "instances", "sales")
	if err := os.MkdirAll(files, 0o700); err != nil {
		t.Fatal(err)
	}
	<-conn.ScriptDone()
	if err := wafake.DeviceRemoved()(ctx, conn); err != nil {
		t.Logf("device removed: %v", err)
	}
	kind, code, d := decided(w.next("disconnect.decided", nil))
	if kind != "logged_out" || code != 401 || d["action"] != "logout" {
		t.Fatalf("device removed: decided %s %d %v", kind, code, d)
	}
	w.next("status.instance", nil)
	w.next("logout.instance", nil)
	w.next("connection.update", func(e webhook.Envelope) bool { return state(e) == "close" })
	var report map[string]any
	_ = json.Unmarshal(w.next("instance.cleanup", nil).Data, &report)
	// session_rows may be 0: on a logout whatsmeow deletes its device
	// itself, and the session cleanup removes what it leaves.
	if report["scope"] != "session,cache,files" || report["cache_keys"] != float64(1) || report["files_removed"] != true {
		t.Fatalf("instance.cleanup = %v", report)
	}
	if _, err := cache.Get(ctx, id, "chats"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("cache key after the logout: %v", err)
	}
	if _, err := os.Stat(files); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("instance files after the logout: %v", err)
	}
	_, diag := w.call("GET", "/v1/instances/sales/diagnostics", nil)
	if creds := diag["credentials"].(map[string]any); creds["keys"] != false {
		t.Fatalf("session keys after the logout: %v", creds)
	}
	_, inst = w.call("GET", "/v1/instances/sales", nil)
	if inst["status"] != "close" || inst["disconnection_reason_code"] != float64(401) {
		t.Fatalf("instance after the logout: %v", inst)
	}
	_, hist := w.call("GET", "/v1/instances/sales/disconnects", nil)
	if n := len(hist["disconnects"].([]any)); n != len(reconnects)+2 {
		t.Fatalf("%d disconnects recorded, want %d", n, len(reconnects)+2)
	}
}
