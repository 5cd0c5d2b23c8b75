package postgres_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/postgres"
	"github.com/wahost/wahost/storage/testenv"
)

// TestConcurrentStart opens several stores on one fresh schema at once, as
// hosts starting together would: the advisory lock lets one migrate and the
// others find the work done.
func TestConcurrentStart(t *testing.T) {
	t.Parallel()
	schema := testenv.Name("wahost_test_")
	t.Cleanup(func() { dropSchema(t, schema) })
	const hosts = 4
	var wg sync.WaitGroup
	errs := make(chan error, hosts)
	for i := 0; i < hosts; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(context.Background(), postgres.Config{URL: testenv.PostgresURL(t), Schema: schema, MaxConns: 2})
			if err != nil {
				errs <- err
				return
			}
			_ = s.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var versions int
	query(t, schema, "SELECT count(*) FROM wahost_schema_migrations", &versions)
	files, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	if versions != len(files) {
		t.Fatalf("%d migration rows, want one per migration (%d)", versions, len(files))
	}
}

func TestSchemaTooNew(t *testing.T) {
	t.Parallel()
	schema := testenv.Name("wahost_test_")
	openTest(t, postgres.Config{Schema: schema})
	query(t, schema, "INSERT INTO wahost_schema_migrations VALUES (999, 'future', 'x', now())")
	_, err := postgres.Open(context.Background(), postgres.Config{URL: testenv.PostgresURL(t), Schema: schema})
	if !errors.Is(err, storage.ErrSchemaTooNew) {
		t.Fatalf("Open of a newer schema: err = %v, want ErrSchemaTooNew", err)
	}
}

// query runs q in schema, scanning one row into dest when given.
func query(t *testing.T, schema, q string, dest ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET search_path TO "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	if len(dest) == 0 {
		_, err = conn.Exec(ctx, q)
	} else {
		err = conn.QueryRow(ctx, q).Scan(dest...)
	}
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
