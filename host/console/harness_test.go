package console_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/storage/testenv"
)

// The browser tests drive a real headless Chromium against the real
// binary, built with -tags wahost_testserver and dialing a fake WhatsApp
// server that runs in the test.

const apiKey = "console-test-key-0123456789abcdef"

// chromium returns the browser's path. Without one the tests skip, except
// under CI, where they fail.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed and CI is set: run .ci/services (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed: apt-get install -y chromium (or run .ci/services) to run the browser tests")
	return ""
}

// moduleRoot is the repository's root, where go.mod is.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// binary builds wahost with the test server, or uses WAHOST_TEST_BINARY.
func binary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("WAHOST_TEST_BINARY"); p != "" {
		return p
	}
	bin := filepath.Join(t.TempDir(), "wahost")
	cmd := exec.Command("go", "build", "-tags", "wahost_testserver", "-o", bin, "./cmd/wahost")
	cmd.Dir = moduleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building wahost: %v\n%s", err, out)
	}
	return bin
}

// env is a running wahost, its fake WhatsApp server and a browser tab.
type env struct {
	t      *testing.T
	base   string // http://127.0.0.1:port
	config string // the config file; rewrite it and reload to change the policy
	srv    *wafake.Server
	tab    context.Context
}

func newEnv(t *testing.T) *env {
	t.Helper()
	browser := chromium(t)
	bin := binary(t)

	var priv [32]byte
	_, _ = rand.Read(priv[:])
	if err := wafake.SetRootKey(priv); err != nil {
		t.Fatal(err)
	}
	srv, err := wafake.NewServer(wafake.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })

	dir := t.TempDir()
	e := &env{t: t, srv: srv, config: filepath.Join(dir, "wahost.yaml")}
	e.writeConfig("10m")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", "--config", e.config, "--addr", "127.0.0.1:0",
		"--data-dir", filepath.Join(dir, "data"), "--log-level", "error",
		"--test-server", srv.Addr(), "--test-server-root-key", hex.EncodeToString(priv[:]))
	cmd.Env = append(os.Environ(), "WAHOST_POLICY_CACHE_DIR="+testenv.CompileCacheDir())
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	for sc.Scan() && e.base == "" {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "wahost is serving on "); ok {
			e.base = strings.Fields(rest)[0]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if e.base == "" {
		t.Fatal("wahost printed no address")
	}

	actx, acancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(browser),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	t.Cleanup(acancel)
	tab, tcancel := chromedp.NewContext(actx)
	t.Cleanup(tcancel)
	// The first action starts the browser and binds it to its context:
	// run it on the tab's own, not on a step's shorter one.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("starting %s: %v", browser, err)
	}
	e.tab = tab
	return e
}

// writeConfig writes the config file; maxDelay is policy.max_delay, which
// a reload applies as a new generation of the policy.
func (e *env) writeConfig(maxDelay string) {
	e.t.Helper()
	cfg := "http:\n  api_key: " + apiKey + "\n" +
		"policy:\n  module: builtin:default\n  max_delay: " + maxDelay + "\n" +
		"webhook:\n  url: http://127.0.0.1:9/hook\n  max_attempts: 1\n  timeout: 2s\n"
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// api calls wahost's API as the test, not the browser.
func (e *env) api(method, path string) map[string]any {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.base+path, nil)
	req.Header.Set("apikey", apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return m
}

// do runs browser steps, failing the test on an error.
func (e *env) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.tab, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		e.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](e *env, expr string) T {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.tab, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		e.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor waits, in the page, until expr is truthy.
func (e *env) waitFor(what, expr string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.tab, 90*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(80*time.Second))); err != nil {
		body := eval[string](e, "document.getElementById('main').innerText")
		e.t.Fatalf("waiting for %s (%s): %v\npage:\n%s", what, expr, err, body)
	}
}

// screenshot writes the page to $WAHOST_SCREENSHOTS/name.png when set
// (a path relative to the repository's root, e.g. docs/console).
func (e *env) screenshot(name string) {
	e.t.Helper()
	dir := os.Getenv("WAHOST_SCREENSHOTS")
	if dir == "" {
		return
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(moduleRoot(e.t), dir)
	}
	ctx, cancel := context.WithTimeout(e.tab, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		e.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		e.t.Fatal(err)
	}
}
