// Package testenv locates the PostgreSQL and Redis servers tests run
// against, names the per-test schemas and key prefixes that keep parallel
// tests apart, and shares a compiled-module cache between test binaries.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Defaults used when the environment variables are unset.
const (
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	DefaultRedisAddr   = "127.0.0.1:6379"
)

const startHelp = `start it with:
    pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
or point WAHOST_TEST_POSTGRES_URL / WAHOST_TEST_REDIS_ADDR at running servers`

// PostgresURL returns WAHOST_TEST_POSTGRES_URL or the default, failing the
// test with instructions when nothing listens there.
func PostgresURL(t testing.TB) string {
	t.Helper()
	raw := os.Getenv("WAHOST_TEST_POSTGRES_URL")
	if raw == "" {
		raw = DefaultPostgresURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("WAHOST_TEST_POSTGRES_URL %q: %v", raw, err)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "5432")
	}
	reachable(t, "PostgreSQL", host)
	return raw
}

// RedisAddr returns WAHOST_TEST_REDIS_ADDR or the default, failing the
// test with instructions when nothing listens there.
func RedisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("WAHOST_TEST_REDIS_ADDR")
	if addr == "" {
		addr = DefaultRedisAddr
	}
	reachable(t, "Redis", addr)
	return addr
}

func reachable(t testing.TB, what, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("%s is not reachable at %s (%v); %s", what, addr, err, startHelp)
	}
	_ = c.Close()
}

// Name returns prefix followed by 12 random hex digits: a schema name or
// key prefix no other test uses.
func Name(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// CompileCacheDir is the compiled-module cache tests share across
// packages and runs, so the default policy's second-long compile (much
// longer under the race detector) is paid once per machine; empty when
// the user has no cache directory.
func CompileCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "wahost", "test-compiled")
}
