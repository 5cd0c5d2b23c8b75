// Package datadir owns the layout of wahost's data directory and the
// removal of one instance's files (cleanup scope "files"):
//
//	<root>/wahost.db          the embedded SQLite database
//	<root>/instances/<name>/  files of one instance
//
// Instance names are validated and every access to an instance directory
// goes through an os.Root, so neither a name nor a symbolic link planted
// inside the directory can reach outside <root>/instances.
package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/wahost/wahost/storage"
)

// Names inside the data directory.
const (
	DatabaseFile = "wahost.db"
	InstancesDir = "instances"
)

// Dir is a data directory.
type Dir struct {
	root    string
	created string // the outermost directory Open created, or ""
}

// Open returns the data directory at root, creating it and its instances
// directory (mode 0700) if missing, and checks that it is writable.
func Open(root string) (Dir, error) {
	if root == "" {
		return Dir{}, errors.New("datadir: empty path")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return Dir{}, fmt.Errorf("datadir: %w", err)
	}
	created := ""
	for p := abs; ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil || filepath.Dir(p) == p {
			break
		}
		created = p
	}
	d := Dir{root: abs, created: created}
	if err := os.MkdirAll(filepath.Join(abs, InstancesDir), 0o700); err != nil {
		_ = d.RemoveCreated()
		return Dir{}, fmt.Errorf("datadir: %w", err)
	}
	probe, err := os.CreateTemp(abs, ".write-probe-*")
	if err != nil {
		_ = d.RemoveCreated()
		return Dir{}, fmt.Errorf("datadir: %s is not writable: %w", abs, err)
	}
	_ = probe.Close()
	_ = os.Remove(probe.Name())
	return d, nil
}

// RemoveCreated removes the directories Open created (none if the data
// directory existed): a start that fails leaves nothing behind.
func (d Dir) RemoveCreated() error {
	if d.created == "" {
		return nil
	}
	return os.RemoveAll(d.created)
}

// Root is the absolute path of the data directory.
func (d Dir) Root() string { return d.root }

// DatabasePath is where the SQLite database lives.
func (d Dir) DatabasePath() string { return filepath.Join(d.root, DatabaseFile) }

// InstancePath returns the directory of an instance's files, without
// creating it. name is an instance name or ID.
func (d Dir) InstancePath(name string) (string, error) {
	if err := storage.ValidateName(name); err != nil {
		return "", err
	}
	return filepath.Join(d.root, InstancesDir, name), nil
}

// MakeInstance creates the directory of an instance's files (mode 0700) if
// missing and returns its path.
func (d Dir) MakeInstance(name string) (string, error) {
	p, err := d.InstancePath(name)
	if err != nil {
		return "", err
	}
	r, err := d.openRoot()
	if err != nil {
		return "", err
	}
	defer r.Close()
	if err := r.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("datadir: make instance %s: %w", name, err)
	}
	return p, nil
}

// RemoveInstance removes an instance's directory and everything in it and
// reports whether there was anything to remove. A symbolic link in its
// place is removed, never followed. Removing a missing directory is not an
// error.
func (d Dir) RemoveInstance(name string) (bool, error) {
	if err := storage.ValidateName(name); err != nil {
		return false, err
	}
	r, err := d.openRoot()
	if err != nil {
		return false, err
	}
	defer r.Close()
	if _, err := r.Lstat(name); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("datadir: remove instance %s: %w", name, err)
	}
	if err := r.RemoveAll(name); err != nil {
		return false, fmt.Errorf("datadir: remove instance %s: %w", name, err)
	}
	return true, nil
}

func (d Dir) openRoot() (*os.Root, error) {
	if d.root == "" {
		return nil, errors.New("datadir: not opened")
	}
	r, err := os.OpenRoot(filepath.Join(d.root, InstancesDir))
	if err != nil {
		return nil, fmt.Errorf("datadir: %w", err)
	}
	return r, nil
}
