package datadir_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/datadir"
)

func TestLayout(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "data")
	d, err := datadir.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if d.DatabasePath() != filepath.Join(root, "wahost.db") {
		t.Fatalf("DatabasePath = %s", d.DatabasePath())
	}
	p, err := d.MakeInstance("inst-1")
	if err != nil {
		t.Fatal(err)
	}
	if p != filepath.Join(root, "instances", "inst-1") {
		t.Fatalf("MakeInstance = %s", p)
	}
	if fi, err := os.Stat(p); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("instance dir: %v, %v", fi, err)
	}
	if _, err := d.MakeInstance("inst-1"); err != nil {
		t.Fatalf("MakeInstance again: %v", err)
	}
}

func TestRemoveInstance(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	d, err := datadir.Open(filepath.Join(base, "data"))
	if err != nil {
		t.Fatal(err)
	}
	// Something outside the instances directory that must survive.
	outside := filepath.Join(base, "outside")
	if err := os.MkdirAll(outside, 0o700); err != nil {
		t.Fatal(err)
	}
	precious := filepath.Join(outside, "precious")
	if err := os.WriteFile(precious, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}

	p, err := d.MakeInstance("victim")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(p, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "sub", "creds.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A link inside the instance pointing outside: removed, not followed.
	if err := os.Symlink(outside, filepath.Join(p, "escape")); err != nil {
		t.Fatal(err)
	}
	// An instance directory that is itself a link to the outside.
	if err := os.Symlink(outside, filepath.Join(d.Root(), "instances", "linked")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		instance    string
		wantRemoved bool
		wantErr     error
	}{
		{"directory", "victim", true, nil},
		{"again", "victim", false, nil},
		{"missing", "never", false, nil},
		{"link", "linked", true, nil},
		{"dot dot", "..", false, storage.ErrInvalidName},
		{"dot", ".", false, storage.ErrInvalidName},
		{"traversal", "../outside", false, storage.ErrInvalidName},
		{"absolute", "/etc", false, storage.ErrInvalidName},
		{"empty", "", false, storage.ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			removed, err := d.RemoveInstance(tt.instance)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("RemoveInstance(%q) err = %v, want %v", tt.instance, err, tt.wantErr)
			}
			if removed != tt.wantRemoved {
				t.Fatalf("RemoveInstance(%q) removed = %v, want %v", tt.instance, removed, tt.wantRemoved)
			}
		})
	}
	if b, err := os.ReadFile(precious); err != nil || string(b) != "keep" {
		t.Fatalf("file outside the data directory touched: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(d.Root(), "instances")); err != nil {
		t.Fatalf("instances directory removed: %v", err)
	}
}
