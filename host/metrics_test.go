package host_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/host"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/sqlite"
	"github.com/wahost/wahost/storage/testenv"
)

// TestBacklogMetricsAndFailedRetention: /metrics reports instances by
// state, webhook deliveries pending and failed, pending purges, breaker
// trips and dependency errors; the maintenance prunes failed deliveries
// older than webhook.failed_retention and keeps the recent ones.
func TestBacklogMetricsAndFailedRetention(t *testing.T) {
	dataDir := t.TempDir()
	ctx := context.Background()
	// Before the start: an instance and failed deliveries, one old.
	seed := func(at time.Time, event string) string {
		st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dataDir, "wahost.db"), Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ev, err := st.Enqueue(ctx, storage.OutboxEvent{InstanceID: storage.NewID(), Event: event, Payload: json.RawMessage(`{}`), NextAttemptAt: at})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.MarkFailed(ctx, ev.ID, "HTTP 410 Gone"); err != nil {
			t.Fatal(err)
		}
		return ev.ID
	}
	seed(time.Now().Add(-60*24*time.Hour), "connection.update")
	recent := seed(time.Now().Add(-time.Hour), "qrcode.updated")

	msgs := make(chan string, 256)
	srv := wafaketest.NewServer(t, wafake.Config{})
	h, err := host.New(ctx, host.Options{
		Flags: map[string]any{
			"data_dir": dataDir, "http.addr": "127.0.0.1:0", "http.api_key": apiKey,
			"policy.cache_dir": testenv.CompileCacheDir(), "webhook.failed_retention": "720h",
		},
		Stdout: io.Discard, Logger: slog.New(signalling{Handler: slog.DiscardHandler, msgs: msgs}),
		WhatsAppClient: srv.HTTPClient(), ProbeAddr: srv.Addr(),
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- h.Run(runCtx) }()
	defer func() {
		cancel()
		<-done
	}()
	for pruned := false; !pruned; {
		select {
		case m := <-msgs:
			pruned = m == "pruned failed webhooks"
		case <-time.After(30 * time.Second):
			t.Fatal("the maintenance pruned no failed webhook")
		}
	}
	th := &testHost{Host: h, t: t, base: "http://" + h.Addr()}
	_, failed := th.call("GET", "/v1/webhooks/failed", nil)
	raw, _ := json.Marshal(failed)
	if !strings.Contains(string(raw), recent) || strings.Count(string(raw), `"failed_at"`) != 1 {
		t.Fatalf("failed webhooks after pruning: %s; want only %s", raw, recent)
	}

	if code, body := th.call("POST", "/v1/instances", map[string]any{"name": "counted"}); code != http.StatusCreated {
		t.Fatalf("create = %d %v", code, body)
	}
	resp, err := http.Get(th.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metrics := string(b)
	for _, want := range []string{
		`wahost_instances{state="close"} 1`, `wahost_instances{state="open"} 0`,
		"wahost_webhook_failed 1", "wahost_webhook_pending ", "wahost_pending_purges 0",
		`wahost_dependency_errors_total{dependency="store"} 0`,
		"# TYPE wahost_policy_breaker_trips_total counter", "# TYPE wahost_policy_reverts_total counter",
		"wahost_messages_queued_instances 0", "wahost_messages_sent_total 0",
		`wahost_messages_failed_total{reason="expired"} 0`, "wahost_messages_incoming_total 0",
		"# TYPE wahost_messages_ack_seconds histogram",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
