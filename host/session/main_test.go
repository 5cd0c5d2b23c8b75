package session_test

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/wahost/wahost/host/wafake"
)

// The benchmark runs the fake server in a child process (this test binary
// again), so that the parent's memory is the clients' alone; both share a
// root key through the environment.
const (
	envServerChild = "WAHOST_SESSION_TEST_SERVER"
	envRootKey     = "WAHOST_SESSION_TEST_ROOT_KEY"
)

func TestMain(m *testing.M) {
	key, err := rootKey()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := wafake.SetRootKey(key); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if os.Getenv(envServerChild) != "" {
		os.Exit(serveChild())
	}
	wafake.InstallRootKey() // also for clients of a server in the child
	os.Exit(m.Run())
}

// rootKey returns the key from the environment, or a new one it puts
// there for a child process.
func rootKey() ([32]byte, error) {
	var key [32]byte
	if s := os.Getenv(envRootKey); s != "" {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != 32 {
			return key, fmt.Errorf("%s: want 64 hex digits", envRootKey)
		}
		copy(key[:], b)
		return key, nil
	}
	if _, err := rand.Read(key[:]); err != nil {
		return key, err
	}
	return key, os.Setenv(envRootKey, hex.EncodeToString(key[:]))
}

// serveChild runs a fake server until its stdin closes, after printing
// its address.
func serveChild() int {
	srv, err := wafake.NewServer(wafake.Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("addr", srv.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := srv.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startServerProcess starts serveChild in a child process and returns
// its address; the child ends at cleanup.
func startServerProcess(tb testing.TB) string {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envServerChild+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting the server process: %v", err)
	}
	tb.Cleanup(func() {
		_ = stdin.Close()
		if err := cmd.Wait(); err != nil {
			tb.Errorf("server process: %v", err)
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("reading the server's address: %v", err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "addr ")
	if !ok {
		tb.Fatalf("server process said %q", line)
	}
	return addr
}
