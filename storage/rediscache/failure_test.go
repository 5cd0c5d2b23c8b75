package rediscache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wahost/wahost/internal/tcpproxy"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/rediscache"
	"github.com/wahost/wahost/storage/testenv"
)

func TestServerDown(t *testing.T) {
	t.Parallel()
	proxy, err := tcpproxy.New(testenv.RedisAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	c := openTest(t, rediscache.Config{Addr: proxy.Addr(), Timeout: 500 * time.Millisecond})
	ctx := context.Background()
	if err := c.Set(ctx, "inst", "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}

	proxy.Cut()
	start := time.Now()
	_, err = c.Purge(ctx, "inst")
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Purge while down: err = %v, want ErrUnavailable", err)
	}
	t.Logf("purge while down: %v (after %v)", err, time.Since(start))
	if _, err := c.Get(ctx, "inst", "k"); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Get while down: err = %v, want ErrUnavailable", err)
	}

	proxy.Restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := c.Purge(ctx, "inst")
		if err == nil {
			if n != 1 {
				t.Fatalf("Purge after restore = %d, want 1", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Purge still failing after restore: %v", err)
		}
	}
}

// TestPrefixIsLiteral checks that glob characters in a prefix match only
// themselves.
func TestPrefixIsLiteral(t *testing.T) {
	t.Parallel()
	base := testenv.Name("wahost-test-")
	globby := openTest(t, rediscache.Config{Prefix: base + "-[ab]*?"})
	plain := openTest(t, rediscache.Config{Prefix: base + "-a"})
	ctx := context.Background()
	for _, c := range []*rediscache.Cache{globby, plain} {
		if err := c.Set(ctx, "inst", "k", []byte("v"), 0); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := globby.Purge(ctx, "inst"); err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v; want 1", n, err)
	}
	if n, err := globby.DropPrefix(ctx); err != nil || n != 0 {
		t.Fatalf("DropPrefix = %d, %v; want 0", n, err)
	}
	if _, err := plain.Get(ctx, "inst", "k"); err != nil {
		t.Fatalf("a globbing prefix removed another prefix's key: %v", err)
	}
}
