package backend_test

import (
	"context"
	"testing"

	"github.com/wahost/wahost/storage/backend"
	"github.com/wahost/wahost/storage/datadir"
	"github.com/wahost/wahost/storage/memcache"
	"github.com/wahost/wahost/storage/rediscache"
	"github.com/wahost/wahost/storage/sqlite"
)

func TestOpenStore(t *testing.T) {
	t.Parallel()
	dir, err := datadir.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     backend.StoreConfig
		dir     datadir.Dir
		wantErr bool
	}{
		{"default is sqlite", backend.StoreConfig{}, dir, false},
		{"sqlite without data dir", backend.StoreConfig{Driver: "sqlite"}, datadir.Dir{}, true},
		{"postgres without url", backend.StoreConfig{Driver: "postgres"}, dir, true},
		{"unknown", backend.StoreConfig{Driver: "mysql"}, dir, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := backend.OpenStore(context.Background(), tt.cfg, tt.dir)
			if (err != nil) != tt.wantErr {
				t.Fatalf("OpenStore err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil {
				if _, ok := s.(*sqlite.Store); !ok {
					t.Fatalf("OpenStore = %T, want *sqlite.Store", s)
				}
				_ = s.Close()
			}
		})
	}
}

func TestOpenCache(t *testing.T) {
	t.Parallel()
	c, err := backend.OpenCache(backend.CacheConfig{})
	if _, ok := c.(*memcache.Cache); err != nil || !ok {
		t.Fatalf("OpenCache() = %T, %v; want *memcache.Cache", c, err)
	}
	c, err = backend.OpenCache(backend.CacheConfig{RedisAddr: "127.0.0.1:1"})
	if _, ok := c.(*rediscache.Cache); err != nil || !ok {
		t.Fatalf("OpenCache(redis) = %T, %v; want *rediscache.Cache", c, err)
	}
	_ = c.Close()
}
