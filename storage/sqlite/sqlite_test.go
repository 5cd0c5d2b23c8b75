package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/sqlite"
	"github.com/wahost/wahost/storage/storagetest"
)

// openTest opens a store on a fresh file in t's temporary directory.
func openTest(t testing.TB, cfg sqlite.Config) *sqlite.Store {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "wahost.db")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := sqlite.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storagetest.RunStore(t, func(t testing.TB, c *storagetest.Clock) storage.Store {
		return openTest(t, sqlite.Config{Now: c.Now})
	})
}

func BenchmarkStore(b *testing.B) {
	storagetest.BenchStore(b, func(t testing.TB, c *storagetest.Clock) storage.Store {
		return openTest(t, sqlite.Config{Now: c.Now})
	})
}
