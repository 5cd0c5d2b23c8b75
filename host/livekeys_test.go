package host_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/host/webhook"
)

// TestWebhookKeysApplyOnReload: webhook.url, webhook.secret,
// webhook.events and webhook.by_events, documented live, take effect at
// the next reload: events after it go to the new URL, under the event's
// path, signed with the new secret, filtered by the new list.
func TestWebhookKeysApplyOnReload(t *testing.T) {
	first, second := newReceiver(t, "first-secret"), newReceiver(t, "second-secret")
	conf := filepath.Join(t.TempDir(), "wahost.yaml")
	writeConf := func(body string) {
		t.Helper()
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeConf("policy:\n  watch: false\nwebhook:\n  url: " + first.URL + "\n  secret: first-secret\n  events: [CONNECTION_UPDATE]\n")
	h := startHostConfig(t, wafaketest.NewServer(t, wafake.Config{}), conf)
	connect := func(name string) {
		t.Helper()
		if code, body := h.call("POST", "/v1/instances", map[string]any{"name": name}); code != http.StatusCreated {
			t.Fatalf("create = %d %v", code, body)
		}
		if code, body := h.call("POST", "/v1/instances/"+name+"/connect", nil); code != http.StatusOK {
			t.Fatalf("connect = %d %v", code, body)
		}
	}
	connect("before")

	writeConf("policy:\n  watch: false\nwebhook:\n  url: " + second.URL + "\n  secret: second-secret\n  by_events: true\n")
	if code, body := h.call("POST", "/v1/policy/reload", nil); code != http.StatusOK {
		t.Fatalf("reload = %d %v", code, body)
	}
	connect("after")
	i, _ := second.awaitFrom(0, "qrcode.updated", func(e webhook.Envelope) bool {
		return e.Event == "qrcode.updated" && e.Instance == "after"
	}) // signed with second-secret, or the receiver fails the test
	second.mu.Lock()
	path := second.paths[i]
	second.mu.Unlock()
	if path != "/qrcode-updated" {
		t.Fatalf("by_events after the reload: posted to %q, want /qrcode-updated", path)
	}
	first.mu.Lock()
	defer first.mu.Unlock()
	for _, e := range first.got {
		if e.Event != "connection.update" {
			t.Fatalf("the first URL got %s, which its events list left out", e.Event)
		}
		if e.Instance == "after" {
			t.Fatalf("the first URL still got events after the reload: %s", e.Event)
		}
	}
}

// TestShutdownTimeoutReloadsLive: http.shutdown_timeout, documented live,
// bounds a stop by the value of the last reload: a host started with 10m
// and reloaded to 1s is not held by a receiver that never answers
// (webhook.timeout 5m).
func TestShutdownTimeoutReloadsLive(t *testing.T) {
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
	conf := filepath.Join(t.TempDir(), "wahost.yaml")
	base := "policy:\n  watch: false\nwebhook:\n  url: " + hanging.URL + "\n  timeout: 5m\n  lease: 10m\n"
	if err := os.WriteFile(conf, []byte(base+"http:\n  shutdown_timeout: 10m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHostConfig(t, conf)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	th := &testHost{Host: h, t: t, base: "http://" + h.Addr()}
	if err := os.WriteFile(conf, []byte(base+"http:\n  shutdown_timeout: 1s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := th.call("POST", "/v1/policy/reload", nil); code != http.StatusOK {
		t.Fatalf("reload = %d %v", code, body)
	}
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
		t.Fatal("the stop kept the 10m shutdown_timeout it started with")
	}
}
