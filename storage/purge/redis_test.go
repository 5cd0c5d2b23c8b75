package purge

import (
	"context"
	"testing"
	"time"

	"github.com/wahost/wahost/internal/tcpproxy"
	"github.com/wahost/wahost/storage/rediscache"
	"github.com/wahost/wahost/storage/storagetest"
	"github.com/wahost/wahost/storage/testenv"
)

// TestRedisOutage cuts the connection to a real Redis: the purge is
// recorded, the store keeps working, and the retry after the outage
// removes the keys.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	proxy, err := tcpproxy.New(testenv.RedisAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	prefix := testenv.Name("wahost-test-")
	cache, err := rediscache.New(rediscache.Config{Addr: proxy.Addr(), Prefix: prefix, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cache.DropPrefix(context.Background())
		_ = cache.Close()
	})
	clock := storagetest.NewClock()
	store := openQueue(t, clock)
	p := New(Config{Queue: store, Cache: cache, Now: clock.Now})

	for _, k := range []string{"status", "qr", "session:1"} {
		if err := cache.Set(ctx, "inst", k, []byte("v"), 0); err != nil {
			t.Fatal(err)
		}
	}

	proxy.Cut()
	res, err := p.Purge(ctx, "inst")
	if err != nil || !res.Pending {
		t.Fatalf("Purge while Redis is down = %+v, %v; want pending", res, err)
	}
	t.Logf("pending because: %v", res.Cause)
	if _, err := p.runOnce(ctx); err == nil {
		t.Fatal("retry while Redis is down succeeded")
	}
	if due := pending(t, store, clock.Now().Add(time.Hour)); len(due) != 1 || due[0].Attempts != 1 {
		t.Fatalf("pending = %+v", due)
	}
	// The host keeps working on its store.
	if _, err := store.ListInstances(ctx); err != nil {
		t.Fatal(err)
	}

	proxy.Restore()
	clock.Advance(time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := p.runOnce(ctx)
		if err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retry after restore: %d, %v", n, err)
		}
		clock.Advance(time.Minute)
	}
	if n, err := cache.Purge(ctx, "inst"); err != nil || n != 0 {
		t.Fatalf("keys left after the retry: %d, %v", n, err)
	}
	if due := pending(t, store, clock.Now().Add(time.Hour)); len(due) != 0 {
		t.Fatalf("pending after success: %+v", due)
	}
}
