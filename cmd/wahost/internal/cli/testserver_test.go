//go:build wahost_testserver

package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/host/proxy/proxytest"
	"github.com/wahost/wahost/storage/testenv"
)

// TestServeAgainstTestServer runs the test build end to end as a user
// would: wahost testserver in one "terminal", wahost serve pointed at it in
// another, then the API shows the QR code the fake server's refs make.
func TestServeAgainstTestServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	srvOut, srvW := io.Pipe()
	srvDone := make(chan int, 1)
	// The fake server stops after wahost: a server closing the sockets
	// while the host closes them races inside whatsmeow's socket code.
	srvCtx, stopServer := context.WithCancel(context.Background())
	defer stopServer()
	go func() {
		srvDone <- Run(srvCtx, []string{"testserver"}, Stdio{Out: srvW, Err: srvW})
		srvW.Close()
	}()
	lines := bufio.NewScanner(srvOut)
	var addr, key string
	for lines.Scan() && (addr == "" || key == "") {
		if v, ok := strings.CutPrefix(lines.Text(), "addr="); ok {
			addr = v
		}
		if v, ok := strings.CutPrefix(lines.Text(), "root_key="); ok {
			key = v
		}
	}
	go func() { _, _ = io.Copy(io.Discard, srvOut) }()
	if addr == "" || key == "" {
		t.Fatalf("testserver printed no address and key")
	}

	t.Setenv("WAHOST_POLICY_CACHE_DIR", testenv.CompileCacheDir())
	out, w := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--test-server", addr, "--test-server-root-key", key,
			"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-level", "error"},
			Stdio{Out: w, Err: w})
		w.Close()
	}()
	var base, apiKey string
	sc := bufio.NewScanner(out)
	for sc.Scan() && base == "" {
		line := strings.TrimSpace(sc.Text())
		if len(line) == 48 && !strings.Contains(line, " ") {
			apiKey = line // the generated key, printed once
		}
		if rest, ok := strings.CutPrefix(line, "wahost is serving on "); ok {
			base = strings.Fields(rest)[0]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if base == "" || apiKey == "" {
		t.Fatalf("serve printed no address or key")
	}
	call := func(method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("apikey", apiKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if code, body := call("POST", "/v1/instances", `{"name":"e2e"}`); code != http.StatusCreated {
		t.Fatalf("create = %d %v", code, body)
	}
	code, body := call("POST", "/v1/instances/e2e/connect", "")
	qr, _ := body["qr"].(map[string]any)
	if code != http.StatusOK || qr == nil || !strings.HasPrefix(qr["code"].(string), "2@") {
		t.Fatalf("connect = %d %v", code, body)
	}
	// Through a real SOCKS5 proxy: the test build tunnels to the fake
	// server through it. Its credentials are checked: a wrong password
	// fails at the proxy, the right one shows a QR code.
	px := proxytest.Start(t, proxytest.SOCKS5, "relay", "pw-5ocks")
	if code, body := call("POST", "/v1/instances", `{"name":"bad-proxy","proxy":"`+px.URLWith("relay", "nope")+`"}`); code != http.StatusCreated {
		t.Fatalf("create with a proxy = %d %v", code, body)
	}
	code, body = call("POST", "/v1/instances/bad-proxy/connect", "")
	if code == http.StatusOK || !strings.Contains(fmt.Sprint(body), "the proxy refused the credentials") {
		t.Fatalf("connect through a proxy with a wrong password = %d %v", code, body)
	}
	if code, body := call("POST", "/v1/instances", `{"name":"proxied","proxy":"`+px.URL()+`"}`); code != http.StatusCreated {
		t.Fatalf("create with a proxy = %d %v", code, body)
	}
	code, body = call("POST", "/v1/instances/proxied/connect", "")
	if qr, _ := body["qr"].(map[string]any); code != http.StatusOK || qr == nil || !strings.HasPrefix(qr["code"].(string), "2@") {
		t.Fatalf("connect through the proxy = %d %v", code, body)
	}
	for _, stop := range []struct {
		cancel context.CancelFunc
		done   chan int
	}{{cancel, done}, {stopServer, srvDone}} {
		stop.cancel()
		select {
		case c := <-stop.done:
			if c != exitOK {
				t.Fatalf("exit code %d", c)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("did not stop")
		}
	}
}
