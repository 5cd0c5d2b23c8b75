// Package migrate loads the versioned SQL migrations a store embeds and
// decides which of them a database still needs. Applying them is left to
// each driver, which runs the pending ones and records them in one
// transaction under a lock (see storage/postgres and storage/sqlite).
package migrate

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/wahost/wahost/storage"
)

// Migration is one schema change. Files are named "<version>_<name>.sql",
// versions starting at 1 with no gaps: "0001_init.sql", "0002_leases.sql".
type Migration struct {
	Version int
	Name    string
	SQL     string
	Sum     string // hex sha256 of SQL, recorded to detect edited files
}

// Applied is a migration recorded in a database.
type Applied struct {
	Version int
	Sum     string
}

// ErrChanged reports that a migration already applied to the database was
// edited afterwards.
var ErrChanged = errors.New("applied migration was edited")

// Load reads the migrations in dir of fsys and checks their numbering.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		m, err := parseName(e.Name())
		if err != nil {
			return nil, err
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(b)
		m.SQL, m.Sum = string(b), hex.EncodeToString(sum[:])
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %04d_%s: expected version %d (versions start at 1, no gaps or duplicates)",
				m.Version, m.Name, i+1)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("read migrations: none in %s", dir)
	}
	return ms, nil
}

func parseName(name string) (Migration, error) {
	base := strings.TrimSuffix(name, ".sql")
	num, rest, ok := strings.Cut(base, "_")
	v, err := strconv.Atoi(num)
	if !ok || err != nil || v <= 0 || rest == "" {
		return Migration{}, fmt.Errorf("migration file %q: want <version>_<name>.sql", name)
	}
	return Migration{Version: v, Name: rest}, nil
}

// Pending checks the migrations recorded in a database against all and
// returns those still to apply, in order. It fails with
// storage.ErrSchemaTooNew when the database has versions this binary does
// not know, and with ErrChanged when an applied file was edited.
func Pending(all []Migration, applied []Applied) ([]Migration, error) {
	known := make(map[int]Migration, len(all))
	for _, m := range all {
		known[m.Version] = m
	}
	done := make(map[int]bool, len(applied))
	for _, a := range applied {
		m, ok := known[a.Version]
		if !ok {
			return nil, fmt.Errorf("database has migration %d, this binary knows up to %d: %w",
				a.Version, len(all), storage.ErrSchemaTooNew)
		}
		if a.Sum != m.Sum {
			return nil, fmt.Errorf("migration %04d_%s: %w (restore the original file and add a new migration)",
				m.Version, m.Name, ErrChanged)
		}
		done[a.Version] = true
	}
	var out []Migration
	for _, m := range all {
		if !done[m.Version] {
			out = append(out, m)
		}
	}
	return out, nil
}
