//go:build wahost_testserver

package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.mau.fi/whatsmeow/types"

	"github.com/wahost/wahost/host/wafake"
)

func init() {
	extraCommands = append(extraCommands, command{
		"soak", "run N instances on a fake WhatsApp server with random drops and print the host's goroutines, heap and RSS (test build only)", runSoak,
	})
}

// soakConfig is what a soak run is told.
type soakConfig struct {
	instances int
	duration  time.Duration
	interval  time.Duration
	dropEvery time.Duration
	dbURL     string
	redisAddr string
	keepData  bool
}

// runSoak starts wahost serve in a child process on a fake WhatsApp server
// of this process, pairs the instances, drops them at random until the
// duration ends and prints the child's figures every interval, so that a
// leak shows as a column that keeps growing.
func runSoak(ctx context.Context, args []string, stdio Stdio) int {
	fs := newFlags("wahost soak", "wahost soak [--instances N] [--duration D] [--interval D] [--drop-every D] [--database-url URL] [--redis-addr HOST:PORT]", stdio)
	var c soakConfig
	fs.IntVar(&c.instances, "instances", 500, "instances to pair and drop")
	fs.DurationVar(&c.duration, "duration", 10*time.Minute, "how long to drop instances after pairing them")
	fs.DurationVar(&c.interval, "interval", time.Minute, "how often to print the figures")
	fs.DurationVar(&c.dropEvery, "drop-every", 0, "time between two drops of a random instance (default: each instance about once a minute)")
	fs.StringVar(&c.dbURL, "database-url", "", "PostgreSQL for the host (database.url; default: SQLite in a temporary directory)")
	fs.StringVar(&c.redisAddr, "redis-addr", "", "Redis for the host's cache (cache.redis_addr; default: in memory)")
	fs.BoolVar(&c.keepData, "keep", false, "keep the temporary directory (data, config, the host's log)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if c.instances < 1 || c.duration <= 0 || c.interval <= 0 || c.dropEvery < 0 {
		fmt.Fprintln(stdio.Err, "wahost soak: --instances, --duration and --interval must be positive")
		return exitUsage
	}
	if c.dropEvery == 0 {
		c.dropEvery = max(time.Minute/time.Duration(c.instances), time.Millisecond)
	}
	if err := soak(ctx, c, stdio.Out); err != nil {
		fmt.Fprintf(stdio.Err, "wahost soak: %s\n", oneLine(err.Error()))
		return exitFail
	}
	return exitOK
}

func soak(ctx context.Context, c soakConfig, out io.Writer) error {
	var key [32]byte
	_, _ = rand.Read(key[:])
	if err := wafake.SetRootKey(key); err != nil {
		return err
	}
	srv, err := wafake.NewServer(wafake.Config{})
	if err != nil {
		return err
	}
	defer srv.Close()
	dir, err := os.MkdirTemp("", "wahost-soak-")
	if err != nil {
		return err
	}
	if c.keepData {
		fmt.Fprintf(out, "soak: data, config and the host's log in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	child, err := startSoakHost(c, dir, srv.Addr(), key)
	if err != nil {
		return err
	}
	defer child.stop()

	start := time.Now()
	devices, err := child.pair(ctx, srv, c.instances)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "soak: %d instances paired in %v; dropping one every %v for %v\n",
		len(devices), time.Since(start).Round(time.Second), c.dropEvery, c.duration)
	// Reconnections are accepted by the server whether or not anybody
	// takes them: take them so they are not kept.
	go func() {
		for {
			if _, err := srv.Accept(context.Background()); err != nil {
				return
			}
		}
	}()

	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 0))
	drop := time.NewTicker(c.dropEvery)
	defer drop.Stop()
	report := time.NewTicker(c.interval)
	defer report.Stop()
	end := time.NewTimer(c.duration)
	defer end.Stop()
	began, drops := time.Now(), 0
	var first, last soakFigures
	sample := func() error {
		f, err := child.figures()
		if err != nil {
			return err
		}
		f.at, f.drops, f.online = time.Since(began), drops, 0
		for _, d := range devices {
			if srv.Online(d) {
				f.online++
			}
		}
		if first.at == 0 && first.goroutines == 0 {
			first = f
		}
		last = f
		fmt.Fprintf(out, "soak: %s\n", f.line(len(devices)))
		return nil
	}
	if err := sample(); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-child.done:
			return fmt.Errorf("the host exited: %v; its log: %s", child.cmd.ProcessState, child.logPath)
		case <-drop.C:
			if conn := srv.LiveConn(devices[rng.IntN(len(devices))]); conn != nil {
				conn.Drop()
				drops++
			}
		case <-report.C:
			if err := sample(); err != nil {
				return err
			}
		case <-end.C:
			if time.Since(began)-last.at > c.interval/10 {
				if err := sample(); err != nil {
					return err
				}
			}
			fmt.Fprintf(out, "soak: done: goroutines %.0f → %.0f, heap %s → %s, RSS %s → %s over %v and %d drops\n",
				first.goroutines, last.goroutines, mib(first.heap), mib(last.heap), mib(first.rss), mib(last.rss),
				last.at.Round(time.Second), last.drops)
			return nil
		}
	}
}

// soakFigures is one sample of the host process.
type soakFigures struct {
	at                    time.Duration
	goroutines, heap, rss float64
	drops, online         int
	states                []string // "open:48", from wahost_instances
	webhooksPending       float64
}

func (f soakFigures) line(instances int) string {
	return fmt.Sprintf("t=%-6v goroutines=%-6.0f heap=%-10s rss=%-10s drops=%-6d online=%d/%d instances=%s webhooks_pending=%.0f",
		f.at.Round(time.Second), f.goroutines, mib(f.heap), mib(f.rss), f.drops, f.online, instances,
		strings.Join(f.states, ","), f.webhooksPending)
}

