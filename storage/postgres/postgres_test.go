package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/postgres"
	"github.com/wahost/wahost/storage/storagetest"
	"github.com/wahost/wahost/storage/testenv"
)

// openTest opens a store in a fresh schema, dropped when t ends.
func openTest(t testing.TB, cfg postgres.Config) *postgres.Store {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = testenv.PostgresURL(t)
	}
	if cfg.Schema == "" {
		cfg.Schema = testenv.Name("wahost_test_")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		dropSchema(t, cfg.Schema)
	})
	return s
}

func dropSchema(t testing.TB, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testenv.PostgresURL(t))
	if err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storagetest.RunStore(t, func(t testing.TB, c *storagetest.Clock) storage.Store {
		return openTest(t, postgres.Config{Now: c.Now, MaxConns: 10})
	})
}

func BenchmarkStore(b *testing.B) {
	storagetest.BenchStore(b, func(t testing.TB, c *storagetest.Clock) storage.Store {
		return openTest(t, postgres.Config{Now: c.Now, MaxConns: 8})
	})
}
