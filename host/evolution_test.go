package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"

	"github.com/wahost/wahost/host/evolution/evolutiontest"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
)

// evoConsumer is a webhook receiver written as an Evolution API consumer
// writes one: it checks its custom header, reads the number from sender
// split at '@', and JSON-parses status.instance's disconnectionObject
// string.
type evoConsumer struct {
	*httptest.Server
	t      *testing.T
	mu     sync.Mutex
	bodies []map[string]any
	raws   [][]byte
	notify chan struct{}
}

func newEvoConsumer(t *testing.T, key string) *evoConsumer {
	c := &evoConsumer{t: t, notify: make(chan struct{}, 1)}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Receiver-Key") != key {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		if body["event"] == "status.instance" {
			data, _ := body["data"].(map[string]any)
			s, _ := data["disconnectionObject"].(string)
			var obj map[string]any
			if err := json.Unmarshal([]byte(s), &obj); err != nil {
				t.Errorf("JSON.parse(disconnectionObject) fails: %v (%v)", err, data["disconnectionObject"])
			}
		}
		c.mu.Lock()
		c.bodies, c.raws = append(c.bodies, body), append(c.raws, raw)
		c.mu.Unlock()
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(c.Close)
	return c
}

// await waits for a webhook of event whose data passes ok.
func (c *evoConsumer) await(event string, ok func(data any) bool) (map[string]any, []byte) {
	c.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		c.mu.Lock()
		for i, b := range c.bodies {
			if b["event"] == event && (ok == nil || ok(b["data"])) {
				raw := c.raws[i]
				c.mu.Unlock()
				return b, raw
			}
		}
		c.mu.Unlock()
		select {
		case <-c.notify:
		case <-deadline:
			c.t.Fatalf("no %s webhook", event)
		}
	}
}

