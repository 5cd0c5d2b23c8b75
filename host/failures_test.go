package host_test

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/host/webhook"
)

// network routes the host's WhatsApp connections: to the fake server, to
// a port that refuses, or into a failing name lookup.
type network struct {
	srv     *wafake.Server
	refused string
	mode    atomic.Value // "ok", "refused" or "dns"
}

func (n *network) dial(ctx context.Context, netw, _ string) (net.Conn, error) {
	var d net.Dialer
	switch n.mode.Load() {
	case "refused":
		return d.DialContext(ctx, netw, n.refused)
	case "dns":
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "web.whatsapp.com", IsNotFound: true}}
	}
	return d.DialContext(ctx, netw, n.srv.Addr())
}

// TestLoginFailuresAndNetworkEndToEnd: WhatsApp refusing a login (a ban,
// logouts, an outdated client, a broken session) and the network failing
// (refused, DNS), each caused for real and seen by the real whatsmeow
// client, decided by the built-in WASM policy as its code table says.
func TestLoginFailuresAndNetworkEndToEnd(t *testing.T) {
	nw := &network{srv: wafaketest.NewServer(t, wafake.Config{})}
	nw.mode.Store("ok")
	refused, err := wafake.RefusingAddr()
	if err != nil {
		t.Fatal(err)
	}
	nw.refused = refused
	w := &world{srv: nw.srv, clk: clock.NewFake(time.Now()), hooks: newReceiver(t, "")}
	w.testHost = startWith(t, nw.srv, "", map[string]any{"webhook.url": w.hooks.URL}, w.clk,
		wafake.HTTPClientFor(nw.dial, 10*time.Second))

	// Login failures: the next connection after a dropped one meets the
	// failure.
	logins := []struct {
		name   string
		script wafake.Script
		kind   string
		code   int
		action string
	}{
		{"temporary ban", wafake.TemporaryBan(101, time.Hour), "temporary_ban", 402, "logout"},
		{"logged out on connect (403)", wafake.Failure(403, nil), "logged_out", 403, "logout"},
		{"banned (406)", wafake.Failure(406, nil), "logged_out", 406, "logout"},
		{"client outdated (405)", wafake.Failure(405, nil), "client_outdated", 405, ""},
		{"server unavailable (503)", wafake.Failure(503, nil), "connect_failure", 503, "reconnect"},
	}
	for i, l := range logins {
		name := "login-" + strconv.Itoa(i)
		conn := w.pair(name)
		w.srv.Enqueue(l.script)
		w.accepts = w.srv.Accepts()
		<-conn.ScriptDone()
		_ = wafake.Drop()(context.Background(), conn)
		if kind, code, _ := decided(w.next("disconnect.decided", nil)); kind != "disconnected" || code != 428 {
			t.Fatalf("%s: the drop before it was decided as %s %d", l.name, kind, code)
		}
		w.reconnectDue(name)
		kind, code, d := decided(w.next("disconnect.decided", func(e webhook.Envelope) bool { return e.Instance == name }))
		if kind != l.kind || code != l.code || (l.action != "" && d["action"] != l.action) {
			t.Fatalf("%s: decided %s %d %v; want %s %d %s", l.name, kind, code, d, l.kind, l.code, l.action)
		}
		if d["action"] == "reconnect" {
			w.accepts = w.srv.Accepts()
			w.reconnectDue(name) // let it reconnect (to a plain login) before the next row
			w.next("connection.update", func(e webhook.Envelope) bool { return e.Instance == name && state(e) == "open" })
			w.next("reconnection.success", func(e webhook.Envelope) bool { return e.Instance == name })
		}
	}

	// The network fails under an open session: every reconnect meets it
	// until it is back.
	name := "network"
	conn := w.pair(name)
	for _, cause := range []string{"refused", "dns"} {
		nw.mode.Store(cause)
		w.accepts = w.srv.Accepts()
		<-conn.ScriptDone()
		_ = wafake.Drop()(context.Background(), conn)
		w.next("disconnect.decided", func(e webhook.Envelope) bool { return e.Instance == name })
		w.reconnectDue(name)
		env := w.next("disconnect.decided", func(e webhook.Envelope) bool { return e.Instance == name })
		kind, code, d := decided(env)
		var got struct {
			Cause string `json:"cause"`
		}
		_ = json.Unmarshal(env.Data, &got)
		if kind != "connect_error" || got.Cause != cause || d["action"] != "reconnect" {
			t.Fatalf("%s: decided %s %d (cause %q) %v", cause, kind, code, got.Cause, d)
		}
		nw.mode.Store("ok")
		w.accepts = w.srv.Accepts()
		w.reconnectDue(name)
		conn = w.accept()
		w.next("connection.update", func(e webhook.Envelope) bool { return e.Instance == name && state(e) == "open" })
	}
	// Every instance has a device of its own and connects once at a
	// time: WhatsApp never had to replace a connection.
	if n := nw.srv.Conflicts(); n != 0 {
		t.Fatalf("%d connections were replaced by a second connection of their device", n)
	}
}
