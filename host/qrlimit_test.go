package host_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/host"
	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/host/webhook"
)

// TestQRLimitAndInactivityEndToEnd: logins nobody completes. One shows QR
// codes until its limit; the other runs out of time. Both are decided by
// the WASM policy as the end of the login, with Evolution API's webhooks.
// The sessions' QR and inactivity timers run on a fake clock.
func TestQRLimitAndInactivityEndToEnd(t *testing.T) {
	srv := wafaketest.NewServer(t, wafake.Config{})
	hooks := newReceiver(t, "")
	scl := clock.NewFake(time.Now())
	h := startOpts(t, srv, "", map[string]any{
		"webhook.url": hooks.URL, "session.qr_limit": 2, "session.inactivity_timeout": "90s",
	}, host.Options{Clock: clock.NewFake(time.Now()), SessionClock: scl})
	seen := 0
	next := func(name, event string, ok func(webhook.Envelope) bool) webhook.Envelope {
		t.Helper()
		i, env := hooks.awaitFrom(seen, event, func(e webhook.Envelope) bool {
			return e.Instance == name && e.Event == event && (ok == nil || ok(e))
		})
		seen = i + 1
		return env
	}
	timers := func(n int) {
		t.Helper()
		select {
		case <-scl.WaitForTimers(n):
		case <-time.After(30 * time.Second):
			t.Fatalf("%d session timers never armed", n)
		}
	}

	// The QR limit: the third code is not shown.
	h.call("POST", "/v1/instances", map[string]any{"name": "limited"})
	if code, body := h.call("POST", "/v1/instances/limited/connect", nil); code != http.StatusOK || body["qr"] == nil {
		t.Fatalf("connect = %d %v", code, body)
	}
	next("limited", "qrcode.updated", nil)
	timers(2) // the first code's timeout and the inactivity timeout
	scl.Advance(60 * time.Second)
	next("limited", "qrcode.updated", nil)
	timers(2)
	scl.Advance(20 * time.Second)
	env := next("limited", "disconnect.decided", nil)
	var d struct {
		Kind     string         `json:"kind"`
		Decision map[string]any `json:"decision"`
	}
	_ = json.Unmarshal(env.Data, &d)
	if d.Kind != "qr_limit" || d.Decision["action"] != "logout" || d.Decision["end"] != "qr_limit" {
		t.Fatalf("QR limit decided as %s", env.Data)
	}
	var qr struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(next("limited", "qrcode.updated", nil).Data, &qr)
	if qr.Message != executor.QRLimitMessage {
		t.Fatalf("qrcode.updated at the limit says %q", qr.Message)
	}
	next("limited", "connection.update", func(e webhook.Envelope) bool { return state(e) == "refused" })
	if _, inst := h.call("GET", "/v1/instances/limited", nil); inst["status"] != "refused" {
		t.Fatalf("instance after the QR limit = %v", inst)
	}

	// Inactivity: the login started 90 s ago and nobody scanned.
	h.call("POST", "/v1/instances", map[string]any{"name": "idle", "qr_limit": 100})
	if code, body := h.call("POST", "/v1/instances/idle/connect", nil); code != http.StatusOK || body["qr"] == nil {
		t.Fatalf("connect = %d %v", code, body)
	}
	next("idle", "qrcode.updated", nil)
	timers(2)
	scl.Advance(90 * time.Second)
	env = next("idle", "disconnect.decided", nil)
	var raw struct {
		Kind     string         `json:"kind"`
		Message  string         `json:"message"`
		Decision map[string]any `json:"decision"`
	}
	_ = json.Unmarshal(env.Data, &raw)
	if raw.Kind != "qr_limit" || !strings.Contains(raw.Message, "not paired within 1m30s") || raw.Decision["action"] != "logout" {
		t.Fatalf("inactivity decided as %s", env.Data)
	}
}