func mib(b float64) string { return strconv.FormatFloat(b/(1<<20), 'f', 1, 64) + "MiB" }

// soakHost is the wahost serve child.
type soakHost struct {
	cmd     *exec.Cmd
	base    string
	apiKey  string
	logPath string
	done    chan struct{}
}

func startSoakHost(c soakConfig, dir, waAddr string, key [32]byte) (*soakHost, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var k [16]byte
	_, _ = rand.Read(k[:])
	h := &soakHost{apiKey: hex.EncodeToString(k[:]), logPath: filepath.Join(dir, "wahost.log"), done: make(chan struct{})}
	cfg := map[string]any{
		"data_dir": filepath.Join(dir, "data"),
		"http":     map[string]any{"addr": "127.0.0.1:0", "api_key": h.apiKey},
		"log":      map[string]any{"level": "warn"},
		// Every drop is a reconnect after about a second; no rule that
		// counts earlier drops ends a session.
		"policy": map[string]any{"settings": map[string]any{
			"delays_ms": map[string]int{"428": 1000, "515": 0}, "max_attempts": 1000,
			"history_abort_count": 0, "storm_count": 0, "replaced_window_ms": 0,
		}},
		"reconnect": map[string]any{"rate": 200, "burst": 200},
	}
	if c.dbURL != "" {
		cfg["database"] = map[string]any{"url": c.dbURL, "schema": "wahost_soak_" + hex.EncodeToString(k[:4])}
	}
	if c.redisAddr != "" {
		cfg["cache"] = map[string]any{"redis_addr": c.redisAddr, "prefix": "wahost-soak-" + hex.EncodeToString(k[:4])}
	}
	raw, _ := json.Marshal(cfg) // JSON is YAML
	config := filepath.Join(dir, "wahost.yaml")
	if err := os.WriteFile(config, raw, 0o600); err != nil {
		return nil, err
	}
	logFile, err := os.Create(h.logPath)
	if err != nil {
		return nil, err
	}
	h.cmd = exec.Command(exe, "serve", "--config", config, "--test-server", waAddr, "--test-server-root-key", hex.EncodeToString(key[:]))
	h.cmd.Stderr = logFile
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := h.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting wahost serve: %w", err)
	}
	go func() { _ = h.cmd.Wait(); logFile.Close(); close(h.done) }()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "wahost is serving on "); ok {
			h.base = strings.Fields(rest)[0]
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if h.base == "" {
		<-h.done
		return nil, fmt.Errorf("wahost serve did not start (%v); its log: %s", h.cmd.ProcessState, h.logPath)
	}
	return h, nil
}

// stop ends the host with SIGTERM, as a deployment would.
func (h *soakHost) stop() {
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(time.Minute):
		_ = h.cmd.Process.Kill()
		<-h.done
	}
}

func (h *soakHost) call(ctx context.Context, method, path, body string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("apikey", h.apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// pair creates n instances and links each by QR code on srv.
func (h *soakHost) pair(ctx context.Context, srv *wafake.Server, n int) ([]types.JID, error) {
	devices := make([]types.JID, 0, n)
	for i := range n {
		name := fmt.Sprintf("soak-%04d", i)
		if err := h.call(ctx, "POST", "/v1/instances", `{"name":"`+name+`"}`, nil); err != nil {
			return nil, err
		}
		var connected struct {
			QR struct{ Code string } `json:"qr"`
		}
		if err := h.call(ctx, "POST", "/v1/instances/"+name+"/connect", "", &connected); err != nil {
			return nil, err
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		jid, err := pairNext(pctx, srv, fmt.Sprintf("55219%08d", i), connected.QR.Code)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("pairing %s: %w", name, err)
		}
		devices = append(devices, jid)
	}
	return devices, nil
}

// pairNext pairs the next registering connection with code and asks it to
// log in again, as WhatsApp does after a pairing.
func pairNext(ctx context.Context, srv *wafake.Server, phone, code string) (types.JID, error) {
	for {
		c, err := srv.Accept(ctx)
		if err != nil {
			return types.EmptyJID, err
		}
		if !c.Registering() {
			continue
		}
		jid, err := c.Pair(ctx, wafake.NewPhone(phone), code)
		if err != nil {
			return types.EmptyJID, err
		}
		return jid, wafake.StreamError("515")(ctx, c)
	}
}

// figures reads the host's goroutines, heap and RSS from its /metrics.
func (h *soakHost) figures() (soakFigures, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.base+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return soakFigures{}, fmt.Errorf("reading the host's metrics: %w", err)
	}
	defer resp.Body.Close()
	var f soakFigures
	want := map[string]*float64{
		"go_goroutines": &f.goroutines, "go_memstats_heap_alloc_bytes": &f.heap, "process_resident_memory_bytes": &f.rss,
	}
	optional := map[string]*float64{"wahost_webhook_pending": &f.webhooksPending}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	found := 0
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if state, ok2 := strings.CutPrefix(name, `wahost_instances{state="`); ok && ok2 && value != "0" {
			f.states = append(f.states, strings.TrimSuffix(state, `"}`)+":"+value)
		}
		if p := optional[name]; ok && p != nil {
			*p, _ = strconv.ParseFloat(strings.TrimSpace(value), 64)
		}
		if p := want[name]; ok && p != nil {
			if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
				*p = v
				found++
			}
		}
	}
	if found != len(want) {
		return f, errors.New("the host's /metrics lacks go_goroutines, go_memstats_heap_alloc_bytes or process_resident_memory_bytes")
	}
	return f, nil
}
