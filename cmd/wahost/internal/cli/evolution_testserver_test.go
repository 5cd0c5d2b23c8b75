//go:build wahost_testserver

package cli

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/host/evolution/evolutiontest"
	"github.com/wahost/wahost/storage/testenv"
)

// TestEvolutionAgainstTestServer builds the test-server binary and runs
// it as an Evolution API client would meet it: wahost testserver in one
// process, wahost serve pointed at it in another, then Evolution's
// instance and webhook routes, each answer compared with the recorded
// Evolution v2.3.6 shape. Separate processes also keep the fake server's
// process-wide certificate root apart from the other tests'.
func TestEvolutionAgainstTestServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "wahost")
	build := exec.Command("go", "build", "-tags", "wahost_testserver", "-o", bin, "github.com/wahost/wahost/cmd/wahost")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	srvLines := startProcess(t, bin, nil, "testserver")
	var addr, key string
	for addr == "" || key == "" {
		line, ok := <-srvLines
		if !ok {
			t.Fatal("testserver printed no address and key")
		}
		if v, ok := strings.CutPrefix(line, "addr="); ok {
			addr = v
		}
		if v, ok := strings.CutPrefix(line, "root_key="); ok {
			key = v
		}
	}
	const global = "evolution-global-key"
	lines := startProcess(t, bin, []string{"WAHOST_API_KEY=" + global, "WAHOST_POLICY_CACHE_DIR=" + testenv.CompileCacheDir()},
		"serve", "--test-server", addr, "--test-server-root-key", key,
		"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-level", "error")
	var base string
	for base == "" {
		line, ok := <-lines
		if !ok {
			t.Fatal("serve printed no address")
		}
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "wahost is serving on "); ok {
			base = strings.Fields(rest)[0]
		}
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

}

// startProcess runs bin with args (and env added) until the test ends,
// then interrupts it and checks that it stops cleanly. It returns the
// lines of its standard output and error.
func startProcess(t *testing.T, bin string, env []string, args ...string) <-chan string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // nobody reads any more: drop
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s %s: %v", bin, args[0], err)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("%s %s did not stop", bin, args[0])
		}
	})
	return lines
}
