package rediscache_test

import (
	"context"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/rediscache"
	"github.com/wahost/wahost/storage/storagetest"
	"github.com/wahost/wahost/storage/testenv"
)

// openTest returns a cache under a random prefix whose keys are purged
// when t ends.
func openTest(t testing.TB, cfg rediscache.Config) *rediscache.Cache {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = testenv.RedisAddr(t)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = testenv.Name("wahost-test-")
	}
	c, err := rediscache.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := c.DropPrefix(ctx); err != nil {
			t.Errorf("drop test prefix %s: %v", cfg.Prefix, err)
		}
		_ = c.Close()
	})
	return c
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storagetest.RunCache(t, func(t testing.TB, _ *storagetest.Clock) storage.Cache {
		return openTest(t, rediscache.Config{})
	})
}
