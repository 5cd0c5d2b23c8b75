//go:build wahost_testserver

package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/host/evolution/evolutiontest"
	"github.com/wahost/wahost/storage/testenv"
)

// TestEvolutionAgainstTestServer runs the test build as an Evolution API
// client would meet it: wahost testserver, wahost serve pointed at it,
// then Evolution's instance and webhook routes, each answer compared with
// the recorded Evolution v2.3.6 shape.
func TestEvolutionAgainstTestServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	srvOut, srvW := io.Pipe()
	srvDone := make(chan int, 1)
	go func() {
		srvDone <- Run(ctx, []string{"testserver"}, Stdio{Out: srvW, Err: srvW})
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
	t.Setenv("WAHOST_API_KEY", "evolution-global-key")
	out, w := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--test-server", addr, "--test-server-root-key", key,
			"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-level", "error"},
			Stdio{Out: w, Err: w})
		w.Close()
	}()
	var base string
	sc := bufio.NewScanner(out)
	for sc.Scan() && base == "" {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "wahost is serving on "); ok {
			base = strings.Fields(rest)[0]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if base == "" {
		t.Fatalf("serve printed no address")
	}

	call := func(method, path, apikey, body, shape string, status int) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("apikey", apikey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != status {
			t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, raw, status)
		}
		s, err := evolutiontest.Load(shape)
		if err != nil {
			t.Fatal(err)
		}
		if diffs := s.Match(raw); len(diffs) > 0 {
			t.Errorf("%s %s differs from Evolution's answer (%s): %v\n%s", method, path, s.Source, diffs, raw)
		}
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return m
	}
	const global = "evolution-global-key"
	created := call("POST", "/instance/create", global,
		`{"instanceName":"e2e","qrcode":true,"integration":"WHATSAPP-BAILEYS","token":"E2E-TOKEN","rejectCall":false}`,
		"instance-create", http.StatusCreated)
	qr, _ := created["qrcode"].(map[string]any)
	if created["hash"] != "E2E-TOKEN" || qr == nil || !strings.HasPrefix(qr["code"].(string), "2@") {
		t.Fatalf("create = %v", created)
	}
	call("GET", "/instance/connect/e2e", "E2E-TOKEN", "", "instance-connect-qr", http.StatusOK)
	call("GET", "/instance/connectionState/e2e", "E2E-TOKEN", "", "instance-connectionState", http.StatusOK)
	call("POST", "/webhook/set/e2e", "E2E-TOKEN",
		`{"webhook":{"enabled":true,"url":"http://127.0.0.1:9/hook","events":["QRCODE_UPDATED"],"byEvents":true}}`,
		"webhook-row", http.StatusCreated)
	call("GET", "/webhook/find/e2e", "E2E-TOKEN", "", "webhook-row", http.StatusOK)
	call("GET", "/instance/connectionState/e2e", "another-token", "", "error", http.StatusUnauthorized)
	call("DELETE", "/instance/delete/e2e", global, "", "instance-delete", http.StatusOK)
	call("GET", "/instance/connectionState/e2e", global, "", "error", http.StatusNotFound)

	cancel()
	for _, ch := range []chan int{done, srvDone} {
		select {
		case c := <-ch:
			if c != exitOK {
				t.Fatalf("exit code %d", c)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("did not stop")
		}
	}
}
