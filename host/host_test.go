package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/host"
	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage/testenv"
)

const apiKey = "test-key-0123456789"

// receiver is an app's webhook endpoint: it checks every signature and
// hands the envelopes to the test.
type receiver struct {
	*httptest.Server
	t      testing.TB
	secret string
	mu     sync.Mutex
	got    []webhook.Envelope
	ids    map[string]bool
	notify chan struct{}
}

func newReceiver(t testing.TB, secret string) *receiver {
	r := &receiver{t: t, secret: secret, ids: map[string]bool{}, notify: make(chan struct{}, 1)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if r.secret == "" {
			if req.Header.Get("X-Wahost-Signature") != "" {
				t.Errorf("signed without a secret")
			}
		} else if err := webhook.VerifySignature(r.secret, req.Header, body, time.Now(), time.Minute); err != nil {
			t.Errorf("webhook signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var env webhook.Envelope
		if err := json.Unmarshal(body, &env); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		r.mu.Lock()
		if id := req.Header.Get("X-Wahost-Delivery"); !r.ids[id] {
			r.ids[id] = true
			r.got = append(r.got, env)
		}
		r.mu.Unlock()
		select {
		case r.notify <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(r.Close)
	return r
}

// await waits for an envelope matching ok.
func (r *receiver) await(what string, ok func(webhook.Envelope) bool) webhook.Envelope {
	r.t.Helper()
	_, env := r.awaitFrom(0, what, ok)
	return env
}

// awaitFrom waits for an envelope matching ok at index from or later, in
// the order they arrived, and returns its index.
func (r *receiver) awaitFrom(from int, what string, ok func(webhook.Envelope) bool) (int, webhook.Envelope) {
	r.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		for i := from; i < len(r.got); i++ {
			if ok(r.got[i]) {
				env := r.got[i]
				r.mu.Unlock()
				return i, env
			}
		}
		r.mu.Unlock()
		select {
		case <-r.notify:
		case <-deadline:
			r.t.Fatalf("no webhook %s; got %s", what, r.events())
		}
	}
}

func (r *receiver) events() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []string
	for _, e := range r.got {
		s = append(s, e.Event+" "+string(e.Data))
	}
	return strings.Join(s, "\n")
}

func state(env webhook.Envelope) string {
	var d struct {
		State string `json:"state"`
	}
	_ = json.Unmarshal(env.Data, &d)
	return d.State
}

type testHost struct {
	*host.Host
	t       testing.TB
	base    string
	dataDir string
}

// startHost runs a host on a fresh data directory with sessions routed to
// srv, until the test ends.
func startHost(t testing.TB, srv *wafake.Server, flags map[string]any) *testHost {
	t.Helper()
	return start(t, srv, "", flags)
}

// startHostConfig is startHost with a config file.
func startHostConfig(t testing.TB, srv *wafake.Server, path string) *testHost {
	t.Helper()
	return start(t, srv, path, nil)
}

func start(t testing.TB, srv *wafake.Server, path string, flags map[string]any) *testHost {
	t.Helper()
	return startWith(t, srv, path, flags, nil, nil)
}

// startWith is start with a clock for decisions and, if not nil, the HTTP
// client sessions dial WhatsApp with (instead of one routed to srv).
func startWith(t testing.TB, srv *wafake.Server, path string, flags map[string]any, clk clock.Clock, wa *http.Client) *testHost {
	t.Helper()
	return startOpts(t, srv, path, flags, host.Options{Clock: clk, WhatsAppClient: wa})
}

// startOpts is startWith with the clocks and client given in opts.
func startOpts(t testing.TB, srv *wafake.Server, path string, flags map[string]any, base host.Options) *testHost {
	t.Helper()
	dataDir := t.TempDir()
	all := map[string]any{
		"data_dir": dataDir, "http.addr": "127.0.0.1:0", "http.api_key": apiKey, "log.level": "error",
		"policy.cache_dir": testenv.CompileCacheDir(),
	}
	for k, v := range flags {
		all[k] = v
	}
	opts := base
	opts.ConfigPath, opts.Flags, opts.Stdout = path, all, io.Discard
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if srv != nil {
		opts.ProbeAddr = srv.Addr()
		if opts.WhatsAppClient == nil {
			opts.WhatsAppClient = srv.HTTPClient()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, err := host.New(ctx, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("host.Run: %v", err)
		}
	})
	th := &testHost{Host: h, t: t, base: "http://" + h.Addr(), dataDir: dataDir}
	th.waitReady()
	return th
}

// waitReady checks /readyz. New already listens, so the request waits in
// the accept queue until Run serves it: no polling.
func (h *testHost) waitReady() {
	h.t.Helper()
	resp, err := http.Get(h.base + "/readyz")
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("/readyz = %d", resp.StatusCode)
	}
}

// call sends a request with the API key and decodes the JSON answer.
func (h *testHost) call(method, path string, body any) (int, map[string]any) {
	h.t.Helper()
	return h.callKey(method, path, body, apiKey)
}

func (h *testHost) callKey(method, path string, body any, key string) (int, map[string]any) {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.base+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("apikey", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			h.t.Fatalf("%s %s: body %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, out
}

// TestQRLoginEndToEnd runs the whole host against the fake WhatsApp
// server: an instance is created, shows a QR code through the API, the
// phone scans it, WhatsApp asks for the restart after pairing (515), the
// policy decides the reconnect, and the session opens; the app's webhook
// receiver sees each step, signed.
func TestQRLoginEndToEnd(t *testing.T) {
	srv := wafaketest.NewServer(t, wafake.Config{})
	hooks := newReceiver(t, "s3cret")
	h := startHost(t, srv, map[string]any{"webhook.url": hooks.URL, "webhook.secret": "s3cret"})

	if code, body := h.call("POST", "/v1/instances", map[string]any{"name": "sales"}); code != http.StatusCreated {
		t.Fatalf("create = %d %v", code, body)
	}
	code, body := h.call("POST", "/v1/instances/sales/connect", nil)
	qr, _ := body["qr"].(map[string]any)
	if code != http.StatusOK || qr == nil {
		t.Fatalf("connect = %d %v", code, body)
	}
	png, _ := qr["base64"].(string)
	if !strings.HasPrefix(png, "data:image/png;base64,") || qr["count"] != float64(1) {
		t.Fatalf("QR = %v", qr)
	}
	hooks.await("qrcode.updated", func(e webhook.Envelope) bool { return e.Event == "qrcode.updated" })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first, err := srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	jid, err := first.Pair(ctx, wafake.NewPhone("5511988887777"), qr["code"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if err := wafake.StreamError("515")(ctx, first); err != nil {
		t.Fatal(err)
	}
	open := hooks.await("connection.update open", func(e webhook.Envelope) bool {
		return e.Event == "connection.update" && state(e) == "open"
	})
	if open.Instance != "sales" || open.Sender == "" {
		t.Fatalf("open envelope = %+v", open)
	}

	code, inst := h.call("GET", "/v1/instances/sales", nil)
	if code != http.StatusOK || inst["status"] != "open" || !strings.HasPrefix(jid.String(), strings.Split(inst["owner_jid"].(string), ":")[0]) {
		t.Fatalf("instance = %d %v (paired as %s)", code, inst, jid)
	}
	code, hist := h.call("GET", "/v1/instances/sales/disconnects", nil)
	rows, _ := hist["disconnects"].([]any)
	if code != http.StatusOK || len(rows) != 1 {
		t.Fatalf("history = %d %v", code, hist)
	}
	row := rows[0].(map[string]any)
	dec, _ := row["decision"].(map[string]any)
	if row["kind"] != "restart_required" || row["code"] != float64(515) || dec["action"] != "reconnect" || row["input"] == nil {
		t.Fatalf("the restart after pairing was recorded as %v", row)
	}
	code, diag := h.call("GET", "/v1/instances/sales/diagnostics", nil)
	creds, _ := diag["credentials"].(map[string]any)
	network, _ := diag["network"].(map[string]any)
	tcp, _ := network["tcp"].(map[string]any)
	if code != http.StatusOK || creds["keys"] != true || tcp["ok"] != true {
		t.Fatalf("diagnostics = %d %v", code, diag)
	}
}
