package memcache_test

import (
	"testing"

	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/memcache"
	"github.com/wahost/wahost/storage/storagetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storagetest.RunCache(t, func(t testing.TB, c *storagetest.Clock) storage.Cache {
		m := memcache.New(c.Now)
		t.Cleanup(func() { _ = m.Close() })
		return m
	})
}
