package config_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wahost/wahost/host/config"
)

func TestWatchSeesWriteAndRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wahost.yaml")
	if err := os.WriteFile(path, []byte("log:\n  level: info\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changed := make(chan struct{}, 4)
	if err := config.Watch(ctx, []string{path}, func() { changed <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	wait := func(what string) {
		t.Helper()
		select {
		case <-changed:
		case <-time.After(10 * time.Second):
			t.Fatalf("no change reported after %s", what)
		}
	}
	// An unrelated file in the same directory is not a change.
	if err := os.WriteFile(filepath.Join(dir, "other.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("log:\n  level: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wait("a write")
	tmp := filepath.Join(dir, "wahost.yaml.new")
	if err := os.WriteFile(tmp, []byte("log:\n  level: warn\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	wait("a rename")
	select {
	case <-changed:
		t.Fatal("the unrelated file was reported")
	default:
	}
}
