package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wahost/wahost/internal/tcpproxy"
	"github.com/wahost/wahost/storage/testenv"
)

// binary is the wahost binary the tests run, built once by TestMain.
var binary string

// binaryTags are the build tags of binary: the test-server build's tests
// (faults_test.go) build it with wahost_testserver.
var binaryTags string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wahost-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Readable by the unprivileged user the data-directory case runs as.
	_ = os.Chmod(dir, 0o755)
	binary = filepath.Join(dir, "wahost")
	build := exec.Command("go", "build", "-tags", binaryTags, "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building wahost:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of the binary.
type result struct {
	code           int
	stdout, stderr string
}

// runWahost runs the binary with args until it exits (at most a minute).
func runWahost(t *testing.T, env []string, cred *syscall.Credential, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = filepath.Dir(binary)
	cmd.Env = append(os.Environ(), env...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
	default:
		t.Fatalf("running wahost: %v", err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errOut.String()}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// writeFile writes body to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStartFailures: every way a start can fail ends the process with
// one line on standard error that names the key or the dependency, the
// address and the cause — no stack trace — exit code 2 when the
// configuration is wrong and 1 when a dependency cannot be reached, and
// leaves no data directory behind.
func TestStartFailures(t *testing.T) {
	pgURL, err := url.Parse(testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	withPG := func(mod func(u *url.URL)) string {
		u := *pgURL
		mod(&u)
		return u.String()
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	refused := closedAddr(t)
	files := t.TempDir()
	notWasm := writeFile(t, files, "policy.wasm", "this is not WebAssembly\n")
	failsCheck, err := filepath.Abs(filepath.Join("..", "..", "runtime", "testdata", "garbage.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	// A directory nobody may write in, on a path everybody may walk.
	open, err := os.MkdirTemp("", "wahost-locked-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(open)
	_ = os.Chmod(open, 0o755)
	locked := filepath.Join(open, "locked")
	if err := os.Mkdir(locked, 0o555); err != nil {
		t.Fatal(err)
	}
	var nobody *syscall.Credential
	if os.Geteuid() == 0 { // root writes anywhere: run this case as nobody
		nobody = &syscall.Credential{Uid: 65534, Gid: 65534}
	}

	cases := []struct {
		name   string
		config string // YAML; empty: no config file
		args   []string
		cred   *syscall.Credential
		code   int
		want   []string // each in the one line
	}{
		{name: "port in use", args: []string{"--addr", busy.Addr().String()},
			code: 2, want: []string{"http.addr", busy.Addr().String(), "address already in use"}},
		{name: "postgres refused", config: "database:\n  url: " + withPG(func(u *url.URL) { u.Host = refused }) + "\n",
			code: 1, want: []string{"PostgreSQL", refused, "database.url", "connection refused"}},
		{name: "postgres unknown host", config: "database:\n  url: " + withPG(func(u *url.URL) { u.Host = "db.invalid:5432" }) + "\n",
			code: 1, want: []string{"PostgreSQL", "db.invalid:5432", "database.url", "no such host"}},
		{name: "postgres wrong credentials", config: "database:\n  url: " + withPG(func(u *url.URL) { u.User = url.UserPassword("wahost_nobody", "wrong") }) + "\n",
			code: 2, want: []string{"database.url", pgURL.Host, "wahost_nobody"}},
		{name: "postgres database missing", config: "database:\n  url: " + withPG(func(u *url.URL) { u.Path = "/wahost_no_such_db" }) + "\n",
			code: 2, want: []string{"database.url", pgURL.Host, "wahost_no_such_db", "does not exist"}},
		{name: "data directory not writable", args: []string{"--data-dir", filepath.Join(locked, "data")}, cred: nobody,
			code: 2, want: []string{"data_dir", locked, "permission denied"}},
		{name: "policy module missing", args: []string{"--policy", filepath.Join(files, "missing.wasm")},
			code: 2, want: []string{"policy.module", "missing.wasm", "no such file"}},
		{name: "policy not WebAssembly", args: []string{"--policy", notWasm},
			code: 2, want: []string{"policy.module", notWasm}},
		{name: "policy fails policy check", args: []string{"--policy", failsCheck},
			code: 2, want: []string{"policy.module", "garbage.wasm", "self_test"}},
		{name: "policy sha256 pin mismatch", config: "policy:\n  sha256: \"" + strings.Repeat("0", 64) + "\"\n",
			code: 2, want: []string{"policy.sha256", strings.Repeat("0", 64)}},
		{name: "config file missing", args: []string{"--config", filepath.Join(files, "absent.yaml")},
			code: 2, want: []string{"config file", "absent.yaml", "no such file"}},
		{name: "config bad YAML", config: "http: [\n",
			code: 2, want: []string{"config file", "yaml"}},
		{name: "config unknown key", config: "htp:\n  addr: 127.0.0.1:1\n",
			code: 2, want: []string{"htp.addr", "no such key"}},
		{name: "config wrong type", config: "webhook:\n  workers: many\n",
			code: 2, want: []string{"webhook.workers", "cannot parse"}},
		{name: "config out of range", config: "webhook:\n  workers: -3\n",
			code: 2, want: []string{"webhook.workers", "-3", "outside"}},
	}
	var table []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			if c.name == "data directory not writable" {
				dataDir = filepath.Join(locked, "data")
			}
			args := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir}
			if c.config != "" {
				args = append(args, "--config", writeFile(t, t.TempDir(), "wahost.yaml", c.config))
			}
			args = append(args, c.args...)
			r := runWahost(t, []string{"WAHOST_POLICY_CACHE_DIR=" + filepath.Join(t.TempDir(), "compiled")}, c.cred, args...)
			line := strings.TrimSpace(r.stderr)
			table = append(table, fmt.Sprintf("%-30s exit %d  %s", c.name, r.code, line))
			if r.code != c.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", r.code, c.code, r.stderr)
			}
			if strings.Count(line, "\n") != 0 || !strings.HasPrefix(line, "wahost: ") {
				t.Errorf("want one line on standard error, got:\n%s", r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Errorf("a stack trace:\n%s", r.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(line, w) {
					t.Errorf("the line does not say %q: %s", w, line)
				}
			}
			if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the failed start left %s behind (%v)", dataDir, err)
			}
		})
	}
	t.Log("start failures:\n" + strings.Join(table, "\n"))
}

// TestServeCheck: serve --check runs the same checks without serving:
// exit 0 for a good configuration (a Redis that does not answer is a
// warning), 2 for a bad one, 1 for an unreachable dependency.
func TestServeCheck(t *testing.T) {
	env := []string{"WAHOST_POLICY_CACHE_DIR=" + filepath.Join(t.TempDir(), "compiled")}
	data := t.TempDir()
	r := runWahost(t, env, nil, "serve", "--check", "--addr", "127.0.0.1:0", "--data-dir", data)
	if r.code != 0 || !strings.Contains(r.stdout, "the configuration is valid") {
		t.Fatalf("check of a good config = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(data, "api-key")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the check kept an API key (%v)", err)
	}
	redis := closedAddr(t)
	conf := writeFile(t, t.TempDir(), "wahost.yaml", "cache:\n  redis_addr: "+redis+"\n")
	r = runWahost(t, env, nil, "serve", "--check", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--config", conf)
	if r.code != 0 || !strings.Contains(r.stdout, "warning: redis at "+redis) {
		t.Fatalf("check with Redis down = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runWahost(t, env, nil, "serve", "--check", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--policy", "/nonexistent.wasm")
	if r.code != 2 || !strings.Contains(r.stderr, "policy.module") {
		t.Fatalf("check of a bad config = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	refused := closedAddr(t)
	conf = writeFile(t, t.TempDir(), "wahost.yaml", "database:\n  url: postgres://postgres@"+refused+"/test?sslmode=disable\n")
	r = runWahost(t, env, nil, "serve", "--check", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--config", conf)
	if r.code != 1 || !strings.Contains(r.stderr, refused) {
		t.Fatalf("check with PostgreSQL down = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// lockedBuffer collects a process's output and signals each write.
type lockedBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func newLockedBuffer() *lockedBuffer { return &lockedBuffer{changed: make(chan struct{}, 1)} }

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor waits until the output holds s.
func (l *lockedBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(l.String(), s) {
		select {
		case <-l.changed:
		case <-deadline:
			t.Fatalf("no %q in:\n%s", s, l.String())
		}
	}
}

// get returns the status and body of a GET.
func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRedisDownAtStart: a Redis that does not answer does not stop the
// start: the host says so once, serves, reports "degraded" with the
// reason in /readyz and 0 in wahost_dependency_up{dependency="redis"},
// and keeps trying until Redis answers again.
func TestRedisDownAtStart(t *testing.T) {
	proxy, err := tcpproxy.New(testenv.RedisAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.Cut()
	redis := proxy.Addr()
	conf := writeFile(t, t.TempDir(), "wahost.yaml", "cache:\n  redis_addr: "+redis+"\n  prefix: "+testenv.Name("wahost_start_")+"\n")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve", "--config", conf, "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	cmd.Env = append(os.Environ(), "WAHOST_POLICY_CACHE_DIR="+filepath.Join(t.TempDir(), "compiled"))
	stdout, stderr := newLockedBuffer(), newLockedBuffer()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	stdout.waitFor(t, "wahost is serving on ")
	rest := stdout.String()[strings.Index(stdout.String(), "wahost is serving on ")+len("wahost is serving on "):]
	base, _, _ := strings.Cut(rest, " ")

	status, body := get(t, base+"/readyz")
	if status != 200 || !strings.Contains(body, `"status":"degraded"`) || !strings.Contains(body, redis) {
		t.Fatalf("/readyz = %d %s; want 200 degraded naming %s", status, body, redis)
	}
	if _, metrics := get(t, base+"/metrics"); !strings.Contains(metrics, `wahost_dependency_up{dependency="redis"} 0`) {
		t.Fatal("no wahost_dependency_up 0 for redis in the metrics")
	}

	proxy.Restore()
	stderr.waitFor(t, "Redis is reachable again")
	if n := strings.Count(stderr.String(), "Redis is unreachable"); n != 1 {
		t.Fatalf("said %d times that Redis is unreachable, want once:\n%s", n, stderr.String())
	}
	if status, body := get(t, base+"/readyz"); status != 200 || !strings.Contains(body, `"status":"ready"`) {
		t.Fatalf("/readyz with Redis back = %d %s", status, body)
	}
	if _, metrics := get(t, base+"/metrics"); !strings.Contains(metrics, `wahost_dependency_up{dependency="redis"} 1`) {
		t.Fatal("wahost_dependency_up for redis is not 1 with Redis back")
	}
}