// evoCall sends an Evolution request with key as apikey.
func evoCall(t *testing.T, h *testHost, method, path, key string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("apikey", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// expect checks an answer's status and its shape against the recorded
// Evolution answer.
func expect(t *testing.T, what string, status int, raw []byte, shape string, wantStatus int) map[string]any {
	t.Helper()
	s, err := evolutiontest.Load(shape)
	if err != nil {
		t.Fatal(err)
	}
	if status != wantStatus {
		t.Fatalf("%s = %d %s, want %d", what, status, raw, wantStatus)
	}
	if diffs := s.Match(raw); len(diffs) > 0 {
		t.Errorf("%s differs from Evolution's answer (%s):\n  %s\n  got %s", what, s.Source, strings.Join(diffs, "\n  "), raw)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

func errMessage(raw []byte) string {
	var e struct {
		Response struct {
			Message any `json:"message"`
		} `json:"response"`
	}
	_ = json.Unmarshal(raw, &e)
	b, _ := json.Marshal(e.Response.Message)
	return string(b)
}

// TestEvolutionCompat runs an Evolution API client's calls against the
// whole host and the fake WhatsApp server, comparing every answer with the
// recorded Evolution v2.3.6 shapes, and an Evolution webhook consumer's
// view of the lifecycle.
func TestEvolutionCompat(t *testing.T) {
	srv := wafaketest.NewServer(t, wafake.Config{})
	hooks := newEvoConsumer(t, "k1")
	h := startHost(t, srv, map[string]any{"webhook.expose_apikey": true, "webhook.retry_rule": "evolution"})

	// Auth and validation, in Evolution's error shape.
	code, raw := evoCall(t, h, "POST", "/instance/create", "", map[string]any{"instanceName": "evo"})
	expect(t, "create without a key", code, raw, "error", http.StatusUnauthorized)
	if m := errMessage(raw); m != `"Unauthorized"` {
		t.Errorf("401 message = %s, want \"Unauthorized\"", m)
	}
	code, raw = evoCall(t, h, "POST", "/instance/create", apiKey, map[string]any{"qrcode": false})
	expect(t, "create without a name", code, raw, "error", http.StatusBadRequest)
	code, raw = evoCall(t, h, "POST", "/instance/create", apiKey, map[string]any{"instanceName": "evo", "qrcode": "yes"})
	expect(t, "create with a string qrcode", code, raw, "error", http.StatusBadRequest)

	// Create, as Evolution's manager sends it: many fields wahost ignores.
	code, raw = evoCall(t, h, "POST", "/instance/create", apiKey, map[string]any{
		"instanceName": "evo", "integration": "WHATSAPP-BAILEYS", "qrcode": false, "rejectCall": true,
		"msgCall": "busy", "groupsIgnore": true, "alwaysOnline": true, "proxyHost": "", "chatwootAccountId": "",
		"webhook": map[string]any{"url": hooks.URL, "byEvents": false, "base64": false, "enabled": true,
			"headers": map[string]string{"X-Receiver-Key": "k1"}, "events": []string{}},
	})
	created := expect(t, "create", code, raw, "instance-create", http.StatusCreated)
	hash, _ := created["hash"].(string)
	instID := created["instance"].(map[string]any)["instanceId"].(string)
	if hash == "" {
		t.Fatalf("create returned no hash: %s", raw)
	}
	ev, _ := hooks.await("instance.create", nil)
	if d := ev["data"].(map[string]any); d["instanceName"] != "evo" || d["instanceId"] != instID || ev["apikey"] != hash {
		t.Errorf("instance.create webhook = %v", ev)
	}
	code, raw = evoCall(t, h, "POST", "/instance/create", apiKey, map[string]any{"instanceName": "evo"})
	expect(t, "create a taken name", code, raw, "error", http.StatusForbidden)

	// The instance's token opens its routes only.
	code, raw = evoCall(t, h, "GET", "/instance/connectionState/evo", hash, nil)
	if st := expect(t, "connectionState with the instance token", code, raw, "instance-connectionState", http.StatusOK); st["instance"].(map[string]any)["state"] != "close" {
		t.Errorf("state = %s, want close", raw)
	}
	code, raw = evoCall(t, h, "GET", "/instance/connectionState/evo", "wrong", nil)
	expect(t, "connectionState with a wrong key", code, raw, "error", http.StatusUnauthorized)
	code, raw = evoCall(t, h, "GET", "/instance/connectionState/nobody", apiKey, nil)
	expect(t, "connectionState of an unknown instance", code, raw, "error", http.StatusNotFound)
	code, raw = evoCall(t, h, "POST", "/instance/create", hash, map[string]any{"instanceName": "other"})
	expect(t, "create with an instance token", code, raw, "error", http.StatusUnauthorized)

	// Webhook settings in Evolution's names.
	code, raw = evoCall(t, h, "POST", "/webhook/set/evo", hash, map[string]any{"webhook": map[string]any{
		"enabled": true, "url": hooks.URL, "headers": map[string]string{"X-Receiver-Key": "k1"},
		"byEvents": false, "base64": true, "events": []string{},
	}})
	row := expect(t, "webhook/set", code, raw, "webhook-row", http.StatusCreated)
	if evs, _ := row["events"].([]any); len(evs) != 31 || row["webhookBase64"] != true {
		t.Errorf("webhook/set = %s, want all 31 events and base64", raw)
	}
	code, raw = evoCall(t, h, "POST", "/webhook/set/evo", hash, map[string]any{"webhook": map[string]any{"url": hooks.URL}})
	expect(t, "webhook/set without enabled", code, raw, "error", http.StatusBadRequest)
	code, raw = evoCall(t, h, "GET", "/webhook/find/evo", hash, nil)
	expect(t, "webhook/find", code, raw, "webhook-row", http.StatusOK)

	// Connect: the QR object, then the login by the phone.
	code, raw = evoCall(t, h, "GET", "/instance/connect/evo", hash, nil)
	qr := expect(t, "connect", code, raw, "instance-connect-qr", http.StatusOK)
	qrCode, _ := qr["code"].(string)
	if qrCode == "" || qr["count"] != float64(1) || qr["pairingCode"] != nil {
		t.Fatalf("connect = %s", raw)
	}
	_, evRaw := hooks.await("qrcode.updated", nil)
	checkEvent(t, evRaw, "event-qrcode-updated")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first, err := srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	jid, err := first.Pair(ctx, wafake.NewPhone("5511988887777"), qrCode)
	if err != nil {
		t.Fatal(err)
	}
	if err := wafake.StreamError("515")(ctx, first); err != nil {
		t.Fatal(err)
	}
	open, evRaw := hooks.await("connection.update", func(d any) bool { return d.(map[string]any)["state"] == "open" })
	checkEvent(t, evRaw, "event-connection-update-open")
	number, _, _ := strings.Cut(open["sender"].(string), "@")
	if number != jid.User || open["data"].(map[string]any)["wuid"] != jid.User+"@s.whatsapp.net" {
		t.Errorf("open: sender %v, wuid %v; want the number %s", open["sender"], open["data"], jid.User)
	}

	code, raw = evoCall(t, h, "GET", "/instance/connect/evo", hash, nil)
	expect(t, "connect when open", code, raw, "instance-connectionState", http.StatusOK)
	code, raw = evoCall(t, h, "GET", "/instance/fetchInstances", apiKey, nil)
	expect(t, "fetchInstances", code, raw, "instance-fetchInstances", http.StatusOK)
	var rows []map[string]any
	_ = json.Unmarshal(raw, &rows)
	if len(rows) != 1 || rows[0]["number"] != jid.User || rows[0]["token"] != hash || rows[0]["connectionStatus"] != "open" {
		t.Errorf("fetchInstances = %s", raw)
	}
	code, raw = evoCall(t, h, "GET", "/instance/fetchInstances?instanceName=evo", hash, nil)
	expect(t, "fetchInstances with the instance token", code, raw, "instance-fetchInstances", http.StatusOK)
	code, raw = evoCall(t, h, "GET", "/instance/fetchInstances?instanceName=nobody", apiKey, nil)
	expect(t, "fetchInstances of an unknown name", code, raw, "error", http.StatusNotFound)

	// Restart an open instance: it reconnects and answers its state or QR.
	code, raw = evoCall(t, h, "POST", "/instance/restart/evo", hash, nil)
	if code != http.StatusOK || bytes.Contains(raw, []byte(`"error":true`)) {
		t.Fatalf("restart = %d %s", code, raw)
	}
	acceptDevice(t, ctx, srv, jid) // the connection after the pairing, which restart closed
	conn := acceptDevice(t, ctx, srv, jid)
	hooks.await("connection.update", func(d any) bool { return d.(map[string]any)["state"] == "connecting" })

	// The phone removes the device: the consumer gets status.instance
	// (and JSON-parses its disconnectionObject), logout.instance and the
	// close.
	<-conn.ScriptDone()
	if err := wafake.DeviceRemoved()(ctx, conn); err != nil {
		t.Logf("device removed: %v", err)
	}
	_, evRaw = hooks.await("status.instance", nil)
	checkEvent(t, evRaw, "event-status-instance")
	hooks.await("logout.instance", nil)
	hooks.await("connection.update", func(d any) bool { return d.(map[string]any)["state"] == "close" })

	// Logout of a closed instance (400), restart of a closed instance (200
	// with error), delete.
	code, raw = evoCall(t, h, "DELETE", "/instance/logout/evo", hash, nil)
	expect(t, "logout when closed", code, raw, "error", http.StatusBadRequest)
	code, raw = evoCall(t, h, "POST", "/instance/restart/evo", hash, nil)
	expect(t, "restart when closed", code, raw, "failure", http.StatusOK)
	code, raw = evoCall(t, h, "DELETE", "/instance/delete/evo", hash, nil)
	expect(t, "delete", code, raw, "instance-delete", http.StatusOK)
	ev, evRaw = hooks.await("instance.delete", nil)
	checkEvent(t, evRaw, "")
	if d := ev["data"].(map[string]any); d["instanceId"] != instID {
		t.Errorf("instance.delete = %v", ev)
	}
	if ev, _ = hooks.await("remove.instance", nil); ev["data"] != nil {
		t.Errorf("remove.instance data = %v, want null", ev["data"])
	}
	code, raw = evoCall(t, h, "GET", "/instance/connectionState/evo", apiKey, nil)
	expect(t, "connectionState after delete", code, raw, "error", http.StatusNotFound)
	code, raw = evoCall(t, h, "POST", "/group/create/evo", apiKey, map[string]any{"subject": "x"})
	expect(t, "a route wahost lacks", code, raw, "error", http.StatusNotFound)
	if m := errMessage(raw); m != `["Cannot POST /group/create/evo"]` {
		t.Errorf("404 message = %s", m)
	}
}

// checkEvent compares a webhook's envelope, and its data when dataShape
// is set, with Evolution's.
func checkEvent(t *testing.T, raw []byte, dataShape string) {
	t.Helper()
	env, err := evolutiontest.Load("envelope")
	if err != nil {
		t.Fatal(err)
	}
	if diffs := env.Match(raw); len(diffs) > 0 {
		t.Errorf("envelope differs from Evolution's: %v\n%s", diffs, raw)
	}
	if dataShape == "" {
		return
	}
	s, err := evolutiontest.Load(dataShape)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Data json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal(raw, &body)
	if diffs := s.Match(body.Data); len(diffs) > 0 {
		t.Errorf("data differs from Evolution's (%s): %v\n%s", s.Source, diffs, body.Data)
	}
}

// acceptDevice returns the next connection the fake server accepts from
// the device jid.
func acceptDevice(t *testing.T, ctx context.Context, srv *wafake.Server, jid types.JID) *wafake.Conn {
	t.Helper()
	for {
		c, err := srv.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c.DeviceJID() == jid {
			return c
		}
	}
}
