//go:build wahost_testserver

package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/internal/tcpproxy"
	"github.com/wahost/wahost/storage/postgres"
	"github.com/wahost/wahost/storage/rediscache"
	"github.com/wahost/wahost/storage/testenv"
)

func init() { binaryTags = "wahost_testserver" }

// faultRootKey is the certificate root of the fake WhatsApp server in the
// test process, given to the binary with --test-server-root-key.
var faultRootKey = [32]byte{'w', 'a', 'h', 'o', 's', 't', '-', 'f', 'a', 'u', 'l', 't', 's'}

const faultAPIKey = "fault-suite-api-key"

// faultWorld is the built binary on the real PostgreSQL and Redis, each
// behind a TCP proxy the test cuts, with its sessions on a fake WhatsApp
// server and its webhooks on a receiver of the test process. It keeps the
// count of what the test caused, to hold the binary's records to it.
type faultWorld struct {
	t       *testing.T
	srv     *wafake.Server
	pg      *tcpproxy.Proxy
	redis   *tcpproxy.Proxy
	db      *sql.DB // the binary's schema, reached directly
	cache   *rediscache.Cache
	hooks   *faultReceiver
	config  string
	proc    *wahostProc
	names   []string
	devices map[string]types.JID // instance → its device on the fake server

	mu      sync.Mutex // guards logins
	logins  map[types.JID][]time.Time
	dropped map[string]int // disconnects the test caused, by instance
	// reconnectGap is how many reconnects decided before a SIGKILL were
	// never reported as reconnection.success (the process died first).
	reconnectGap int
}

