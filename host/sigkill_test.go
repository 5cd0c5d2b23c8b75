package host_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wahost/wahost/host"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/storage/testenv"
)

// childEnv makes the test binary run a host instead of the tests, so a
// test can kill a real host process; childWAEnv points that host at a
// fake WhatsApp server of the test process.
const (
	childEnv   = "WAHOST_TEST_CHILD_HOST"
	childWAEnv = "WAHOST_TEST_CHILD_WHATSAPP"
)

// testRootKey is the fake servers' certificate root in this package's
// processes, so that a child host trusts a server of the parent.
var testRootKey = [32]byte{'w', 'a', 'h', 'o', 's', 't', '-', 't', 'e', 's', 't'}

func TestMain(m *testing.M) {
	if err := wafake.SetRootKey(testRootKey); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if flags := os.Getenv(childEnv); flags != "" {
		os.Exit(runChild(flags))
	}
	os.Exit(m.Run())
}

// runChild runs a host with the JSON-encoded flags until SIGTERM, printing
// its address first.
func runChild(flagsJSON string) int {
	var flags map[string]any
	if err := json.Unmarshal([]byte(flagsJSON), &flags); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	opts := host.Options{Flags: flags, Stdout: io.Discard, Logger: slog.New(slog.DiscardHandler)}
	if os.Getenv("WAHOST_DEBUG_CHILD") != "" {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if addr := os.Getenv(childWAEnv); addr != "" {
		wafake.InstallRootKey()
		opts.WhatsAppClient, opts.ProbeAddr = wafake.HTTPClientTo(addr, 20*time.Second), addr
	}
	h, err := host.New(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("ADDR %s\n", h.Addr())
	if err := h.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// child is a host in its own process.
type child struct {
	cmd  *exec.Cmd
	base string
}

func startChild(t testing.TB, flags map[string]any) *child {
	t.Helper()
	return startChildOn(t, flags, "")
}

// startChildOn starts a host whose sessions dial the fake WhatsApp server
// at waAddr (none when empty).
func startChildOn(t testing.TB, flags map[string]any, waAddr string) *child {
	t.Helper()
	raw, err := json.Marshal(flags)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw), childWAEnv+"="+waAddr)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "ADDR ")
	if err != nil || !ok {
		t.Fatalf("child host did not start: %q, %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return &child{cmd: cmd, base: "http://" + addr}
}

// call sends an API request and returns the status and the raw body.
func (c *child) call(t testing.TB, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("apikey", apiKey)
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// TestWebhooksSurviveSIGKILL kills a host with SIGKILL while it delivers
// about a thousand webhooks, starts it again on the same data, and checks
// that the receiver got every event at least once, with the duplicates
// recognisable by their X-Wahost-Delivery key.
func TestWebhooksSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts host processes")
	}
	var mu sync.Mutex
	got := map[string]int{} // delivery key → times received
	var open atomic.Bool    // nothing is accepted before every event is queued
	enough := make(chan struct{})
	all := make(chan struct{})
	var want int
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !open.Load() {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		id := r.Header.Get("X-Wahost-Delivery")
		mu.Lock()
		defer mu.Unlock()
		got[id]++
		if got[id] > 1 {
			return // a duplicate: the count of distinct events did not move
		}
		n := len(got)
		if n == 300 {
			close(enough)
		}
		if n == want {
			close(all)
		}
	}))
	defer recv.Close()

	flags := map[string]any{
		"data_dir": t.TempDir(), "http.addr": "127.0.0.1:0", "http.api_key": apiKey, "log.level": "error",
		"policy.cache_dir": testenv.CompileCacheDir(), "webhook.url": recv.URL,
		"webhook.timeout": "1s", "webhook.lease": "2s", "webhook.max_attempts": 1000,
	}
	first := startChild(t, flags)
	const instances, resets = 10, 34
	for i := range instances {
		if code, _ := first.call(t, "POST", "/v1/instances", fmt.Sprintf(`{"name":"n%d"}`, i)); code != http.StatusCreated {
			t.Fatalf("create = %d", code)
		}
	}
	for range resets {
		for i := range instances {
			if code, _ := first.call(t, "POST", fmt.Sprintf("/v1/instances/n%d/reset", i), ""); code != http.StatusOK {
				t.Fatalf("reset = %d", code)
			}
		}
	}
	// A reset sends logout.instance, connection.update and instance.cleanup.
	mu.Lock()
	want = instances * resets * 3
	mu.Unlock()
	open.Store(true)
	select {
	case <-enough:
	case <-time.After(2 * time.Minute):
		t.Fatal("the first host delivered fewer than 300 webhooks")
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	mu.Lock()
	atKill := len(got)
	mu.Unlock()

	second := startChild(t, flags)
	select {
	case <-all:
	case <-time.After(3 * time.Minute):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("after the restart the receiver has %d of %d events", len(got), want)
	}
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for _, n := range got {
		dups += n - 1
	}
	t.Logf("%d events: %d delivered before SIGKILL, the rest after the restart; %d duplicates, each with its event's key", want, atKill, dups)
	// Nothing was given up on.
	code, body := second.call(t, "GET", "/v1/webhooks/failed", "")
	var failed struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &failed); code != http.StatusOK || err != nil || len(failed.Events) != 0 {
		t.Fatalf("failed webhooks = %d %s", code, body)
	}
}
