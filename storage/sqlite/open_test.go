package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/sqlite"
	"github.com/wahost/wahost/storage/storagetest"
)

func rawQuery(t *testing.T, s *sqlite.Store, q string, dest ...any) {
	t.Helper()
	db, _, err := s.SessionDB()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if len(dest) == 0 {
		_, err = db.Exec(q)
	} else {
		err = db.QueryRow(q).Scan(dest...)
	}
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data", "wahost.db")
	ctx := context.Background()
	s1, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	in, err := s1.CreateInstance(ctx, storage.Instance{Name: "kept"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, sqlite.Config{Path: path})
	if got, err := s2.Instance(ctx, in.ID); err != nil || got.Name != "kept" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	var versions int
	var mode string
	rawQuery(t, s2, "SELECT count(*) FROM wahost_schema_migrations", &versions)
	rawQuery(t, s2, "PRAGMA journal_mode", &mode)
	files, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	if versions != len(files) || mode != "wal" {
		t.Fatalf("versions = %d, journal_mode = %q; want %d (one per migration), wal", versions, mode, len(files))
	}
}

func TestSchemaTooNew(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "wahost.db")
	s := openTest(t, sqlite.Config{Path: path})
	rawQuery(t, s, "INSERT INTO wahost_schema_migrations VALUES (999, 'future', 'x', 0)")
	_, err := sqlite.Open(context.Background(), sqlite.Config{Path: path})
	if !errors.Is(err, storage.ErrSchemaTooNew) {
		t.Fatalf("Open of a newer schema: err = %v, want ErrSchemaTooNew", err)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	notDB := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(notDB, []byte("this is not an SQLite database, just text of some length"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		want       error
	}{
		{"empty", "", nil},
		{"query in path", filepath.Join(dir, "a?b.db"), nil},
		{"parent is a file", filepath.Join(file, "wahost.db"), nil},
		{"not a database", notDB, storage.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sqlite.Open(context.Background(), sqlite.Config{Path: tt.path})
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestProcessesShareFile opens the same file from several stores at once,
// as separate wahost processes would, and claims from all of them: the
// file's write lock alone must keep claims exclusive.
func TestProcessesShareFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "shared.db")
	const stores, rows = 3, 600
	ss := make([]*sqlite.Store, stores)
	var wg sync.WaitGroup
	errs := make(chan error, stores*2)
	for i := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := sqlite.Open(context.Background(), sqlite.Config{Path: path, BusyTimeout: 30 * time.Second})
			if err != nil {
				errs <- err
				return
			}
			ss[i] = s
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatalf("concurrent Open: %v", err)
	default:
	}
	for _, s := range ss {
		t.Cleanup(func() { _ = s.Close() })
	}
	storagetest.EnqueueN(t, ss[0], storage.NewID(), rows)

	var mu sync.Mutex // guards seen
	seen := make(map[string]int)
	for i, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				evs, err := s.Claim(context.Background(), fmt.Sprint("p", i), 7, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				if len(evs) == 0 {
					return
				}
				mu.Lock()
				for _, ev := range evs {
					seen[ev.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != rows {
		t.Fatalf("claimed %d distinct events, want %d", len(seen), rows)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("event %s claimed %d times", id, n)
		}
	}
}