// newFaultWorld writes the binary's config and starts it. settings are the
// default policy's.
func newFaultWorld(t *testing.T) *faultWorld {
	t.Helper()
	if err := wafake.SetRootKey(faultRootKey); err != nil && err != wafake.ErrRootKeyInUse {
		t.Fatal(err)
	}
	w := &faultWorld{t: t, hooks: newFaultReceiver(t), devices: map[string]types.JID{},
		logins: map[types.JID][]time.Time{}, dropped: map[string]int{}}
	srv, err := wafake.NewServer(wafake.Config{Script: func(ctx context.Context, c *wafake.Conn) error {
		if !c.Registering() {
			w.mu.Lock()
			w.logins[c.DeviceJID()] = append(w.logins[c.DeviceJID()], time.Now())
			w.mu.Unlock()
		}
		return wafake.Auto()(ctx, c)
	}})
	if err != nil {
		t.Fatal(err)
	}
	w.srv = srv
	// The server stops after the binary (registered later, runs first).
	t.Cleanup(func() { _ = srv.Close() })

	pgURL, err := url.Parse(testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	pgTarget := pgURL.Host
	if pgURL.Port() == "" {
		pgTarget += ":5432"
	}
	w.pg = newProxy(t, pgTarget)
	w.redis = newProxy(t, testenv.RedisAddr(t))
	schema, prefix := testenv.Name("wahost_faults_"), testenv.Name("wahost_faults_")
	direct, err := postgres.Open(context.Background(), postgres.Config{URL: pgURL.String(), Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if w.db, _, err = direct.SessionDB(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := w.db.Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
		_ = w.db.Close()
		_ = direct.Close()
	})
	if w.cache, err = rediscache.New(rediscache.Config{Addr: testenv.RedisAddr(t), Prefix: prefix}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.cache.Close() })

	proxied := *pgURL
	proxied.Host = w.pg.Addr()
	cfg := map[string]any{
		"data_dir": t.TempDir(),
		"http":     map[string]any{"addr": "127.0.0.1:0", "api_key": faultAPIKey, "shutdown_timeout": "15s"},
		"log":      map[string]any{"level": "error"},
		"database": map[string]any{"url": proxied.String(), "schema": schema},
		"cache":    map[string]any{"redis_addr": w.redis.Addr(), "prefix": prefix},
		"webhook": map[string]any{"url": w.hooks.url(), "timeout": "1s", "lease": "3s", "max_attempts": 1000,
			"workers": 8},
		"reconnect": map[string]any{"rate": 200, "burst": 200},
		"policy": map[string]any{
			"cache_dir": testenv.CompileCacheDir(),
			// Every drop is one reconnect after about 3 s that purges the
			// cache; no rule counting earlier drops ends a session.
			"settings": map[string]any{
				"delays_ms": map[string]int{"428": 3000, "515": 0}, "escalation": []int{2},
				"max_attempts": 1000, "history_abort_count": 0, "storm_count": 0, "replaced_window_ms": 0,
			},
		},
	}
	raw, err := json.Marshal(cfg) // JSON is YAML
	if err != nil {
		t.Fatal(err)
	}
	w.config = writeFile(t, t.TempDir(), "wahost.yaml", string(raw))
	w.start()
	t.Cleanup(func() {
		if w.proc != nil {
			w.proc.kill()
		}
	})
	return w
}

func newProxy(t *testing.T, target string) *tcpproxy.Proxy {
	t.Helper()
	p, err := tcpproxy.New(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// wahostProc is one run of the binary.
type wahostProc struct {
	cmd    *exec.Cmd
	base   string
	stderr bytes.Buffer
	done   chan struct{}
}

// start runs the binary on the world's config and waits until it serves.
func (w *faultWorld) start() {
	w.t.Helper()
	key := hex.EncodeToString(faultRootKey[:])
	p := &wahostProc{done: make(chan struct{})}
	p.cmd = exec.Command(binary, "serve", "--config", w.config, "--test-server", w.srv.Addr(), "--test-server-root-key", key)
	p.cmd.Stderr = &p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "wahost is serving on "); ok {
			p.base = strings.Fields(rest)[0]
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if p.base == "" {
		p.kill()
		w.t.Fatalf("wahost did not start: %s", tail(p.stderr.String(), 2000))
	}
	w.proc = p
}

// stop sends sig and waits for the exit; a SIGTERM must end the process
// with code 0 and no panic (standard error carries the log).
func (w *faultWorld) stop(sig syscall.Signal) {
	w.t.Helper()
	p := w.proc
	if err := p.cmd.Process.Signal(sig); err != nil {
		w.t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.kill()
		w.t.Fatalf("wahost did not stop within 30 s of %v", sig)
	}
	w.proc = nil
	if sig == syscall.SIGTERM {
		log := p.stderr.String()
		if code := p.cmd.ProcessState.ExitCode(); code != 0 || strings.Contains(log, "panic") || strings.Contains(log, "goroutine ") {
			w.t.Fatalf("SIGTERM: exit code %d; the log ends with %q", code, tail(log, 2000))
		}
	}
}

// tail returns the last n bytes of s.
func tail(s string, n int) string { return s[max(0, len(s)-n):] }

func (p *wahostProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// call sends an API request and decodes the JSON answer into out (when
// not nil).
func (w *faultWorld) call(method, path, body string, out any) int {
	w.t.Helper()
	req, err := http.NewRequest(method, w.proc.base+path, strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("apikey", faultAPIKey)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		_ = json.Unmarshal(raw, out)
	}
	return resp.StatusCode
}

// pair creates n instances and links each by QR code; they are open when
// it returns.
func (w *faultWorld) pair(n int) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range n {
		name := fmt.Sprintf("f%02d", i)
		if code := w.call("POST", "/v1/instances", `{"name":"`+name+`"}`, nil); code != http.StatusCreated {
			w.t.Fatalf("create %s = %d", name, code)
		}
		var connected struct {
			QR struct{ Code string } `json:"qr"`
		}
		if code := w.call("POST", "/v1/instances/"+name+"/connect", "", &connected); code != http.StatusOK || connected.QR.Code == "" {
			w.t.Fatalf("connect %s = %d", name, code)
		}
		var c *wafake.Conn
		for c == nil || !c.Registering() {
			var err error
			if c, err = w.srv.Accept(ctx); err != nil {
				w.t.Fatal(err)
			}
		}
		jid, err := c.Pair(ctx, wafake.NewPhone(fmt.Sprintf("55119%08d", i)), connected.QR.Code)
		if err != nil {
			w.t.Fatalf("pairing %s: %v", name, err)
		}
		if err := wafake.StreamError("515")(ctx, c); err != nil {
			w.t.Fatal(err)
		}
		w.names = append(w.names, name)
		w.devices[name] = jid
		w.dropped[name]++ // the 515 after the pairing is a disconnect too
	}
	w.settle("pairing")
}

// drop ends the live session of an instance as a network failure would.
func (w *faultWorld) drop(name string) bool {
	c := w.srv.LiveConn(w.devices[name])
	if c == nil {
		return false
	}
	c.Drop()
	w.mu.Lock()
	w.dropped[name]++
	w.mu.Unlock()
	return true
}

// storm drops every open instance once, in order, spread over spread,
// calling during(i) before the i-th drop.
func (w *faultWorld) storm(spread time.Duration, during func(i int)) int {
	w.t.Helper()
	n := 0
	tick := time.NewTicker(max(spread/time.Duration(len(w.names)), time.Millisecond))
	defer tick.Stop()
	for i, name := range w.names {
		if during != nil {
			during(i)
		}
		if w.drop(name) {
			n++
		}
		<-tick.C
	}
	return n
}

// waitFor polls cond until it holds or the deadline passes.
func (w *faultWorld) waitFor(what string, limit time.Duration, cond func() (bool, string)) {
	w.t.Helper()
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: not after %v: %s", what, limit, state)
		}
		select {
		case <-tick.C:
		case <-w.proc.done:
			w.t.Fatalf("%s: wahost exited with %v: %s", what, w.proc.cmd.ProcessState, tail(w.proc.stderr.String(), 2000))
		}
	}
}
