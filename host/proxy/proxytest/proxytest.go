// Package proxytest runs real proxy servers from the system's packages —
// tinyproxy for HTTP CONNECT, microsocks for SOCKS5 — on loopback ports,
// for tests of connections through a proxy (.ci/services installs them).
package proxytest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Kinds of proxy servers.
const (
	HTTP   = "http"   // tinyproxy
	SOCKS5 = "socks5" // microsocks
)

// Server is one proxy process. Stop kills it (as a crash would) and
// Start runs it again on the same port.
type Server struct {
	kind, user, password, port string
	dir                        string

	mu  sync.Mutex // guards cmd
	cmd *exec.Cmd
}

// Start runs a proxy of kind (HTTP or SOCKS5) on a free loopback port,
// requiring user and password when user is not empty, and stops it when
// the test ends. The test is skipped when the program is not installed.
func Start(t testing.TB, kind, user, password string) *Server {
	t.Helper()
	prog := map[string]string{HTTP: "tinyproxy", SOCKS5: "microsocks"}[kind]
	if _, err := exec.LookPath(prog); err != nil {
		t.Skipf("%s is not installed (.ci/services installs it)", prog)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	s := &Server{kind: kind, user: user, password: password, port: port, dir: t.TempDir()}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Addr is the proxy's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + s.port }

// URL is the proxy's URL with the credentials it was started with.
func (s *Server) URL() string { return s.URLWith(s.user, s.password) }

// URLWith is the proxy's URL with other credentials (none when user is
// empty).
func (s *Server) URLWith(user, password string) string {
	u := url.URL{Scheme: s.kind, Host: s.Addr()}
	if user != "" {
		u.User = url.UserPassword(user, password)
	}
	return u.String()
}

// Start runs the proxy (again) and returns once it accepts connections.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("proxytest: already running")
	}
	var cmd *exec.Cmd
	switch s.kind {
	case HTTP:
		conf := "Listen 127.0.0.1\nPort " + s.port + "\nTimeout 600\nAllow 127.0.0.1\nLogLevel Warning\nMaxClients 200\n"
		if s.user != "" {
			conf += "BasicAuth " + s.user + " " + s.password + "\n"
		}
		path := filepath.Join(s.dir, "tinyproxy.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			return fmt.Errorf("writing tinyproxy's config: %w", err)
		}
		cmd = exec.Command("tinyproxy", "-d", "-c", path)
	case SOCKS5:
		args := []string{"-i", "127.0.0.1", "-p", s.port}
		if s.user != "" {
			args = append(args, "-u", s.user, "-P", s.password)
		}
		cmd = exec.Command("microsocks", args...)
	default:
		return fmt.Errorf("proxytest: unknown kind %q", s.kind)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", s.kind, err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("proxytest: %s does not listen on %s: %w", s.kind, s.Addr(), err)
		}
		// Waiting for another process to bind its port: nothing to
		// be signalled by, so poll.
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the proxy with SIGKILL and waits for it; its tunnels die
// with it.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Port is the proxy's port, as a number.
func (s *Server) Port() int { p, _ := strconv.Atoi(s.port); return p }
